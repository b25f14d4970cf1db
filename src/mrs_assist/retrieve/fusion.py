"""Reciprocal rank fusion: merge ranked lists by 1 / (k + rank), rank counting from 1."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[T]], k: int = 60) -> list[tuple[T, float]]:
    """Items of all rankings with fused scores, best first.

    An item's score is the sum over rankings of 1 / (k + its rank there). Ties go to the
    item with the better single best rank, then to the earlier ranking's order.
    """
    scores: dict[T, float] = {}
    best_rank: dict[T, tuple[int, int]] = {}
    for which, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            best_rank[item] = min(best_rank.get(item, (rank, which)), (rank, which))
    return sorted(scores.items(), key=lambda kv: (-kv[1], best_rank[kv[0]]))
