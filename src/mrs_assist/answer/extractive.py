"""The embedded default answer: the most relevant sentences of the top clauses, quoted.

Every quote is a verbatim substring of a clause, and every citation carries the whole
clause text, so any answer can be checked against the corpus word for word.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, Sequence

from mrs_assist.schemas import Citation

NOT_ADDRESSED = (
    "The guidelines in this corpus do not address this question. No clause was relevant "
    "enough to quote; please check the member's policy directly or ask a clinical policy lead."
)

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+(?=\s|$)|$)")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by does do for from has have how in is it its mrs of on or "
    "the this to under what when which with who whom why will would can could should "
    "magnetic resonance spectroscopy cover covered coverage policy guideline payer".split()
)


class HitLike(Protocol):
    """What the composer needs from a retrieval hit."""

    clause_id: str
    policy_id: str
    payer: str
    section: str
    text: str
    score: float


def _terms(text: str) -> set[str]:
    words = (w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(text.lower()))
    return {w for w in words if w not in _STOP and len(w) > 1}


_DECISION = re.compile(
    r"experimental|investigational|medically necessary|medical necessity|medically appropriate|"
    r"considered appropriate|not considered|not covered|non-covered|reasonable and necessary|"
    r"not recommend",
    re.I,
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a clause, each a verbatim substring of it."""
    spans = [m.group(0).strip() for m in _SENTENCE.finditer(text)]
    return [s for s in spans if s] or [text]


def best_sentences(
    question: str, clause_text: str, *, limit: int = 2, coverage: bool | None = None
) -> list[str]:
    """The clause's most question-relevant sentences, in clause order, each verbatim.

    Short clauses are quoted whole. Every returned piece is a substring of ``clause_text``.
    ``coverage``: the question asks about coverage (default: the plan's coverage rule).
    """
    sentences = split_sentences(clause_text)
    if len(sentences) <= limit or len(clause_text) <= 320:
        return [clause_text]
    q = _terms(question)
    if coverage is None:
        from mrs_assist.answer.plan import is_coverage_question

        coverage = is_coverage_question(question)

    def relevance(i: int) -> int:
        # A coverage question wants the sentence that states the policy's position.
        decision = 2 if coverage and _DECISION.search(sentences[i]) else 0
        return len(q & _terms(sentences[i])) + decision

    ranked = sorted(range(len(sentences)), key=lambda i: (-relevance(i), i))
    return [sentences[i] for i in sorted(ranked[:limit])]


_BOILERPLATE = re.compile(r"\b(references?|notices?|disclaimer|trademarks?|guideline information|about the authors)\b", re.I)
_CLOSE = 0.06


def select_quotes(hits: Sequence[HitLike]) -> list[HitLike]:
    """The hits worth quoting: each policy's best, plus any as close as it; no boilerplate.

    Reference lists, notices and disclaimers are quoted only when they are a policy's best
    hit (a question about a reference or a notice).
    """
    best: dict[str, float] = {}
    for hit in hits:
        sim = getattr(hit, "dense_similarity", None)
        best.setdefault(hit.policy_id, sim if sim is not None else 1.0)
    chosen: list[HitLike] = []
    seen: set[str] = set()
    for hit in hits:
        sim = getattr(hit, "dense_similarity", None)
        first = hit.policy_id not in seen
        seen.add(hit.policy_id)
        if first:
            chosen.append(hit)
        elif not _BOILERPLATE.search(hit.section) and (sim is None or sim >= best[hit.policy_id] - _CLOSE):
            chosen.append(hit)
    return chosen


def compose_answer(
    question: str,
    hits: Sequence[HitLike],
    *,
    payer_names: dict[str, str] | None = None,
    kinds: Callable[[str], frozenset[str]] | None = None,
) -> tuple[str, list[Citation]]:
    """An extractive answer (quotes grouped per policy) and its citations.

    ``kinds`` (clause id → kinds) labels history and reference clauses, so a history line is
    never read as the current position.
    """
    from mrs_assist.answer.verdict import label_of

    if not hits:
        return NOT_ADDRESSED, []
    groups: OrderedDict[str, list[HitLike]] = OrderedDict()
    for hit in hits:
        groups.setdefault(hit.policy_id, []).append(hit)
    lines: list[str] = []
    for policy_id, group in groups.items():
        payer = (payer_names or {}).get(policy_id) or group[0].payer
        lines.append(f"{payer} ({policy_id}):")
        for hit in group:
            quotes = " … ".join(f'"{q}"' for q in best_sentences(question, hit.text))
            label = label_of(kinds(hit.clause_id)) if kinds else ""
            lines.append(f"- {label}{quotes} [{hit.clause_id}]")
        lines.append("")
    citations = [
        Citation(
            clause_id=h.clause_id,
            policy_id=h.policy_id,
            section=h.section,
            text=h.text,
            score=round(float(h.score), 6),
        )
        for h in hits
    ]
    return "\n".join(lines).strip(), citations
