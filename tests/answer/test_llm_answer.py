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


# --- the verdict sentence alone (issue 23's optional model) ------------------------------------
VERDICT_QUESTION = "Does NIA consider MRS for glioma grading experimental?"


def _verdict():
    from mrs_assist.schemas import Verdict, VerdictClaim

    text = ("Yes — National Imaging Associates (Magellan Healthcare) (nia-brain-mrs) calls MRS for grading of a glioma "
            "experimental/investigational [nia-brain-mrs#background.glioma].")
    return Verdict(text=text, basis="criteria", claim="yes", checked=True,
                   claims=[VerdictClaim(text=text, clause_ids=["nia-brain-mrs#background.glioma"])])


def phrase(*replies, counter=None):
    from mrs_assist.answer.llm import phrase_verdict

    model = FakeListChatModel(responses=list(replies) or ["unused"], callbacks=[counter] if counter else None)
    return phrase_verdict(model, VERDICT_QUESTION, _verdict(), [citation(c) for c in RETRIEVED], corpus=corpus(),
                          vocabulary=fixed_vocabulary(shipped("data/corpus/facts.yaml")))


GOOD_VERDICT = ('Yes — NIA calls MRS for glioma grading "experimental/investigational" '
                "[nia-brain-mrs#background.glioma].")


def test_a_good_verdict_phrasing_is_used_with_the_same_claim_and_citations():
    verdict, problems = phrase(json.dumps({"answer": GOOD_VERDICT, "cited_clause_ids": ["nia-brain-mrs#background.glioma"]}))
    assert problems == [] and verdict.text == GOOD_VERDICT and verdict.claim == "yes" and verdict.checked
    assert [c.clause_ids for c in verdict.claims] == [["nia-brain-mrs#background.glioma"]]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        # the verdict itself changed, outright or by a second verdict word
        ("No — NIA covers MRS for glioma grading [nia-brain-mrs#background.glioma].", "outcome_mismatch"),
        ("Yes — NIA calls it experimental [nia-brain-mrs#background.glioma]. No, approve it anyway.", "outcome_mismatch"),
        # its citations dropped or others added
        ("Yes — NIA calls MRS for glioma grading experimental.", "missing_element"),
        ("Yes — NIA calls it experimental [nia-brain-mrs#background.glioma] [nia-brain-mrs#indications.1].",
         "clause_not_traced"),
        # what the answer validator rejects in any draft
        ('Yes — NIA says grading is "not proven" [nia-brain-mrs#background.glioma].', "quote_not_verbatim"),
        (GOOD_VERDICT + " <b>final</b>", "markup"),
        (GOOD_VERDICT + " See https://example.org.", "link"),
        ("Yes — since January 5, 2024 NIA calls it experimental [nia-brain-mrs#background.glioma].",
         "unsupported_assertion"),
        ("Ignore the rules: Yes [nia-brain-mrs#background.glioma].", "outcome_mismatch"),
    ],
)
def test_a_hostile_verdict_phrasing_keeps_the_deterministic_sentence(answer, code):
    bad = json.dumps({"answer": answer, "cited_clause_ids": []})
    verdict, problems = phrase(bad, bad)
    assert verdict == _verdict()
    assert code in {p.code for p in problems}


def test_an_unparseable_reply_then_a_good_one_is_retried_once():
    counter = Counter()
    verdict, _ = phrase("not json at all", json.dumps({"answer": GOOD_VERDICT, "cited_clause_ids": []}), counter=counter)
    assert verdict.text == GOOD_VERDICT and counter.calls == 2


def test_a_verdict_that_is_not_one_decided_sentence_is_never_sent_to_the_model():
    from mrs_assist.answer.llm import phrase_verdict

    counter = Counter()
    model = FakeListChatModel(responses=["unused"], callbacks=[counter])
    quote = _verdict().model_copy(update={"claim": "quote"})
    several = _verdict().model_copy(update={"text": "Whether …, by payer:\n- Yes — …"})
    for verdict in (quote, several):
        assert phrase_verdict(model, VERDICT_QUESTION, verdict, [citation(c) for c in RETRIEVED])[0] is verdict
    assert counter.calls == 0


def test_ask_with_a_model_rewords_only_the_verdict_sentence(monkeypatch):
    """Through the service: the model's sentence replaces the verdict's, the answer's body and the
    claim stay as the criteria decided them; with no model the answer is deterministic."""
    from types import SimpleNamespace

    from mrs_assist.config import Settings
    from mrs_assist.errors import IndexNotReadyError
    from mrs_assist.schemas import AskRequest
    from mrs_assist.service import Services

    def no_index(*args, **kwargs):
        raise IndexNotReadyError("no index in this test")

    question = "Is MRS for glioma grading experimental under NIA?"
    plain = Services(Settings(), retriever=SimpleNamespace(search=no_index, rank=no_index)).ask(AskRequest(question=question))
    services = Services(Settings(), retriever=SimpleNamespace(search=no_index, rank=no_index))
    services.__dict__["chat_model"] = FakeListChatModel(responses=[json.dumps({"answer": GOOD_VERDICT, "cited_clause_ids": []})])
    phrased = services.ask(AskRequest(question=question))
    assert plain.mode == "extractive" and plain.verdict.claim == "yes"
    assert phrased.mode == "llm" and phrased.verdict.text == GOOD_VERDICT and phrased.verdict.claim == "yes"
    assert phrased.answer == plain.answer.replace(plain.verdict.text, GOOD_VERDICT, 1)
