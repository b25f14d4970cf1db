"""The last steps of an ask response (``answer.guard``): a verdict is checked against what it
cites and shown first (below a note that no guideline uses some words), a verdict its clauses do
not support gives way to the clause itself, and with no chat model the response is not rephrased."""

from __future__ import annotations

import pytest

from mrs_assist.answer import guard
from mrs_assist.answer import verdict as verdicts
from mrs_assist.corpus import load_corpus
from mrs_assist.schemas import AskResponse, Citation, VerdictClaim


@pytest.fixture(scope="module")
def corpus():
    from mrs_assist.config import Settings

    return load_corpus(Settings().corpus_dir)


def _citation(corpus, clause_id: str) -> Citation:
    c = corpus.clause(clause_id)
    return Citation(clause_id=c.id, policy_id=c.policy_id, section=c.section, text=c.text, score=1.0)


def _check(corpus, response: AskResponse) -> AskResponse:
    return guard.check_response("Is it listed?", response, corpus=corpus, vocabulary=frozenset(),
                                kinds=lambda _: frozenset())


def test_a_supported_verdict_is_checked_and_shown_under_the_unmentioned_note(corpus):
    cited = _citation(corpus, "healthhelp-mrs#indications.7")
    verdict = verdicts.render("", [VerdictClaim(text=f'Yes — HealthHelp lists it: "{cited.text}" [{cited.clause_id}].',
                                                clause_ids=[cited.clause_id])], "clause", "yes")
    response = AskResponse(answer=f"{guard.UNMENTIONED} 'zebra'; the closest clauses follow.\n\nbody", citations=[cited],
                           mode="extractive", verdict=verdict)
    checked = _check(corpus, response)
    assert checked.verdict.checked and checked.verdict.claim == "yes"
    note, shown, body = checked.answer.split("\n\n")
    assert note.startswith(guard.UNMENTIONED) and shown == verdict.text and body == "body"


def test_a_verdict_citing_a_clause_it_does_not_carry_gives_way_to_the_clause(corpus):
    cited = _citation(corpus, "healthhelp-mrs#indications.7")
    verdict = verdicts.render("", [VerdictClaim(text="Yes — it is covered [cohere-mrs#indications.1].",
                                                clause_ids=["cohere-mrs#indications.1"])], "clause", "yes")
    response = AskResponse(answer="body", citations=[cited], mode="extractive", verdict=verdict)
    checked = _check(corpus, response)
    assert checked.verdict.claim == "quote" and cited.clause_id in checked.verdict.text


def test_not_addressed_is_left_as_it_is_and_no_model_phrases_nothing(corpus):
    response = AskResponse(answer="text", citations=[], mode="extractive", verdict=verdicts.not_addressed())
    assert _check(corpus, response) == response
    assert guard.phrase_response("q", response, chat_model=None, corpus=corpus, prompts_dir=None, vocabulary=frozenset(),
                                 policy_ids=[]) == response
