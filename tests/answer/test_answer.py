"""The extractive composer: quotes are verbatim, grouped per policy, each cited."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mrs_assist.answer import NOT_ADDRESSED, compose_answer
from mrs_assist.answer.extractive import best_sentences, split_sentences
from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus


@dataclass
class Hit:
    clause_id: str
    policy_id: str
    payer: str
    section: str
    text: str
    score: float


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(Settings().corpus_dir)


def test_every_sentence_is_a_substring_for_every_clause(corpus):
    for clause in corpus.clauses():
        for sentence in split_sentences(clause.text):
            assert sentence in clause.text, clause.id


@pytest.mark.parametrize("question", ["glioma grading", "radiation necrosis recurrence", "epilepsy stroke"])
def test_best_sentences_is_verbatim_for_every_clause(corpus, question):
    for clause in corpus.clauses():
        quotes = best_sentences(question, clause.text)
        assert quotes and all(q and q in clause.text for q in quotes), clause.id


def test_long_clause_quotes_the_relevant_sentence(corpus):
    glioma = corpus.clause("nia-brain-mrs#background.glioma")
    quotes = best_sentences("Is glioma grading experimental or investigational?", glioma.text)
    assert any("experimental/investigational" in q for q in quotes)
    assert sum(map(len, quotes)) < len(glioma.text)


def test_answer_groups_quotes_per_policy_and_cites_each(corpus):
    ids = ["nia-brain-mrs#indications.1", "cohere-mrs#indications.1", "nia-brain-mrs#indications.2"]
    hits = [
        Hit(c.id, c.policy_id, corpus.documents[c.policy_id].meta.payer, c.section, c.text, 1.0 - i / 10)
        for i, c in enumerate(corpus.clause(i) for i in ids)
    ]
    answer, citations = compose_answer("recurrent tumor", hits)
    assert [c.clause_id for c in citations] == ids
    nia_header = answer.index("(nia-brain-mrs):")
    cohere_header = answer.index("(cohere-mrs):")
    # both NIA quotes sit under the NIA header, before Cohere's
    assert nia_header < answer.index("[nia-brain-mrs#indications.2]") < cohere_header
    for c in citations:
        assert c.text == corpus.clause(c.clause_id).text
        assert f"[{c.clause_id}]" in answer


def test_no_hits_means_not_addressed():
    answer, citations = compose_answer("What is the copay?", [])
    assert answer == NOT_ADDRESSED and citations == []
