"""Reciprocal rank fusion: merge ranked lists by 1 / (k + rank), rank counting from 1."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """Items of all rankings with fused scores, best first.

    An item's score is the sum over rankings of weight / (k + its rank there) (weights
    default to 1). Ties go to the item with the better single best rank, then to the
    earlier ranking's order.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[T, float] = {}
    best_rank: dict[T, tuple[int, int]] = {}
    for which, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weights[which] / (k + rank)
            best_rank[item] = min(best_rank.get(item, (rank, which)), (rank, which))
    return sorted(scores.items(), key=lambda kv: (-kv[1], best_rank[kv[0]]))
