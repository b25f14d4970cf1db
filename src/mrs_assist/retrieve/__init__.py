"""Hybrid search (dense + BM25, reciprocal rank fusion) with payer/policy filters.

The answer layer calls ``Services.retriever.search(question, policy_ids, top_k)``
and reads ``RetrievalResult.hits`` (verbatim clause text + clause id) and ``.addressed``.
"""

from mrs_assist.retrieve.fusion import reciprocal_rank_fusion
from mrs_assist.retrieve.policies import detect_policies, is_comparison, named_policies
from mrs_assist.retrieve.retriever import Hit, RetrievalResult, Retriever

__all__ = [
    "Hit",
    "RetrievalResult",
    "Retriever",
    "detect_policies",
    "is_comparison",
    "named_policies",
    "reciprocal_rank_fusion",
]
