"""The verdict retrieval's hits give (``answer.retrieved``): a list question is answered by the list a
hit heads, a metadata question by a clause of the kind asked, anything else by the best clause quoted."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import retrieved
from mrs_assist.config import Settings
from mrs_assist.retrieve.retriever import Hit
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def _hit(services, clause_id: str, rank: int) -> Hit:
    c = services.corpus.clause(clause_id)
    return Hit(clause_id=c.id, policy_id=c.policy_id, payer="", section=c.section, text=c.text, score=1.0 / rank,
               dense_similarity=None, bm25_score=0.0, rank=rank, kinds=services.asker._kinds(c.id))


def _verdict(services, question: str, ids: list[str]):
    asker = services.asker
    plan = asker.plan(AskRequest(question=question))
    hits = [_hit(services, cid, i) for i, cid in enumerate(ids, 1)]
    return retrieved.verdict_from_hits(plan, hits, corpus=services.corpus, structure=asker.structure,
                                       kinds=asker._kinds, citations=asker._citations)


def test_a_list_question_is_answered_by_the_list_its_hit_heads(services):
    verdict, cited = _verdict(services, "Which non-indications does Cohere list?", ["cohere-mrs#non-indications.2"])
    assert cited[0].clause_id == "cohere-mrs#non-indications"
    assert {c.clause_id for c in cited} >= {"cohere-mrs#non-indications.1", "cohere-mrs#non-indications.5"}


def test_a_metadata_question_rests_on_a_clause_of_the_kind_asked(services):
    verdict, cited = _verdict(services, "When was NIA's guideline last revised?",
                              ["nia-brain-mrs#indications.1", "nia-brain-mrs#guideline-info.last-revised"])
    assert [c.clause_id for c in cited] == ["nia-brain-mrs#guideline-info.last-revised"]
    assert verdict.basis == "metadata"


def test_otherwise_the_best_clause_is_quoted(services):
    verdict, cited = _verdict(services, "What does NIA say about radiation necrosis?", ["nia-brain-mrs#indications.1"])
    assert [c.clause_id for c in cited] == ["nia-brain-mrs#indications.1"] and verdict.claim == "quote"
