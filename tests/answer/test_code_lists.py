"""Code-list questions beyond "is code X listed": whether a policy's code table is complete
(answered only where the policy's own text says so) and whether it lists any code besides one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import coding
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Is HealthHelp's procedure code table (76390 only) the complete list of billable codes?", "no",
         "healthhelp-mrs#disclaimer.purpose"),
        # the ask is the last sentence
        ("HealthHelp's procedure code table lists only 76390. Is that table meant to be a complete list of the codes "
         "that may apply?", "no", "healthhelp-mrs#disclaimer.purpose"),
        ("Are HealthHelp's listed indications a complete list?", "no", "healthhelp-mrs#disclaimer.purpose"),
        ("Does NIA's brain MRS guideline list any code other than 76390?", "yes", "nia-brain-mrs#guideline-info.cpt-codes"),
        ("Does Cohere list any other code besides 76390?", "no", "cohere-mrs#procedure-codes.76390"),
        # "the only code": the same list, the answer turned round
        ("Is 76390 the only code NIA lists?", "no", "nia-brain-mrs#guideline-info.cpt-codes"),
        ("Does Cohere list only 76390?", "yes", "cohere-mrs#procedure-codes.76390"),
        # the code named with its system ("CPT", "the HCPCS code") between the verb and the number
        ("Do Cohere and Florida Blue both carry CPT 76390 in their code tables?", "yes", "floridablue-mrs#billing.76390"),
        ("Does Florida Blue include the HCPCS code 0698T?", "no", "floridablue-mrs#billing.76390"),
    ],
)
def test_code_list_questions_are_answered_from_the_policys_own_text(services, question, claim, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked
    assert clause in {i for c in verdict.claims for i in c.clause_ids}


def test_a_policy_silent_on_completeness_gets_no_verdict():
    clauses = [SimpleNamespace(policy_id="p", id="p#codes", text="76390 Magnetic resonance spectroscopy")]
    assert coding.from_completeness("codes", coding.incompleteness_statements(clauses), {"p": "P"}) is None
    said = [SimpleNamespace(policy_id="p", id="p#d", text="The tables are complete, and the code list is not exhaustive.")]
    verdict = coding.from_completeness("codes", coding.incompleteness_statements(said), {"p": "P"})
    assert verdict.claim == "no" and "not exhaustive" in verdict.text


def test_completeness_and_other_codes_are_read_from_the_question():
    assert coding.completeness_asked("Is HealthHelp's code table the complete list of billable codes?") == "codes"
    assert coding.completeness_asked("What codes does HealthHelp list?") is None
    assert coding.other_codes_asked("Does NIA list any code other than 76390?") == ("76390", False)
    assert coding.other_codes_asked("Is 76390 the only code NIA lists?") == ("76390", True)
    assert coding.other_codes_asked("Is 0698T listed by NIA?") is None


def test_still_listed_is_no_when_the_policys_own_history_records_it_deleted(services):
    verdict = services.ask(AskRequest(question="Does NIA still cover MRS for therapeutic follow-up?")).verdict
    assert verdict.claim == "no" and verdict.checked
    assert [i for c in verdict.claims for i in c.clause_ids] == ["nia-brain-mrs#history.2019-07.1"]


def test_a_deletion_entry_does_not_decide_what_a_current_clause_still_names():
    from mrs_assist.answer.history import from_history_deleted

    history = [("p#h1", "Deleted tumor f/u indication", "Deleted tumor follow-up indication")]
    assert from_history_deleted("tumor follow-up", "P", "p", history, ["Tumor follow-up after treatment"]) is None
    assert from_history_deleted("tumor follow-up", "P", "p", history, ["Biopsy guidance"]).claim == "no"


def test_is_x_still_in_the_guideline_reads_its_subject(services):
    verdict = services.ask(AskRequest(question=(
        "Is NIA's old therapeutic follow-up indication (MRS to follow treatment response) still in the guideline?"))).verdict
    assert verdict.claim == "no" and "nia-brain-mrs#history.2019-07.1" in verdict.text


def test_an_entry_deletes_only_what_its_deleting_sentence_names():
    from mrs_assist.answer.history import from_history_deleted, still_asked

    entry = ("h", "Added investigational statement for epilepsy. Deleted Medicare exception.",
             "Added investigational statement for epilepsy. Deleted Medicare exception.")
    assert from_history_deleted("investigational statement epilepsy", "P", "p", [entry], []) is None
    # an apostrophe inside a word opens no quote
    # ("that statement" is what the premise names)
    assert still_asked("Florida Blue's update added an investigational statement for Alzheimer's. "
                       "Is that statement still in the guideline?") == "investigational"
