"""Questions quantified over the payers: "Besides HealthHelp, does any payer list MS?",
"Is HealthHelp the only payer that covers epilepsy MRS?", "Are NIA and Florida Blue the same
on tumor vs abscess?".

The matrix answers each payer; the quantifier decides how the payers' answers combine into
one verdict (``combine``), and the plan removes the payers the question sets aside
(``set_aside``) before any of them is asked. Read from the question's structure (a
quantifier word and where the payer names sit), never from the indication asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

_ASIDE = re.compile(
    r"\b(?:besides|other than|apart from|aside from|except(?:\s+for)?|excluding|not counting|leaving out|"
    r"in addition to|beyond)\s+(?:the\s+)?(?:[\w'’-]+\s+)?$",
    re.I,
)
"""Words right before a payer's name that set it aside ("Besides HealthHelp, does any …")."""
_JOINED = re.compile(r"^\s*(?:,|and|or|/|&)\s*(?:the\s+)?$", re.I)

_ONLY = re.compile(
    r"\b(?:the\s+)?only\s+(?:one\b|payers?\b|plans?\b|polic(?:y|ies)\b|guidelines?\b|insurers?\b|vendors?\b|rbms?\b)"
    r"|\b(?:no\s+other|none\s+of\s+the\s+other)\s+(?:payers?|plans?|polic(?:y|ies)|guidelines?|insurers?)\b"
    # "is it only HealthHelp?", "just Cohere that lists it?": a name right after the word (capitalised, not "If")
    r"|\b(?:is|was)\s+it\s+(?:only|just|solely)\s+(?-i:(?=[A-Z])(?!If\b|When\b|For\b|In\b|The\b|A\b))",
    re.I,
)
_NONE = re.compile(
    r"\bnone\s+of\s+(?:the\s+|these\s+|those\s+)?(?:(?:four|4|three|3|two|2)\s+)?(?:payers|plans|policies|guidelines|insurers|vendors|them)\b"
    r"|\b(?:does|do|is|are|will|would|by|under)\s+no\s+(?:payer|plan|policy|guideline|insurer)s?\b"
    r"|\bneither\b[^?]{1,60}\bnor\b",
    re.I,
)
"""'Is MRS for Parkinson disease covered by none of the payers?': yes only when no payer does."""
_ANY = re.compile(
    r"\b(?:does|do|is|are|will|would|can|could)\s+any\b"
    r"|\bany\s+(?:of\s+(?:the|these|those)\s+)?(?:other\s+)?(?:(?:four|4|three|3|two|2)\s+)?"
    r"(?:payers?|plans?|polic(?:y|ies)|guidelines?|insurers?|vendors?)\b"
    r"|\bany\s+of\s+(?:them|the\s+(?:four|4|three|3|two|2|others?))\b"
    # "covered by at least one payer?", "does a single plan cover it?"
    r"|\b(?:at\s+least\s+one|one\s+or\s+more|a\s+single|some)\s+(?:of\s+(?:the|these|those)\s+)?"
    r"(?:payers?|plans?|polic(?:y|ies)|guidelines?|insurers?|vendors?)\b",
    re.I,
)
_SAME = re.compile(
    r"\b(?:the\s+same|same\s+(?:as|way|on|for|about)|identical|agree|consistent|alike)\b"
    # "HealthHelp vs Florida Blue - same answer?", "same rule for both?": "same" and a word for
    # what is compared, asked; "same patient" or "same MRI" compares nothing
    r"|\bsame\s+(?:answer|result|outcome|rule|position|stance|call|decision|verdict|treatment|coverage|criteria|"
    r"requirements?|policy|approach|thing)s?\b[^.?!]{0,40}\?"
    r"|\bsame\s*\?",
    re.I,
)
_HOW = re.compile(r"\b(?:how|in what ways?|where|what)\s+(?:[\w,'’]+\s+){0,8}?(?:differ|disagree)\b", re.I)
_DIFFER = re.compile(r"\b(?:differ(?:s|ent)?|disagree)\b", re.I)


_RANKS = re.compile(
    r"\b(?:strict(?:er|est)|more\s+(?:strict|restrictive|lenient|permissive|generous|liberal|demanding)|"
    r"less\s+(?:strict|restrictive|lenient|permissive|generous|liberal|demanding)|"
    r"(?:most|least)\s+(?:strict|restrictive|lenient|permissive|generous|liberal|demanding)|"
    r"tight(?:er|est)|loos(?:er|est))\b",
    re.I,
)
"""'Is NIA stricter than Florida Blue for …?', 'which is more restrictive …?': the payers ranked, not one asked."""


def ranks_payers(question: str) -> bool:
    """True when the question ranks the payers by how strict they are: no payer's own yes or no
    answers it (both may cover it, under different conditions); the rows are compared instead."""
    return bool(_RANKS.search(question))


def set_aside(question: str, terms: Mapping[str, Sequence[str]]) -> list[str]:
    """Ids of the policies the question names only to set aside ("besides HealthHelp",
    "other than NIA and Cohere"); ``terms`` maps each policy id to its names (payer, aliases, id)."""
    spans = []
    for pid, names in terms.items():
        for name in names:
            if name.strip():
                spans += [(m.start(), m.end(), pid) for m in re.finditer(rf"(?<!\w){re.escape(name.strip())}(?!\w)", question, re.I)]
    spans.sort()
    out: list[str] = []
    previous_aside_end = None
    for start, end, pid in spans:
        aside = bool(_ASIDE.search(question[:start]))
        # "other than NIA and Cohere": a name joined to a set-aside name is set aside too
        joined = previous_aside_end is not None and bool(_JOINED.search(question[previous_aside_end:start]))
        if aside or joined:
            out.append(pid)
            previous_aside_end = end
        else:
            previous_aside_end = None
    return list(dict.fromkeys(out))


def quantifier(question: str) -> str | None:
    """'only', 'none', 'any', 'same', 'differ' or None: how the question combines the payers' answers."""
    if _ONLY.search(question):
        return "only"
    if _NONE.search(question):
        return "none"
    if _ANY.search(question):
        return "any"
    if _SAME.search(question):
        return "same"
    if _DIFFER.search(question) and not _HOW.search(question):
        return "differ"  # "how do HealthHelp, Cohere and NIA differ?" asks how, not whether: each payer's answer
    if _BUT_NOT.search(question):
        return "but_not"
    return None


_BUT_NOT = re.compile(
    r"\bbut\s+not\b|\bbut\s+(?:[\w'’-]+\s+){1,3}?(?:does|do|is|are|will|would)\s*(?:n['’]t|not)\b"
    # "approved by HealthHelp but denied by NIA?"
    r"|\bbut\s+(?:is\s+|it['’]s\s+)?(?:denied|excluded|refused|rejected|uncovered|non-?covered)\b", re.I)
"""'Covered by HealthHelp but not (by) NIA?', '… HealthHelp, but Florida Blue doesn't?': a contrast of payers."""


def contrast_subject(question: str, terms: Mapping[str, Sequence[str]]) -> list[str]:
    """The policy ids an "A (and B) but not C?" question names before its "but not", when it
    names another after it and none on both sides; [] otherwise (``terms``: policy id → its names)."""
    match = _BUT_NOT.search(question)
    if match is None:
        return []

    def named(text: str) -> list[str]:
        return [pid for pid, names in terms.items()
                if any(re.search(rf"(?<!\w){re.escape(n.strip())}(?!\w)", text, re.I) for n in names if n.strip())]

    before, after = named(question[:match.start()]), named(question[match.start():])
    return before if before and after and not set(before) & set(after) else []


_INVESTIGATIONAL = re.compile(r"\b(?:investigational|experimental|unproven|e/i)\b", re.I)
_NOT_COVERED = re.compile(
    r"(?:\bnot|n't|\bnever)\s+(?:\w+\s+)?(?:cover|list|approve|allow|include|pay)\w*|\bexclud\w*|\bden(?:y|ies)\b", re.I)


def predicate(question: str) -> str:
    """What the quantified question asks each payer: 'investigational' (calls it so),
    'not_covered' (does not cover it) or 'covered'."""
    if _INVESTIGATIONAL.search(question):
        return "investigational"
    if _NOT_COVERED.search(question):
        return "not_covered"
    return "covered"


_PAYERS_WORD = re.compile(r"\b(?:payers|plans|policies|guidelines|insurers|vendors)\b", re.I)


def compares_payers(question: str, named_guidelines: Sequence[str]) -> bool:
    """A 'same' / 'differ' question compares payers: it names two or more, or says 'payers'."""
    return len(named_guidelines) >= 2 or bool(_PAYERS_WORD.search(question))


def combine(kind: str, claims: Mapping[str, str], *, subject: str | None = None,
            statuses: Mapping[str, tuple] | None = None) -> str:
    """One claim from the payers' claims (payer → yes / only_if / depends / no), for a question
    quantified by ``kind``. ``subject``: the payer an 'only' question asks about; ``statuses``:
    what each payer says in full (status and conditions), compared by 'same' / 'differ'."""
    values = list(claims.values())
    if kind == "only":
        if subject is None or subject not in claims:
            return "quote"
        mine = claims[subject]
        others = [v for p, v in claims.items() if p != subject]
        if mine == "no":
            return "no"
        if any(v in ("yes", "only_if") for v in others):
            return "no"
        if any(v == "depends" for v in others) or mine == "depends":
            return "depends"
        return "yes"
    if kind == "but_not":  # "covered by A but not B?": yes when A does and none of the others does
        if subject is None or subject not in claims:
            return "quote"
        mine = claims[subject]
        others = [v for p, v in claims.items() if p != subject]
        if mine == "no" or any(v in ("yes", "only_if") for v in others):
            return "no"
        if all(v == "no" for v in others) and mine in ("yes", "only_if"):
            return mine
        return "depends"
    if kind == "any":
        for wanted in ("yes", "only_if", "depends"):
            if wanted in values:
                return wanted
        return "no" if values else "quote"
    if kind == "none":  # "covered by none of the payers?": yes when each says no
        if not values:
            return "quote"
        if any(v in ("yes", "only_if") for v in values):
            return "no"
        return "yes" if set(values) == {"no"} else "depends"
    if kind == "every":  # "would both NIA and FB deny it?": yes only when each does
        if not values:
            return "quote"
        if "no" in values:
            return "no"
        return "yes" if set(values) == {"yes"} else "depends"
    if kind in ("same", "differ"):
        full = list((statuses or claims).values())  # by claim: conditions are shown, not compared
        same = len({repr(v) for v in full}) <= 1
        return ("yes" if same else "no") if kind == "same" else ("no" if same else "yes")
    return "quote"


def covering(claims: Mapping[str, str]) -> list[str]:
    """The payers whose claim is yes or only if."""
    return [p for p, v in claims.items() if v in ("yes", "only_if")]


def names(payers: Iterable[str]) -> str:
    items = list(payers)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else "none"
