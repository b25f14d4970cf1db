"""'Does Cohere require a biopsy before MRS?': a prerequisite the criteria never name.

A "require X?" question whose X names no condition the criteria know (``requirement``
answers those) is answered no for a policy none of whose criteria clauses (indications,
non-indications, position statement) uses any content word of X: what a policy does not
name, it does not require. When any word of X appears in a criteria clause ("a failed MRI"
beside Cohere's "inconclusive MRI"), the policy may be asking for it in other words: no verdict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mrs_assist.answer.verdict import cite_ids, per_payer
from mrs_assist.schemas import Verdict, VerdictClaim

_WORD = re.compile(r"[a-z]{3,}")
_GENERIC = frozenset({
    "the", "and", "any", "prior", "previous", "first", "recent", "formal", "documented", "separate", "additional",
    "mrs", "spectroscopy", "study", "request", "approval", "authorization", "patient", "member", "some", "kind",
    "type", "sort", "that", "this", "there", "their", "its", "with", "from", "before", "after", "done", "completed",
    "performed", "obtained",
})
_CRITERIA = re.compile(r"#(?:indications|non-indications|position|contraindications|general-information|notes)\b")
"""The clauses that set a policy's criteria or what a request must carry (by id): what it may
require is written there."""


def _words(phrase: str) -> list[str]:
    return [w for w in _WORD.findall(phrase.lower()) if w not in _GENERIC]


def criteria_clause(clause_id: str) -> bool:
    """True for a clause id in a policy's criteria sections."""
    return bool(_CRITERIA.search(clause_id))


def from_unnamed(phrase: str, criteria: Mapping[str, Sequence[tuple[str, str]]], payers: Mapping[str, str]) -> Verdict | None:
    """No per policy asked whose criteria clauses (``criteria``: policy → (id, text)) use no
    content word of ``phrase``; None when the phrase has no content word, or some policy asked
    uses one of them (or has no criteria clauses)."""
    words = _words(phrase)
    if not words:
        return None
    claims, kinds = [], []
    for pid, payer in payers.items():
        own = list(criteria.get(pid, ()))
        if not own or any(re.search(rf"\b{re.escape(w[:5])}", text, re.I) for _, text in own for w in words):
            return None
        ids = [own[0][0]]
        what = re.sub(r"^(?:an?|the)\s+", "", " ".join(phrase.split()), flags=re.I)
        claims.append(VerdictClaim(
            text=f"No — {payer} ({pid}) names no {what} among its criteria for MRS {cite_ids(ids)}.", clause_ids=ids))
        kinds.append("no")
    return per_payer(claims, kinds, "Whether each policy's criteria name it, by payer:", "criteria")
