"""Code questions: "Is 0698T listed by NIA?", "Do HealthHelp, Cohere or Florida Blue list
+0698T alongside 76390?" — answered per policy from the policy's own code clauses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mrs_assist.answer.verdict import cite_ids, render
from mrs_assist.schemas import Verdict, VerdictClaim

CODE = re.compile(r"(?<![\w.])\+?(\d{4}[0-9T])\b")
YES_NO = re.compile(r"^\s*(?:\w+\s*[:,—-]\s*)?(?:is|are|does|do|did|can|could|should|will|would)\b", re.I)


_ASKED = re.compile(
    r"\b(?:is|are|does|do)\s+(?:the\s+)?(?:cpt\s+|hcpcs\s+)?(?:codes?\s+)?\+?\d{4}[0-9T]\b"
    r"|\b(?:list|lists|listed|include|includes|included|carry|carries|use|uses)\s+(?:code\s+)?\+?\d{4}[0-9T]\b",
    re.I,
)


def codes_asked(question: str) -> list[str]:
    """The CPT/HCPCS codes a yes/no question asks whether a policy lists ("is 0698T listed",
    "do they list +0698T"), without '+'; [] otherwise ("is the table (76390 only) complete?")."""
    if not YES_NO.search(question) or not _ASKED.search(question):
        return []
    return list(dict.fromkeys(m.group(1).upper() for m in CODE.finditer(question)))


def from_codes(codes: Sequence[str], code_clauses: Mapping[str, tuple[str, list[tuple[str, str]]]]) -> Verdict | None:
    """Per policy, whether its code clauses list every code asked. ``code_clauses``: policy
    id → (payer, [(clause id, text)]); a policy without code clauses is left out."""
    claims, kinds = [], []
    for pid, (payer, clauses) in code_clauses.items():
        if not clauses:
            continue
        who = f"{payer} ({pid})"
        listed = [c for c in codes if any(re.search(rf"(?<!\d){c}\b", text, re.I) for _, text in clauses)]
        holding = [cid for cid, text in clauses if any(re.search(rf"(?<!\d){c}\b", text, re.I) for c in codes)]
        if len(listed) == len(codes):
            text, kind, ids = f"Yes — {who} lists {', '.join(codes)} {cite_ids(holding)}.", "yes", holding
        else:
            ids = [cid for cid, _ in clauses]
            missing = [c for c in codes if c not in listed]
            text, kind = f"No — {who} code list does not include {', '.join(missing)} {cite_ids(ids)}.", "no"
        claims.append(VerdictClaim(text=text, clause_ids=ids))
        kinds.append(kind)
    if not claims:
        return None
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    return render("" if len(claims) == 1 else "Whether each policy lists the code, by payer:", claims, "criteria", claim)
