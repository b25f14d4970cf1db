"""Model-phrased /v1/ask answers: only retrieved clauses, verbatim quotes, else extractive."""

from __future__ import annotations

import json

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from letter_fixtures import citation, corpus  # noqa: F401

from mrs_assist.answer.llm import phrase_answer
from mrs_assist.data import shipped
from mrs_assist.letters.vocabulary import fixed_vocabulary

QUESTION = "Does NIA cover MRS for glioma grading?"
RETRIEVED = ["nia-brain-mrs#background.glioma", "nia-brain-mrs#indications.1", "cohere-mrs#indications.2.a.1"]
EXTRACTIVE = 'National Imaging Associates (nia-brain-mrs):\n- "Therefore, it remains experimental/investigational" [nia-brain-mrs#background.glioma]'
GOOD = {
    "answer": 'No. NIA considers MRS for grading gliomas "experimental/investigational" '
    "[nia-brain-mrs#background.glioma].",
    "cited_clause_ids": ["nia-brain-mrs#background.glioma"],
}


class Counter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.calls = 0

    def on_chat_model_start(self, *args, **kwargs) -> None:
        self.calls += 1


def ask(*replies, policy_ids=None, citations=None, counter=None):
    model = FakeListChatModel(responses=list(replies) or ["unused"], callbacks=[counter] if counter else None)
    cites = [citation(c) for c in RETRIEVED] if citations is None else citations
    return phrase_answer(model, QUESTION, cites, EXTRACTIVE, corpus=corpus(), policy_ids=policy_ids, vocabulary=fixed_vocabulary(shipped("data/corpus/facts.yaml")))


def test_good_answer_is_used_and_cites_only_what_it_cites():
    response, problems = ask(json.dumps(GOOD))
    assert problems == []
    assert response.mode == "llm" and response.answer == GOOD["answer"]
    assert [c.clause_id for c in response.citations] == ["nia-brain-mrs#background.glioma"]
    assert response.citations[0].text == corpus().clause("nia-brain-mrs#background.glioma").text


@pytest.mark.parametrize(
    "answer, code",
    [
        ('Cohere requires "Conventional imaging" [cohere-mrs#indications.1].', "clause_not_traced"),
        ("NIA covers it [nia-brain-mrs#indications.9].", "unknown_clause"),
        ('NIA says grading is "not proven" [nia-brain-mrs#background.glioma].', "quote_not_verbatim"),
        (GOOD["answer"] + " <script>alert(1)</script>", "markup"),
        (GOOD["answer"] + " More at https://example.org.", "link"),
        (GOOD["answer"] + " NIA changed this on January 5, 2024.", "unsupported_assertion"),
    ],
)
def test_hostile_answer_falls_back_to_extractive(answer, code):
    bad = json.dumps({"answer": answer, "cited_clause_ids": []})
    response, problems = ask(bad, bad)
    assert response.mode == "extractive" and response.answer == EXTRACTIVE
    assert [c.clause_id for c in response.citations] == RETRIEVED
    assert code in {p.code for p in problems}


def test_retry_once_then_accept():
    bad = json.dumps({"answer": "It is covered.", "cited_clause_ids": []})
    counter = Counter()
    response, problems = ask(bad, json.dumps(GOOD), counter=counter)
    assert response.mode == "llm" and counter.calls == 2
    assert [p.code for p in problems] == ["missing_element"] and problems[0].attempt == 1


def test_outside_requested_policies_is_rejected():
    bad = json.dumps({"answer": 'Cohere lists "Grading of primary glial neoplasm" [cohere-mrs#indications.2.a.1].',
                      "cited_clause_ids": ["cohere-mrs#indications.2.a.1"]})
    response, problems = ask(bad, bad, policy_ids=["nia-brain-mrs"])
    assert response.mode == "extractive" and "clause_not_in_policy" in {p.code for p in problems}


def test_no_model_or_no_citations_means_no_call():
    response, problems = phrase_answer(None, QUESTION, [citation(RETRIEVED[0])], EXTRACTIVE)
    assert response.mode == "extractive" and problems == []
    counter = Counter()
    response, problems = ask(json.dumps(GOOD), citations=[], counter=counter)
    assert response.mode == "extractive" and response.citations == [] and counter.calls == 0
