"""Metric functions: pure, small, and tested on hand-made inputs (tests/evaluation/test_harness.py).

Rankings are lists of *units*. A unit is what a retriever returns at one rank: a clause id
for ours, or for a chunk-based baseline the set of clause ids that chunk contains. Every
function accepts either (a bare string is a one-clause unit).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Unit = str | frozenset[str] | set[str] | tuple[str, ...]


def _ids(unit: Unit) -> set[str]:
    return {unit} if isinstance(unit, str) else set(unit)


def recall_at_k(ranking: Sequence[Unit], gold: Iterable[str], k: int) -> float:
    """|gold ∩ clauses in the first k units| / |gold|; raises ValueError for empty gold."""
    gold = set(gold)
    if not gold:
        raise ValueError("recall is undefined without gold clauses")
    found = set().union(*(_ids(u) for u in ranking[:k])) if ranking[:k] else set()
    return len(gold & found) / len(gold)


def first_relevant_rank(ranking: Sequence[Unit], gold: Iterable[str]) -> int | None:
    """1-based rank of the first unit holding a gold clause, or None."""
    gold = set(gold)
    for rank, unit in enumerate(ranking, start=1):
        if _ids(unit) & gold:
            return rank
    return None


def reciprocal_rank(ranking: Sequence[Unit], gold: Iterable[str]) -> float:
    """1 / rank of the first relevant unit (0.0 when none is relevant)."""
    rank = first_relevant_rank(ranking, gold)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(ranking: Sequence[Unit], gold: Iterable[str], k: int = 10, *, relevant_units: int | None = None) -> float:
    """Binary-gain nDCG@k: a unit is relevant when it holds a gold clause.

    The ideal ranking puts ``relevant_units`` relevant units first: |gold| for clause units
    (the default); for chunk units, how many chunks of the whole collection hold a gold clause.
    """
    gold = set(gold)
    if not gold:
        raise ValueError("nDCG is undefined without gold clauses")
    dcg = sum(1.0 / math.log2(i + 1) for i, u in enumerate(ranking[:k], start=1) if _ids(u) & gold)
    ideal_n = min(len(gold) if relevant_units is None else relevant_units, k)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, ideal_n + 1))
    return dcg / idcg if idcg else 0.0


def confusion_matrix(pairs: Iterable[tuple[str, str]], labels: Sequence[str]) -> list[list[int]]:
    """Counts[gold][predicted] over (gold, predicted) pairs, rows and columns in labels order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for gold, predicted in pairs:
        matrix[index[gold]][index[predicted]] += 1
    return matrix


@dataclass(frozen=True)
class PR:
    """Micro-averaged precision and recall with their counts (None when undefined)."""

    precision: float | None
    recall: float | None
    true_positives: int
    predicted: int
    gold: int

    def as_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "true_positives": self.true_positives,
                "predicted": self.predicted, "gold": self.gold}


def micro_precision_recall(items: Iterable[tuple[Iterable[str], Iterable[str]]]) -> PR:
    """Micro precision/recall over (gold set, predicted set) pairs."""
    tp = n_pred = n_gold = 0
    for gold, predicted in items:
        gold, predicted = set(gold), set(predicted)
        tp += len(gold & predicted)
        n_pred += len(predicted)
        n_gold += len(gold)
    return PR(
        precision=tp / n_pred if n_pred else None,
        recall=tp / n_gold if n_gold else None,
        true_positives=tp,
        predicted=n_pred,
        gold=n_gold,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; raises ValueError when empty."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(ms: Sequence[float]) -> dict[str, float | int | None]:
    """{'n', 'median_ms', 'p95_ms', 'max_ms'} of a list of milliseconds (None values when empty)."""
    if not ms:
        return {"n": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "max_ms": round(max(ms), 3),
    }


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    values = list(values)
    return sum(values) / len(values) if values else None


def rate(flags: Iterable[bool]) -> float | None:
    """Share of True among flags, or None for none."""
    return mean(1.0 if f else 0.0 for f in flags)
