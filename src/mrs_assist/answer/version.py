"""'Is Cohere's policy version 2?': a yes/no question of a policy's own version line.

Answered from the current clauses that state a version or guideline number ("Version: 2",
"Guideline Number: NIA_CG_003"): yes when the value asked is the one the line states, no when
the line states another. A question about the past ("was it version 1 in August 2024?") is
left to the history answers; a policy with no such line gets no verdict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mrs_assist.answer.verdict import per_payer
from mrs_assist.schemas import Verdict, VerdictClaim

_ASKED = re.compile(
    r"(?:^|[:;,.]\s*)(?:is|are)\b[^?]*?\b(?:(?P<what>version|guideline\s+(?:number|no\.?|#)|policy\s+(?:number|no\.?|#))"
    r"\s*(?:number\s+|no\.?\s*|#\s*)?v?(?P<value>[A-Za-z0-9][\w.-]*))(?:\s+(?:still\s+)?(?:current|in\s+effect|the\s+current\s+one))?\s*\?",
    re.I)
"""'Is Cohere's policy version 2?', 'Is NIA's guideline number NIA_CG_003?' (the value right after the word)."""
_PAST = re.compile(r"\b(?:was|were|did|had|ever|previously|originally|in\s+(?:19|20)\d{2})\b", re.I)
_STATED = re.compile(r"\b(?:version|guideline\s+number)\s*:?\s*(?P<value>[A-Za-z0-9][\w.-]*)", re.I)


def asked(question: str) -> tuple[str, str] | None:
    """(what — 'version' or 'number' —, the value asked) of a present-tense yes/no version question; None otherwise."""
    match = _ASKED.search(question)
    if match is None or _PAST.search(question):
        return None
    what = "version" if match.group("what").lower() == "version" else "number"
    return what, match.group("value").rstrip(".")


def from_version(asked_: tuple[str, str], lines: Mapping[str, Sequence[tuple[str, str]]],
                 payers: Mapping[str, str]) -> Verdict | None:
    """Per policy asked: yes / no from its version line (``lines``: policy → its current version
    clauses (id, text)); None when some policy asked states no value of the kind asked."""
    what, value = asked_
    claims, kinds = [], []
    for pid, payer in payers.items():
        stated = [(cid, m.group("value").rstrip("."), text) for cid, text in lines.get(pid, ())
                  if (m := _STATED.search(text)) and (what == "version") == m.group(0).lower().startswith("version")]
        if not stated:
            return None
        cid, value_stated, text = stated[0]
        same = value_stated.lower() == value.lower()
        lead = "Yes" if same else "No"
        claims.append(VerdictClaim(text=f'{lead} — {payer} ({pid}) states "{text}" [{cid}].', clause_ids=[cid]))
        kinds.append("yes" if same else "no")
    return per_payer(claims, kinds, "Each policy's own line, by payer:", "metadata")
