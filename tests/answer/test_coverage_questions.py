"""Coverage questions in ask are answered from the criteria trees, with deciding clauses cited."""

from __future__ import annotations

import pytest

from mrs_assist.answer.coverage import HEADER
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.config import Settings
from mrs_assist.answer.plan import is_coverage_question
from mrs_assist.criteria.questions import indications_in_question
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


class NoRetriever:
    """No index: coverage answers must stand on the criteria alone; other questions fail."""

    def search(self, question, *args, **kwargs):
        from mrs_assist.answer.plan import is_coverage_question

        if is_coverage_question(question):
            raise IndexNotReadyError("no index in this test")
        raise AssertionError("a question that is not about coverage went to retrieval")


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoRetriever())


@pytest.mark.parametrize(
    ("question", "facts"),
    [
        ("Is MRS covered for epilepsy under NIA?", ["epilepsy_presurgical"]),
        ("Which payers cover MRS for MS?", ["multiple_sclerosis"]),
        ("Does NIA cover MRS for glioma grading?", ["glioma_grading"]),
        ("Does Cohere approve MRS for stroke?", ["stroke"]),
        ("Which payers cover MRS to tell recurrent tumor from radiation necrosis?", ["tumor_recurrence_vs_treatment_effect"]),
        ("Is MRS for Canavan disease covered by HealthHelp?", ["metabolic_disorder"]),
        ("Is lumbar disc MRS covered?", ["non_brain_mrs_requested"]),
    ],
)
def test_questions_map_to_indications(services, question, facts):
    assert is_coverage_question(question)
    assert indications_in_question(question, services.catalogue, [r.fact for r in services.matrix.rows]) == facts


@pytest.mark.parametrize(
    ("question", "policy_id", "status_words", "clause_id"),
    [
        ("Is MRS covered for epilepsy under NIA?", "nia-brain-mrs", "experimental/investigational", "nia-brain-mrs#background.other-diseases"),
        ("Does NIA cover MRS for glioma grading?", "nia-brain-mrs", "experimental/investigational", "nia-brain-mrs#background.glioma"),
        ("Does HealthHelp cover MRS for multiple sclerosis?", "healthhelp-mrs", "covered: meets", "healthhelp-mrs#indications.7"),
        ("Does Cohere cover MRS for a leukodystrophy?", "cohere-mrs", "covered only if conventional MRI or CT is inconclusive", "cohere-mrs#indications.1"),
        ("Is MRS covered by Florida Blue for epilepsy?", "floridablue-mrs", "not among the policy's listed indications", "floridablue-mrs#position"),
    ],
)
def test_single_payer_answer_cites_the_deciding_clause(services, question, policy_id, status_words, clause_id):
    response = services.ask(AskRequest(question=question))
    verdict, body = response.answer.split("\n\n", 1)
    assert verdict == response.verdict.text and body.startswith(HEADER)
    assert f"({policy_id})" in response.answer and status_words in response.answer
    assert clause_id in [c.clause_id for c in response.citations]
    assert {c.policy_id for c in response.citations} == {policy_id}
    assert "Related guideline text" not in response.answer  # no index here: criteria alone
    for c in response.citations:
        assert services.corpus.clause(c.clause_id).text == c.text


def test_which_payers_lists_every_guideline(services):
    response = services.ask(AskRequest(question="Which payers cover MRS for MS?"))
    body = response.answer.split("\n\n", 1)[1]  # after the verdict
    lines = [line for line in body.splitlines() if line.startswith("- ")]
    assert [line.split("(")[-1].split(")")[0] for line in lines] == services.corpus.policy_ids
    assert "magellan-mrs-digest" not in response.answer  # literature is never a source of criteria
    healthhelp = next(line for line in lines if "(healthhelp-mrs)" in line)
    assert "covered: meets" in healthhelp


def test_a_question_that_is_not_about_coverage_goes_to_retrieval(services):
    with pytest.raises(AssertionError, match="went to retrieval"):
        services.ask(AskRequest(question="When was the Florida Blue guideline last reviewed?"))


class DownRetriever:
    """The Chroma server is down: retrieval raises what the store raises on a timeout."""

    def search(self, question, *args, **kwargs):
        from mrs_assist.errors import ServiceUnavailableError

        raise ServiceUnavailableError("the Chroma server did not answer within 5 s")


def test_coverage_answer_stands_when_the_chroma_server_is_down():
    response = Services(Settings(), retriever=DownRetriever()).ask(AskRequest(question="Does NIA cover MRS for glioma grading?"))
    verdict, body = response.answer.split("\n\n", 1)
    assert verdict == response.verdict.text and body.startswith(HEADER)
    assert "nia-brain-mrs#background.glioma" in {c.clause_id for c in response.citations}
    assert "Related guideline text" not in response.answer


@pytest.mark.parametrize(
    ("question", "claim", "indications"),
    [
        # "therapy planning" is HealthHelp 4's condition here, not the tumor-planning indication, and the
        # question states both of 4's conditions: covered as asked
        ("For a boy with metachromatic leukodystrophy, would HealthHelp cover spectroscopy if his MRI is "
         "non-diagnostic and therapy planning is needed?", "yes", ["leukodystrophy"]),
        # one condition stated, the other denied: still only if
        ("Is HealthHelp MRS for Krabbe disease covered when therapy planning is needed but the MRI is not indeterminate?",
         "only_if", ["leukodystrophy"]),
        # a word of the purpose asked states no condition ("differentiate a glioma" is no known tumor)
        ("Could HealthHelp approve spectroscopy to tell a glioma apart from demyelination?", "only_if",
         ["tumor_vs_nontumor_lesion"]),
    ],
)
def test_conditions_the_question_states_decide_a_covered_if_cell(services, question, claim, indications):
    assert services.asker.plan(AskRequest(question=question)).indications == indications
    verdict = services.ask(AskRequest(question=question)).verdict
    assert (verdict.claim, verdict.checked) == (claim, True)
