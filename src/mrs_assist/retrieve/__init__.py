"""Search over the indexed clauses: one ``Retriever.rank(question, mode=…)``.

``loading`` opens and verifies a generation (and maps Chroma's failures), ``structure``
knows list parents/items and clause kinds, ``retriever`` ranks. The answer layer calls
``Retriever.search`` (= ``rank(mode="hybrid")``) and reads ``RetrievalResult.hits``.
"""

from mrs_assist.retrieve.fusion import reciprocal_rank_fusion
from mrs_assist.retrieve.policies import detect_policies, is_comparison, named_policies
from mrs_assist.retrieve.retriever import MODES, Hit, RetrievalResult, Retriever
from mrs_assist.retrieve.structure import question_intents

__all__ = [
    "MODES",
    "Hit",
    "RetrievalResult",
    "Retriever",
    "detect_policies",
    "is_comparison",
    "named_policies",
    "question_intents",
    "reciprocal_rank_fusion",
]
