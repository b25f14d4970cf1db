"""Reading which indications a question names builds each fact's word patterns once, not per question."""

from __future__ import annotations

from mrs_assist.config import Settings
from mrs_assist.criteria import questions
from mrs_assist.service import Services


def test_word_patterns_are_built_once_per_word_list():
    services = Services(Settings())
    rows = [r.fact for r in services.matrix.rows]
    first = questions.indications_in_question("Is MRS covered for epilepsy under NIA?", services.catalogue, rows)
    built = questions._compiled.cache_info().misses
    again = questions.indications_in_question("Which payers cover MRS for epilepsy?", services.catalogue, rows)
    assert first == again == ["epilepsy_presurgical"]
    assert questions._compiled.cache_info().misses == built  # the second question compiled nothing
