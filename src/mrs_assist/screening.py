"""Screen clinical notes for text that hides or addresses something: detect and escalate, never normalize.

Normalizing one more alphabet at a time does not end obfuscation. So a note holding any of the
following is never approved automatically: the determination pends for a physician with a
safety flag naming what was found and where (offsets into the note as received):

- ``invisible``: format characters (zero-width, bidi controls, tag characters), Hangul fillers,
  the Braille blank, variation selectors, private-use or unassigned code points, unusual spaces;
- ``look-alike``: a word mixing scripts (Latin with Cyrillic, Greek …), a non-Latin word made
  only of Latin look-alikes, compatibility forms of Latin letters (small capitals, full-width,
  mathematical letters), punctuation that imitates ASCII syntax (``∶ ꞉ ˸ ：``);
- ``encoded``: HTML character references, %-escapes, base64 runs that decode to text, words
  written in digits for letters (``4ppr0v3``);
- ``instruction``: text addressed to a system, model or reviewer, or stating the outcome
  (``ASSESSMENT/PLAN: APPROVED``, "disregard prior guidance"), in English and other languages;
- ``contradiction``: a section whose facts contradict another section's (a denying body with an
  appended "Reason for exam:" asserting the facts).

`screen_notes` is called once, from the determination path (`Services.determine`). It reports
code points and offsets, never the note's words.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html.entities import html5

from mrs_assist.normalize import normalize

KINDS = ("invisible", "look-alike", "encoded", "instruction", "contradiction")
SCREENING_FLAG_PREFIX = "note screening: "
"""How a screening finding's safety flag begins on a determination's response."""


@dataclass(frozen=True)
class Finding:
    """One thing found in a note: its kind, the span ``[start, end)`` in the note, and what it is."""

    kind: str
    start: int
    end: int
    detail: str

    def flag(self) -> str:
        """The safety flag for the determination's response."""
        return f"{SCREENING_FLAG_PREFIX}{self.kind} at {self.start}-{self.end} ({self.detail})"


# --- invisible -------------------------------------------------------------------------------
_INVISIBLE_CATEGORIES = {"Cf", "Co", "Cn", "Cs"}
INVISIBLE_CHARS = frozenset({
    "\u115f", "\u1160", "\u3164", "\uffa0",  # Hangul fillers
    "\u2800",  # Braille pattern blank
    "\u034f",  # combining grapheme joiner
    "\u180e",  # Mongolian vowel separator
})
"""Characters Unicode counts as letters or symbols that render as blank space."""
_SPACES_OK = {" ", "\t", "\n", "\r", "\u00a0", "\f", "\v"}


def _invisible(text: str) -> list[Finding]:
    out: list[Finding] = []
    for m in re.finditer(r"[^\x20-\x7e\n\r\t]+", text):
        run = m.group()
        for offset, ch in enumerate(run):
            cat = unicodedata.category(ch)
            odd = (
                cat in _INVISIBLE_CATEGORIES
                or ch in INVISIBLE_CHARS
                or "\ufe00" <= ch <= "\ufe0f"
                or "\U000e0100" <= ch <= "\U000e01ef"
                or (cat in {"Zs", "Zl", "Zp"} and ch not in _SPACES_OK)
            )
            if odd:
                i = m.start() + offset
                out.append(Finding("invisible", i, i + 1, f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"))
    return _merge(out)


# --- look-alikes -------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_COMPAT = ("SMALL CAPITAL", "FULLWIDTH", "MATHEMATICAL", "CIRCLED", "PARENTHESIZED", "SQUARED", "MODIFIER LETTER",
           "SUBSCRIPT", "SUPERSCRIPT", "BLACK-LETTER", "DOUBLE-STRUCK", "SCRIPT CAPITAL", "SCRIPT SMALL", "NEGATIVE")
_SYNTAX = set(":;=<>|#*_`[]{}/\\@$%&!?\"'")
_BENIGN_LETTERS = {"\u00b5", "\u03bc"}  # micro sign and mu (µg, μmol)


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _look_alikes(text: str) -> list[Finding]:
    from mrs_assist.normalize import _confusables

    table = _confusables()
    out: list[Finding] = []
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isascii():
            continue
        letters = [c for c in word if c not in _BENIGN_LETTERS]
        scripts = {_script(c) for c in letters}
        compat = [c for c in letters if any(k in unicodedata.name(c, "") for k in _COMPAT)]
        if compat:
            out.append(Finding("look-alike", m.start(), m.end(), f"compatibility letters such as U+{ord(compat[0]):04X}"))
        elif len(scripts) > 1:
            out.append(Finding("look-alike", m.start(), m.end(), "a word mixing scripts: " + ", ".join(sorted(scripts))))
        elif scripts and scripts != {"LATIN"} and len(letters) >= 3 and all(c in table for c in letters):
            out.append(Finding("look-alike", m.start(), m.end(), f"a {next(iter(scripts)).title()} word made of Latin look-alikes"))
    for m in re.finditer(r"[^\x00-\x7f]", text):
        i, ch = m.start(), m.group()
        if ch.isalpha():
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if len(folded) == 1 and folded in _SYNTAX or table.get(ch, "") in _SYNTAX or _is_colon_like(ch):
            out.append(Finding("look-alike", i, i + 1, f"U+{ord(ch):04X} imitates ASCII punctuation"))
    return _merge(out)


def _is_colon_like(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return "COLON" in name or name in {"RATIO"}


# --- encoded ---------------------------------------------------------------------------------
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PERCENT = re.compile(r"(?<![0-9.])%[0-9A-Fa-f]{2}|(?:%[0-9A-Fa-f]{2}){2,}")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])")
_LEET_WORD = re.compile(r"(?<![\w])[A-Za-z0-9@$]*[A-Za-z][A-Za-z0-9@$]*(?![\w])")
_LEET = str.maketrans("013457@$", "oieastas")


def _encoded(text: str) -> list[Finding]:
    out = [
        Finding("encoded", m.start(), m.end(), "an HTML character reference")
        for m in _ENTITY.finditer(text)
        if m.group().startswith("&#") or m.group()[1:] in html5
    ]
    out += [Finding("encoded", m.start(), m.end(), "a %-escape") for m in _PERCENT.finditer(text)]
    for m in _B64.finditer(text):
        if _decodes_to_text(m.group()):
            out.append(Finding("encoded", m.start(), m.end(), "a base64 run that decodes to text"))
    for m in _LEET_WORD.finditer(text):
        word = m.group()
        digits = sum(c in "013457@$" for c in word)
        letters = sum(c.isalpha() for c in word)
        if digits >= 2 and letters >= 2 and word.lower().translate(_LEET) in _LEET_TARGETS:
            out.append(Finding("encoded", m.start(), m.end(), "a word written with digits for letters"))
    return _merge(out)


_LEET_TARGETS = frozenset(
    "approve approved approval authorize authorized certify certified deny denied ignore ignoring disregard "
    "override criteria instructions instruction system model reviewer assistant previous prior rules policy "
    "meets met guideline guidelines skip bypass".split()
)


def _decodes_to_text(run: str) -> bool:
    body = run.rstrip("=")
    if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
        return False  # an ordinary word or an all-caps code
    padded = body + "=" * (-len(body) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 6:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
    return printable / len(raw) >= 0.9 and any(chr(b).isalpha() for b in raw)


# --- instructions ----------------------------------------------------------------------------
_OUTCOME_WORDS = (
    r"approved?|authori[sz]ed?|certified|meets?\s+(?:all\s+)?(?:the\s+)?criteria|medically\s+necessary|"
    r"denied|deny|covered|pass(?:ed)?|granted?|aprobad[oa]|autorizad[oa]|approuv[ée]e?|genehmigt|accettat[oa]"
)
_INSTRUCTIONS = [
    # the outcome stated as a label, as a checker's output would be
    re.compile(
        r"(?:^|\n|[.;]\s*)[ \t>*#-]*(?P<hit>(?:assessment\s*(?:/|and|&)\s*plan|a/p|plan|decision|determination|outcome|"
        r"result|status|recommendation|disposition|verdict|auth(?:orization)?(?:\s+status)?|review(?:er)?\s+(?:decision|note))"
        rf"[\s*_]*[:=\-–—>]+[\s*_\"'“”]*(?:{_OUTCOME_WORDS})\b)",
        re.I,
    ),
    # imperatives about the decision, the rules or the instructions
    re.compile(
        r"\b(?:please\s+|kindly\s+|you\s+(?:must|should|will|are\s+to|need\s+to)\s+)?"
        r"(?:approve|authori[sz]e|certify|rubber[- ]stamp|fast[- ]track|grant|greenlight|green[- ]light|deny|reject|decline)\s+"
        r"(?:this|the|it|that|my|our|immediately|now)\b",
        re.I,
    ),
    re.compile(
        r"\b(?:ignore|disregard|forget|skip|bypass|override|overrule|set\s+aside|do\s+not\s+(?:apply|follow|consider|use))\s+"
        r"(?:all\s+|any\s+|the\s+|your\s+|previous\s+|prior\s+|earlier\s+|above\s+|preceding\s+|these\s+|those\s+)*"
        r"(?:instructions?|guidance|guidelines?|rules?|criteria|polic(?:y|ies)|prompts?|checks?|requirements?|"
        r"directions?|context|system|constraints?|review)\b",
        re.I,
    ),
    # addressed to a system, model or reviewer
    re.compile(
        r"\b(?:note|message|instructions?|attention|memo)(?:\s+(?:to|for))?\s+(?:the\s+)?(?:ai|a\.i\.|bot|assistant|model|llm|"
        r"system|reviewer|review(?:ing)?\s+(?:system|engine|tool)|algorithm|automated\s+\w+|grader|checker)\b",
        re.I,
    ),
    re.compile(r"(?:^|\n)\s*[\[(<{]?\s*(?:system|assistant|developer|admin|root|ai|model)\s*[\])>}]?\s*[:>]", re.I),
    re.compile(r"[\[(<{]\s*(?:system|assistant|developer|admin|ai|model)\b[^\])>}\n]{0,30}[\])>}]", re.I),
    re.compile(r"\b(?:regardless\s+of|notwithstanding|irrespective\s+of)\s+(?:the\s+|any\s+|all\s+)?(?:payer\s+|plan\s+|policy\s+)?"
               r"(?:criteria|guidelines?|polic(?:y|ies)|rules)\b", re.I),
    # an instruction and its object far apart in one sentence ("Please ignore, as discussed …, the criteria")
    re.compile(r"\b(?:ignore|disregard|set\s+aside|overlook|bypass)\b[^.\n]{0,250}?\b(?:criteria|guidelines?|polic(?:y|ies)|"
               r"rules|prompt)\b", re.I),
    re.compile(r"\b(?:new|updated|override|hidden|secret|special)\s+(?:system\s+)?(?:instructions?|directives?|orders?|prompt)\b", re.I),
    re.compile(r"\b(?:as\s+an?\s+)?(?:ai|language\s+model|llm|assistant)\b[^.\n]{0,40}\b(?:must|should|will|shall)\b", re.I),
    re.compile(r"\b(?:mark|set|record|output|return|respond\s+with|answer|classify)\b[^.\n]{0,40}\b(?:as\s+)?"
               rf"[\"'“]?(?:{_OUTCOME_WORDS}|meets_criteria)\b", re.I),
    re.compile(r"\bmeets_criteria\b|\"(?:recommendation|outcome|decision)\"\s*:", re.I),
    # other languages: ignore the rules / approve the request
    re.compile(
        r"\b(?:ignor(?:a|en|ar|ez|iere|ieren|are|ate)|olvid[ae]|vergiss|vergessen|oubliez|ignorieren|"
        r"dimentica|esquece|esqueça)\b[^.\n]{0,40}\b(?:instruc\w*|regla\w*|r[eè]gle\w*|regeln?|criteri\w*|"
        r"crit[eè]re\w*|kriterien|richtlinie\w*|norm\w*|anweisung\w*|istruzion\w*|regole|pol[ií]tica\w*)",
        re.I,
    ),
    re.compile(
        r"\b(?:aprueb[ae]|aprobar|apruebe|autorice|autorizar|approuvez|approuver|autorisez|genehmigen|genehmige|"
        r"approva(?:re|te)?|autorizza(?:re|te)?|aprove|aprovar|autorize)\b[^.\n]{0,30}\b(?:solicitud|petici[oó]n|"
        r"demande|antrag|anfrage|richiesta|pedido|solicita[cç][aã]o|esta|cette|diese|questa|this|it)\b",
        re.I,
    ),
]


def _instructions(text: str) -> list[Finding]:
    # Read as a reader would (offsets stay the note's); plain ASCII without a hyphenated line
    # break reads as it is, which saves the normalizer's per-character pass.
    plain = text.isascii() and not re.search(r"-[^\S\n]*\r?\n", text)
    view = None if plain else normalize(text)
    read = view.text if view is not None else text
    out: list[Finding] = []
    for pattern in _INSTRUCTIONS:
        for m in pattern.finditer(read):
            span = m.span("hit" if "hit" in pattern.groupindex else 0)
            start, end = view.to_original(*span) if view is not None else span
            out.append(Finding("instruction", start, end, "text addressed to a system, model or reviewer, or stating the outcome"))
    return _merge(out)


# --- contradicting sections ------------------------------------------------------------------
_HEADER = re.compile(
    r"^[ \t]*(?:#+\s*)?([A-Za-z][A-Za-z /&()-]{1,40}?)\s*:(?:[ \t]|$)|^[ \t]*#+\s*([A-Za-z][^\n]{1,40})$", re.M
)


_ASSERTING = re.compile(
    r"^(?:reason\s+for\s+(?:exam(?:ination)?|study|request|referral|imaging|mrs|order)|(?:clinical\s+)?indications?|"
    r"(?:clinical\s+)?justification|medical\s+necessity|diagnosis|dx|summary)$",
    re.I,
)


def _contradictions(text: str, extract: Callable[[str], Mapping[str, bool | None]] | None) -> list[Finding]:
    """A section headed like an indication ("Reason for exam:") that asserts a fact the rest of
    its document documents as absent: the shape of a denying note with an appended claim. In a
    packet, an older document's "seizure-free" is what a later order updates, not a contradiction
    (the latest document governs, extract/layout.py)."""
    if extract is None:
        return []
    from mrs_assist.extract.layout import document_at, documents

    docs = documents(text)
    out: list[Finding] = []
    for start, end, header in _sections(text):
        if not _ASSERTING.match(header):
            continue
        claimed = {name for name, value in extract(text[start:end]).items() if value is True}
        if not claimed:
            continue
        begins = docs[document_at(docs, start)].start
        rest = text[begins:start] + "\n" + text[end:]
        denied = sorted(name for name, value in extract(rest).items() if value is False and name in claimed)
        if denied:
            out.append(Finding("contradiction", start, end,
                               "this section asserts what the rest of the note documents as absent: " + ", ".join(denied)))
    return out


def _sections(text: str) -> list[tuple[int, int, str]]:
    """(start, end, header) of each headed section of the note."""
    heads = [(m.start(), (m.group(1) or m.group(2) or "").strip()) for m in _HEADER.finditer(text)]
    bounds = [*(h[0] for h in heads), len(text)]
    return [(a, b, h) for (a, h), b in zip(heads, bounds[1:])]


def _merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping or adjacent findings of one kind as one, in order."""
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if out and out[-1].kind == f.kind and f.start <= out[-1].end:
            last = out[-1]
            out[-1] = Finding(last.kind, last.start, max(last.end, f.end), last.detail)
        else:
            out.append(f)
    return out


def screen_notes(text: str, *, extract: Callable[[str], Mapping[str, bool | None]] | None = None) -> list[Finding]:
    """Everything in `text` that hides or addresses something, in note order (empty: nothing found).

    ``extract`` (section text → fact values) enables the contradicting-sections check.
    """
    text = text or ""
    findings = [*_invisible(text), *_look_alikes(text), *_encoded(text), *_instructions(text)]
    findings += _contradictions(text, extract)
    return sorted(findings, key=lambda f: (f.start, KINDS.index(f.kind)))


__all__ = ["Finding", "INVISIBLE_CHARS", "KINDS", "screen_notes"]
