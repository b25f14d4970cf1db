"""Text checks shared by the letter and answer validators.

Each function takes model-written text and returns the problems it finds. They are
deliberately literal (substring and token checks, no model): a check the reviewer cannot
reproduce by hand is not a guard.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mrs_assist.validate.model import Problem

# --- normalisation -------------------------------------------------------------------------
_CURLY = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u201a": "'"})
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Text with curly quotes made straight and whitespace collapsed (nothing else)."""
    return _SPACE.sub(" ", text.translate(_CURLY)).strip()


def _loose(text: str) -> str:
    """Lower-case normalised text for phrase searches."""
    return normalize(text).lower()


# --- clause ids and quotes --------------------------------------------------------------
CLAUSE_ID = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)*#[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?")
_QUOTED = re.compile(r'"([^"]+)"')


def clause_ids_in(text: str) -> list[str]:
    """Clause ids written in the text, in order of appearance, without repeats."""
    return list(dict.fromkeys(CLAUSE_ID.findall(text)))


def quoted_spans(text: str) -> list[tuple[str, str | None]]:
    """Each double-quoted span of the text and the clause id cited right after it, if any."""
    text = normalize(text)
    out = []
    for m in _QUOTED.finditer(text):
        span = m.group(1).strip()
        if len(span) < 3:
            continue
        after = CLAUSE_ID.search(text, m.end(), m.end() + 120)
        gap = text[m.end() : after.start()] if after else ""
        cited = after.group(0) if after and '"' not in gap and "." not in gap.rstrip("[( ") else None
        out.append((span, cited))
    return out


def is_verbatim(quote: str, clause_text: str) -> bool:
    """Whether the quote is a substring of the clause text, up to whitespace and curly quotes."""
    q = normalize(quote)
    return bool(q) and q in normalize(clause_text)


# --- markup, links, instructions ---------------------------------------------------------
_MARKUP = [
    (re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>"), "an HTML tag"),
    (re.compile(r"<!--|-->"), "an HTML comment"),
    (re.compile(r"\bon[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"\b(?:javascript|vbscript|data)\s*:", re.I), "a script or data URI"),
    (re.compile(r"&(?:lt|gt|#\d+|#x[0-9a-f]+);", re.I), "an HTML entity"),
    (re.compile(r"!\[[^\]]*\]\("), "a Markdown image"),
]
_LINKS = [
    (re.compile(r"\b(?:https?|ftp)://", re.I), "a URL"),
    (re.compile(r"\bwww\.", re.I), "a web address"),
    (re.compile(r"\[[^\]]*\]\([^)]*\)"), "a Markdown link"),
    (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"), "an e-mail address"),
]
_IMPERATIVES = [
    re.compile(
        r"\b(?:ignore|disregard|forget|bypass|skip)\b[^.\n]{0,40}?\b(?:criteria|criterion|instructions?|"
        r"guidelines?|polic(?:y|ies)|rules?|checker|above|previous|prior|validator)\b",
        re.I,
    ),
    re.compile(r"\bapprove (?:this|the|my) (?:request|case|authori[sz]ation|study|scan|mrs)\b", re.I),
    re.compile(r"\b(?:override|overrule)\b[^.\n]{0,30}?\b(?:criteria|decision|checker|guidelines?|polic(?:y|ies))\b", re.I),
    re.compile(r"\b(?:system prompt|you are now|new instructions?|as an ai\b|developer mode)", re.I),
    re.compile(r"\b(?:must|should|shall) (?:be )?(?:auto-?)?approved? (?:regardless|anyway|without)\b", re.I),
]
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


def markup_problems(text: str, where: str) -> list[Problem]:
    """Problems for HTML markup, event handlers or script URIs in the text."""
    return [
        Problem(code="markup", message=f"{where} contains {what}: {m.group(0)[:40]!r}")
        for pattern, what in _MARKUP
        if (m := pattern.search(text))
    ]


def link_problems(text: str, where: str) -> list[Problem]:
    """Problems for URLs, web or e-mail addresses and Markdown links in the text."""
    return [
        Problem(code="link", message=f"{where} contains {what}: {m.group(0)[:40]!r}")
        for pattern, what in _LINKS
        if (m := pattern.search(text))
    ]


def injection_problems(text: str, notes: str, where: str) -> list[Problem]:
    """Problems for instruction-like phrases, and for any sentence of the notes (six
    words or more) copied into the text — the way an instruction planted there leaks out."""
    problems = [
        Problem(code="injected_instruction", message=f"{where} contains an instruction: {m.group(0)!r}")
        for pattern in _IMPERATIVES
        if (m := pattern.search(normalize(text)))
    ]
    haystack = _loose(text)
    for sentence in _SENTENCE_SPLIT.split(notes or ""):
        s = _loose(sentence).strip(" .!?;:,")
        if len(_WORDS.findall(s)) >= 6 and s in haystack:
            problems.append(
                Problem(
                    code="injected_instruction",
                    message=f"{where} repeats a sentence of the clinical notes: {s[:80]!r}",
                )
            )
    return problems


# --- unsupported assertions: dates, numbers, names -------------------------------------------
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b"),
    re.compile(r"\b(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4})\b"),
    re.compile(r"\b(?P<d>\d{1,2})\s+" + _MONTH + r",?\s+(?P<y>\d{4})\b", re.I),
    re.compile(r"\b" + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?\b", re.I),
    re.compile(r"\b" + _MONTH + r",?\s+(?P<y>\d{4})\b", re.I),
    re.compile(r"\b(?P<m>\d{1,2})/(?P<y>\d{4})\b"),
    re.compile(r"(?<![\d/])\b(?P<m>\d{1,2})/(?P<d>\d{1,2})\b(?!/\d)"),
]
DateKey = tuple[int | None, int, int | None]


def _date_key(m: re.Match) -> DateKey | None:
    g = m.groupdict()
    month = _MONTHS[g["mon"].lower()] if g.get("mon") else int(g["m"])
    day = int(g["d"]) if g.get("d") else None
    year = int(g["y"]) if g.get("y") else None
    if year is not None and year < 100:
        year += 2000 if year < 50 else 1900
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    return (year, month, day)


def find_dates(text: str) -> tuple[list[tuple[str, DateKey]], str]:
    """The dates written in the text (as (year|None, month, day|None)), and the text with
    them blanked out so their digits are not checked again as numbers."""
    found: list[tuple[str, DateKey]] = []
    for pattern in _DATE_PATTERNS:
        def take(m: re.Match) -> str:
            key = _date_key(m)
            if key is None:
                return m.group(0)
            found.append((m.group(0), key))
            return " " * len(m.group(0))

        text = pattern.sub(take, text)
    return found, text


def _date_supported(key: DateKey, known: Iterable[DateKey]) -> bool:
    y, m, d = key
    for ky, km, kd in known:
        if km == m and (y is None or y == ky) and (d is None or d == kd):
            return True
    return False


_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?!\w)")
_ANY_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _num(token: str) -> str:
    token = token.replace(",", "")
    return token[:-2] if token.endswith(".0") else token


_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z'\-]*[A-Za-z]\b|\b[A-Z]\b")
_TITLES = re.compile(r"\b(Dr|Mr|Mrs|Ms|Mx|Prof|Sr|Jr)\.")
_COMMON = set(
    """a an and are as at be been but by can could did do does for from had has have he her
    his i if in into is it its may might more most must no nor not of on or our per please
    she should so such than that the their them then there these they this those to under
    until upon us was we were what when where which while who whom why will with would yes
    you your yours also after again all any because before both dear during each further
    here however how only other over same since some still through thus too very based
    although unfortunately therefore following regarding according sincerely thank thanks
    dr mr mrs ms mx prof""".split()
)


@dataclass
class Sources:
    """Everything a draft may draw dates, numbers and names from.

    ``text`` is what the case supplies (notes, request, determination, corpus);
    ``vocabulary`` is the letters' own fixed wording (templates, settings, glossary,
    fact labels) plus common function words.
    """

    text: str
    vocabulary: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.loose = " " + re.sub(r"[^a-z0-9]+", " ", self.text.lower()) + " "
        self.words = set(self.loose.split())
        self.numbers = {_num(n) for n in _ANY_NUMBER.findall(self.text)}
        self.dates = [key for _, key in find_dates(self.text)[0]]
        self.vocabulary = {w.lower() for w in self.vocabulary} | _COMMON
        self.numbers |= {w for w in self.vocabulary if w.isdigit()}

    def has_phrase(self, words: list[str]) -> bool:
        return " " + " ".join(w.lower() for w in words) + " " in self.loose

    def after(self, text: str) -> Sources:
        """These sources with ``text`` in front: equal to ``Sources(text + "\\n" + self.text,
        vocabulary)`` (dates in another order), reading only ``text`` (issue 22 item 8: an answer's
        sources end with the corpus's metadata, the same for every question).

        Exact when ``self.text`` starts with a character no date can hold, such as JSON's "{":
        no date then spans the join, so each side's dates are its own. Raises ValueError otherwise.
        """
        if not self.text or _DATE_CHAR.match(self.text[0]):
            raise ValueError("Sources.after needs sources that start with a character no date holds")
        head = re.sub(r"[^a-z0-9]+", " ", text.lower())
        joined = copy.copy(self)
        joined.text = text + "\n" + self.text
        # "\n" and the runs of other characters beside it become one space, as in the joined text.
        joined.loose = " " + head.removesuffix(" ") + " " + self.loose[1:].removeprefix(" ")
        joined.words = set(head.split()) | self.words
        joined.numbers = {_num(n) for n in _ANY_NUMBER.findall(text)} | self.numbers
        joined.dates = [key for _, key in find_dates(text)[0]] + self.dates
        return joined


_DATE_CHAR = re.compile(r"[\w\s,./-]")
"""A character a date (``_DATE_PATTERNS``) may hold, or that its word boundaries read."""


def vocabulary_of(*texts: str) -> set[str]:
    """Lower-case words and numbers of the given texts."""
    return {w.lower() for t in texts for w in re.findall(r"[A-Za-z]+|\d+", t)}


def _name_runs(text: str) -> list[tuple[list[str], bool]]:
    """Runs of consecutive capitalised words, each with whether it opens a sentence."""
    text = _TITLES.sub(lambda m: m.group(1) + " ", normalize(text))
    runs: list[tuple[list[str], bool]] = []
    current: list[str] = []
    start_flag = False
    last_end = -1
    for m in _CAPITALISED.finditer(text):
        word_parts = [p for p in re.split(r"[-']", m.group(0)) if p]
        if current and text[last_end : m.start()] == " ":
            current.extend(word_parts)
        else:
            if current:
                runs.append((current, start_flag))
            before = text[: m.start()].rstrip(" \"'([*>#\u2022-")
            start_flag = not before or before[-1] in ".!?:;\n"
            current = word_parts
        last_end = m.end()
    if current:
        runs.append((current, start_flag))
    return runs


def assertion_problems(text: str, sources: Sources, where: str) -> list[Problem]:
    """Problems for dates, numbers and name-like words the sources do not contain."""
    problems: list[Problem] = []
    text = CLAUSE_ID.sub(" ", normalize(text))
    text = re.sub(r"\[[^\]\n]{1,60}\]", " ", text)  # placeholders such as [Member name]
    dates, rest = find_dates(text)
    for written, key in dates:
        if not _date_supported(key, sources.dates):
            problems.append(
                Problem(code="unsupported_assertion", message=f"{where} states a date not in the request or guideline: {written!r}")
            )
    for token in dict.fromkeys(_NUMBER.findall(rest)):
        if _num(token) not in sources.numbers:
            problems.append(
                Problem(code="unsupported_assertion", message=f"{where} states a number not in the request or guideline: {token!r}")
            )
    for words, opens_sentence in _name_runs(rest):
        if opens_sentence:
            words = words[1:]  # a sentence's first word is capitalised anyway
        # Maximal stretches of words the letters' own wording does not explain must appear,
        # as a phrase, in what the case supplies.
        stretch: list[str] = []
        for word in [*words, ""]:
            if word and word.lower() not in sources.vocabulary:
                stretch.append(word)
                continue
            if stretch and not sources.has_phrase(stretch):
                problems.append(
                    Problem(
                        code="unsupported_assertion",
                        message=f"{where} names something not in the request or guideline: {' '.join(stretch)!r}",
                    )
                )
            stretch = []
    return problems
