"""Coding and billing questions a clause answers by its shape (issue 23, coding kind): a code
asked another way ("billed with", "use CPT"), a names list asked without quotes, a clause that
says whose responsibility something is, and how-paid / diagnosis-code questions the policies
never set (not addressed)."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import coding, said, scope
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest, Citation
from mrs_assist.service import Services

PROVIDER = [("fb", "fb#reimbursement.2", "Re-imaging due to a technically limited exam is the responsibility of the imaging provider",
             "Re-imaging due to a technically limited exam", "imaging provider")]


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


@pytest.mark.parametrize(
    ("question", "codes"),
    [
        ("Is MRS billed with CPT 70553 under Florida Blue?", ["70553"]),
        ("Do all four policies use CPT 76390 for MRS?", ["76390"]),
        ("Can 76390 be billed on the same day as a brain MRI (70553) under NIA?", []),  # a same-day rule, not a list
        ("Is 76390 subject to a multiple procedure payment reduction under Florida Blue?", []),
        ("Does NIA explain what +0698T is used for?", []),
    ],
)
def test_a_code_asked_another_way_is_a_code_list_question(question, codes):
    assert coding.codes_asked(question) == codes


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Will Florida Blue reimburse the re-scan after a technically limited exam?", "no"),
        ("Can the imaging provider bill Florida Blue for re-imaging after a technically limited exam?", "no"),
        ("Does the imaging provider bear the cost of re-imaging after a technically limited exam?", "yes"),
        ("Is re-imaging after a technically limited exam the imaging provider's responsibility?", "yes"),
    ],
)
def test_whose_responsibility_answers_who_pays(question, claim):
    verdict = said.from_responsibility(question, PROVIDER, {"fb": "FB"})
    assert verdict.claim == claim and "[fb#reimbursement.2]" in verdict.text


@pytest.mark.parametrize(
    "question",
    [
        "Who is responsible for re-imaging after a technically limited exam?",  # asks for a party
        "Will Florida Blue reimburse MRS for a brain tumor?",  # shares nothing with the re-imaging
    ],
)
def test_no_responsibility_verdict_without_a_yes_no_question_on_that_thing(question):
    assert said.from_responsibility(question, PROVIDER, {"fb": "FB"}) is None


def test_a_names_list_answers_a_name_used_without_quotes():
    items = [Citation(clause_id=f"p#other.{i}", policy_id="p", section="Other", text=t, score=1.0)
             for i, t in enumerate(["NMR (nuclear magnetic resonance) spectroscopy", "Magnetic resonance spectroscopy imaging (MRSI)"])]
    assert said.listed_names("Does P list NMR spectroscopy as another name for MRS?", items) == ["NMR spectroscopy"]
    assert said.listed_names("Is MRSI reported as MRS?", items) == ["MRSI"]
    assert said.names_asked("Is MRSI reported as MRS?") and not said.names_asked("Is MRSI covered?")


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Does Florida Blue list NMR spectroscopy as another name for MRS?", "yes", "floridablue-mrs#other.2"),
        ("Florida Blue: the first study was technically limited and has to be redone. Will Florida Blue reimburse the "
         "re-scan?", "no", "floridablue-mrs#reimbursement.2"),
    ],
)
def test_ask_answers_billing_questions_from_the_clause(services, question, claim, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked and clause in [i for c in verdict.claims for i in c.clause_ids]


@pytest.mark.parametrize(
    "question",
    [
        "Does HealthHelp's guideline specify how 76390 is reimbursed?",
        "Is MRS payable as an add-on to MRI under HealthHelp?",
        "How many units of 76390 can be billed per day under Cohere?",
        "Which ICD-10 codes does Cohere accept for MRS?",
    ],
)
def test_how_it_is_paid_and_diagnosis_codes_are_not_set_by_the_policies(question):
    assert scope.unset_topics(question)


def test_a_what_or_when_question_naming_a_listed_name_is_no_yes_no_question():
    items = [Citation(clause_id="p#other.1", policy_id="p", section="Other", text="Magnetic resonance spectroscopy imaging (MRSI)", score=1.0)]
    assert said.listed_names("What other names does P accept for MR spectroscopy, e.g. 1H-MRS or MRSI?", items) == []
    assert said.listed_names("when were MRSI and the other names for MRS added to the guideline", items) == []
