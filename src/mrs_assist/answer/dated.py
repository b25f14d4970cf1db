"""'Is Cohere's guideline effective October 30, 2024?': a yes/no question of a policy's own dated line.

Answered from the current clauses that label one date ("Effective Date: October 30, 2024",
"Original Date: April 2007", "Document last updated: 10/30/2024"): the line whose label names
the date asked about (effective, original, implementation, last updated / revised, last
literature review) is compared with the date the question gives, as far as both spell it out:
yes when they agree, no when they differ, no verdict when the question is more precise than the
line ("effective January 15, 2022?" of "January 2022") or a policy asked has no such line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mrs_assist.answer.verdict import per_payer, render
from mrs_assist.schemas import Verdict, VerdictClaim

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b(?:(?P<mon>{_MONTH})\s+(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?(?P<year>(?:19|20)\d{{2}})"
    r"|(?P<m>\d{1,2})/(?:(?P<d>\d{1,2})/)?(?P<y>(?:19|20)?\d{2})"
    r"|(?P<bare>(?:19|20)\d{2}))\b", re.I)
"""'October 30, 2024', 'April 2007', '10/30/2024', '8/14/24', '2007'."""

_KINDS: tuple[tuple[str, str, str], ...] = (
    # (kind, how a question names it, how a line's label names it)
    ("literature", r"literature\s+review", r"literature\s+review"),
    ("effective", r"effective|in\s+effect|took\s+effect", r"effective"),
    ("original", r"original(?:ly)?|first\s+(?:issued|published|written|created|dated)|initiated|created",
     r"original|initiated"),
    ("implementation", r"implement\w*", r"implementation"),
    ("updated", r"last\s+(?:updated|revised|revision)|latest\s+(?:update|revision)|most\s+recently\s+(?:updated|revised)",
     r"last\s+(?:updated|revised)"),
)
_YES_NO = re.compile(r"^\W*(?:is|was|are|were|does|did|has|had)\b", re.I)
_LINE = re.compile(r"^(?P<label>[A-Za-z ]{3,40}):\s*(?P<value>.+?)\s*$")


def _parts(match: re.Match) -> tuple[int, int | None, int | None]:
    """(year, month or None, day or None) of one date ``_DATE`` found."""
    if match.group("bare"):
        return int(match.group("bare")), None, None
    if match.group("mon"):
        month = _MONTHS.index(match.group("mon")[:3].lower()) + 1
        day = match.group("day")
        return int(match.group("year")), month, int(day) if day else None
    year = int(match.group("y"))
    year = year + 2000 if year < 100 else year
    day = match.group("d")
    return year, int(match.group("m")), int(day) if day else None


def asked(question: str) -> tuple[str, tuple[int, int | None, int | None]] | None:
    """(the kind of dated line asked, the date asked) of a yes/no question that names one kind
    and gives one date ("Was NIA's guideline originally dated April 2007?"); None otherwise."""
    if not _YES_NO.match(question) or not question.rstrip().endswith("?"):
        return None
    kinds = [kind for kind, words, _ in _KINDS if re.search(rf"\b(?:{words})\b", question, re.I)]
    dates = list(_DATE.finditer(question))
    if len(kinds) != 1 or len(dates) != 1:
        return None
    return kinds[0], _parts(dates[0])


def _agree(asked_: tuple[int, int | None, int | None], stated: tuple[int, int | None, int | None]) -> bool | None:
    """True / False as far as both dates are spelled out; None when the question's is more precise."""
    for a, s in zip(asked_, stated):
        if a is None:
            return True
        if s is None:
            return None
        if a != s:
            return False
    return True


def from_dated(asked_: tuple[str, tuple[int, int | None, int | None]],
               lines: Mapping[str, Sequence[tuple[str, str]]], payers: Mapping[str, str],
               every: bool = False) -> Verdict | None:
    """Per policy asked: yes / no from its line of the kind asked (``lines``: policy → its clauses
    (id, text)); None when a policy asked has no such line or the question is more precise.
    ``every``: the question asks it of each payer ("were both first issued in 2024?"): one no answers it."""
    kind, when = asked_
    label_words = next(label for k, _, label in _KINDS if k == kind)
    claims, kinds = [], []
    for pid, payer in payers.items():
        stated = [(cid, text, date) for cid, text in lines.get(pid, ())
                  if (line := _LINE.match(text)) and re.search(rf"\b(?:{label_words})\b", line.group("label"), re.I)
                  and (date := _DATE.search(line.group("value")))]
        if len(stated) != 1:
            return None
        cid, text, date = stated[0]
        same = _agree(when, _parts(date))
        if same is None:
            return None
        claims.append(VerdictClaim(text=f'{"Yes" if same else "No"} — {payer} ({pid}) states "{text}" [{cid}].',
                                   clause_ids=[cid]))
        kinds.append("yes" if same else "no")
    if every and len(claims) > 1 and "no" in kinds:
        return render("No — not every payer asked; each policy's own line, by payer:", claims, "metadata", "no")
    return per_payer(claims, kinds, "Each policy's own line, by payer:", "metadata")
