"""Single-ranker baselines over our own index: dense only and BM25 only.

They read the loaded ``Retriever``'s state (its Chroma generation and in-memory BM25)
without changing it, and rank exactly as the hybrid does except for fusion: the same
chunks, the same payer detection, the same per-policy quotas and clause de-duplication.
So hybrid vs dense-only vs BM25-only isolates what reciprocal-rank fusion buys.

The accessor is the only place the harness touches retriever internals; if they change,
``single_ranker_available`` turns false and the report marks these baselines "not computed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mrs_assist.retrieve import detect_policies

Mode = Literal["dense", "bm25"]


@dataclass(frozen=True)
class RankedClause:
    """A clause found by one ranker (shaped like retrieve.Hit for the answer composer)."""

    clause_id: str
    policy_id: str
    payer: str
    section: str
    text: str
    score: float
    dense_similarity: float | None


def single_ranker_available(retriever: Any) -> bool:
    """True when the retriever exposes the state these baselines read."""
    state = getattr(retriever, "_state", None)
    return all(hasattr(state, a) for a in ("collection", "ids", "meta", "bm25", "policy_of", "pos", "policies")) and hasattr(
        retriever, "embedder"
    )


def rank_single(
    retriever: Any, question: str, policy_ids: Sequence[str] | None, top_k: int, mode: Mode
) -> list[RankedClause]:
    """The top_k clauses by one ranker, with the hybrid's policy detection and quotas."""
    retriever.refresh()
    state = retriever._state
    if policy_ids is None:
        policy_ids = detect_policies(question, state.policies)
    policy_ids = list(dict.fromkeys(policy_ids))
    if len(policy_ids) <= 1:
        return _rank_one(retriever, state, question, policy_ids, top_k, mode)
    # Per-policy quota, as Retriever._search_each: each policy's best first, then the rest.
    top_k = max(top_k, len(policy_ids))
    quota = top_k // len(policy_ids)
    chosen: list[RankedClause] = []
    spare: list[RankedClause] = []
    for pid in policy_ids:
        hits = _rank_one(retriever, state, question, [pid], top_k, mode)
        chosen += hits[:quota]
        spare += hits[quota:]
    spare.sort(key=lambda h: -h.score)
    chosen += spare[: top_k - len(chosen)]
    chosen.sort(key=lambda h: -h.score)
    return chosen


def _rank_one(retriever: Any, state: Any, question: str, policy_ids: list[str], top_k: int, mode: Mode) -> list[RankedClause]:
    if mode == "dense":
        where = {"policy_id": {"$in": policy_ids}} if policy_ids else None
        query = retriever.embedder.embed([question])[0]
        res = state.collection.query(
            query_embeddings=[np.asarray(query, dtype=np.float32)],
            n_results=len(state.ids), where=where, include=["distances"],
        )
        ranked = [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]
    else:
        scores = state.bm25.scores(question).copy()
        if policy_ids:
            scores[~np.isin(state.policy_of, policy_ids)] = 0.0
        order = np.argsort(-scores, kind="stable")
        ranked = [(state.ids[i], float(scores[i])) for i in order if scores[i] > 0]
    out: list[RankedClause] = []
    seen: set[str] = set()
    for cid, score in ranked:
        meta = state.meta[cid]
        if meta["clause_id"] in seen:
            continue
        seen.add(meta["clause_id"])
        out.append(RankedClause(
            clause_id=meta["clause_id"], policy_id=meta["policy_id"], payer=meta["payer"],
            section=meta["section"], text=meta["clause_text"], score=score,
            dense_similarity=score if mode == "dense" else None,
        ))
        if len(out) == top_k:
            break
    return out
