"""Issue 23: an independent writer's gold quotes become clause ids, and their verdicts expected claims."""

from __future__ import annotations

import pytest

from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus
from mrs_assist.evaluation.indep import convert_questions, quote_clauses


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(Settings().corpus_dir)


@pytest.mark.parametrize(
    ("quote", "clause"),
    [
        ("Neonatal hypoxic ischemic encephalopathy", "cohere-mrs#indications.2.b.1"),
        ("'Vascular conditions, known or suspected, including **ANY** of the following:'", "cohere-mrs#indications.2.b"),
        ("CPT Codes: 76390, <b>+0698T</b>\tLast Revised Date: February 2021", "nia-brain-mrs#guideline-info.last-revised"),
    ],
)
def test_a_quote_maps_to_the_clause_holding_it(corpus, quote, clause):
    assert clause in quote_clauses(quote, corpus)


def test_convert_questions_maps_verdicts_and_reports_unmatched_quotes(corpus):
    entries = [
        {"id": "X-1", "kind": "coverage", "question": "HH MRS for MS?", "policy_ids": ["healthhelp-mrs"],
         "verdict": "only-if", "answer": "…", "gold_quotes": ["Multiple sclerosis", "no policy says this at all"]},
        {"id": "X-2", "kind": "definition", "question": "What is MRS?", "policy_ids": [], "verdict": "info",
         "answer": "…", "gold_quotes": []},
    ]
    questions, problems = convert_questions(entries, corpus, writer="w")
    assert questions[0]["expect"] == "only_if" and questions[0]["policy_ids"] is None
    assert "healthhelp-mrs#indications.7" in questions[0]["gold"]
    assert questions[1]["expect"] is None and questions[1]["gold"] == []
    assert problems == ["X-1: quote matches no clause: 'no policy says this at all'"]
