"""Question shapes read from how a reviewer writes (issue 23, found on indep-dev5 in its last
slice): a "70F" patient, "does that get it through?", a foreign payer compared with an indexed
one, "how do they differ?" (how, not whether), "does HealthHelp flag that?", "does a cochlear
implant automatically kill the request?", a yes/no clause after "--", "FB added …" naming Florida
Blue, "that list" meaning what the premise's list held, and the study's region left open only by
a diagnosis' hedge."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import coding, history, quantifier
from mrs_assist.answer.case import named_indications
from mrs_assist.answer.exclusion import EXCLUDE
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def _plan(services, question):
    return services.asker.plan(AskRequest(question=question))


def test_a_70f_states_a_case_and_get_it_through_asks_coverage(services):
    assert _plan(services, "Cohere. 70F, treated meningioma, MRI 6 wks ago read stable. Thoughts?").case_text
    assert _plan(services, "HealthHelp request: MRS of the calf muscle. Does that get it through?").coverage
    assert _plan(services, "Florida Blue. Woman with treated GBM, new enhancement at the resection site. Good to go?").case_text


def test_a_foreign_payer_compared_with_an_indexed_one_is_outside(services):
    assert _plan(services, "Aetna's MRS criteria for glioma grading -- same as Cohere's?").outside
    assert not _plan(services, "Florida Blue commercial (non-Aetna) member: MRS for recurrence vs necrosis?").outside


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Low-grade vs high-grade glioma grading by MRS: how do HealthHelp, Cohere and NIA differ?", None),
        ("Do HealthHelp and Cohere differ on glioma grading?", "differ"),
    ],
)
def test_how_they_differ_asks_each_payer_not_whether(question, kind):
    assert quantifier.quantifier(question) == kind


@pytest.mark.parametrize(
    "question",
    ["HH case, pt has a cochlear implant. Does that automatically kill the MRS request?",
     "Coronary stent placed 3 weeks ago. Does HealthHelp flag that?"],
)
def test_kill_the_request_and_flag_ask_about_an_exclusion(question):
    assert EXCLUDE.search(question)


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        # a bar asked: HealthHelp's list says only that MRI *may* be contraindicated
        ("For a HealthHelp member, does a spinal cord stimulator count as an absolute contraindication?", "no",
         "healthhelp-mrs#contraindications.2"),
        ("HealthHelp: is a cochlear implant listed as a contraindication?", "yes", "healthhelp-mrs#contraindications.2"),
        # "a reason … would deny" asks about an exclusion; Cohere's pregnancy note is at the provider's discretion
        ("Would pregnancy be a reason that Cohere might deny the study?", "no", "cohere-mrs#notes.2"),
    ],
)
def test_an_absolute_bar_or_a_reason_to_deny_asks_about_exclusion(services, question, claim, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert (verdict.claim, verdict.checked) == (claim, True)
    assert clause in [i for c in verdict.claims for i in c.clause_ids]


def test_a_yes_no_clause_after_a_dash_is_a_yes_no_question():
    assert coding.completeness_asked("HH procedure code table -- anything besides 76390, and is that table meant to "
                                     "be exhaustive?") == "codes"


def test_that_list_is_what_the_premise_list_held():
    assert history.still_asked("FB added an investigational list in 2006 (epilepsy, MS, etc.). Is that list still "
                               "in force?") == "investigational"


def test_a_region_left_open_only_by_a_diagnosis_hedge_is_the_request_asked(services):
    question = "MRS of the calf muscle for suspected mitochondrial myopathy."
    read = services.extract_facts(question)
    hedged = SimpleNamespace(value=None, source="notes", evidence=[
        SimpleNamespace(start=0, end=21, modifiers=["possible (suspected)"])])
    named = named_indications(["non_brain_mrs_requested"], question, {**read, "non_brain_mrs_requested": hedged},
                              services.catalogue)
    assert named == {"non_brain_mrs_requested": True}


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("HH case, pt has a cochlear implant. Does that automatically kill the MRS request?", "no"),
        ("Coronary stent placed 3 weeks ago. Does HealthHelp flag that?", "yes"),
        ("HH procedure code table -- anything besides 76390, and is that table meant to be exhaustive?", "no"),
        ("FB added an investigational list in 2006 (epilepsy, Alzheimer's, Parkinson's, MS, etc.). Is that list still "
         "in force?", "no"),
        ("HealthHelp request: MRS of the calf muscle for suspected mitochondrial myopathy (exercise intolerance, CK "
         "mildly up). Mito disorders are on HH's list -- does that get it through?", "no"),
    ],
)
def test_ask_answers_these_shapes(services, question, claim):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked


def test_payer_initials_name_the_payer_only_as_an_addressee(services):
    assert "floridablue-mrs" in _plan(services, "FB added an investigational list in 2006. Is that list still in force?").named
    assert "floridablue-mrs" not in _plan(services, "Pt has a metallic FB. FB is in the left orbit. Cohere ok?").named


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("HH and epilepsy -- is MRS ok for routine epilepsy follow-up, or only pre-surgical?", "only_if"),
        ("HH: is MRS for hepatic encephalopathy covered for any purpose, or only for prognosis?", "only_if"),
        # the other alternative names no purpose the indication is limited to: the coverage claim stands
        ("Does HealthHelp allow MRS for monitoring an already-diagnosed metabolic disorder like creatine deficiency, "
         "or only for making the diagnosis?", "yes"),
        ("Is MRS covered by HealthHelp for MS, or only for tumors?", "yes"),
    ],
)
def test_or_only_a_purpose_answers_only_if_for_that_purpose(services, question, claim):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked


def test_approving_off_the_digest_asks_whether_it_is_a_basis():
    from mrs_assist.answer import said

    assert said.basis_asked("Ordering neuro attached the Magellan digest. Can I approve off that?")
    assert not said.basis_asked("Can I approve MRS for MS under HealthHelp?")


def test_an_unindexed_payer_compared_with_an_indexed_one_is_named_as_not_addressed(services):
    # an unindexed payer compared with an indexed one: that payer is what no policy answers
    for question, payer in (("Would UHC reach the same decision as HealthHelp for MS?", "UnitedHealthcare"),
                            ("Does Humana agree with Cohere about MRS for Canavan disease?", "Humana")):
        assert services.asker.plan(AskRequest(question=question)).outside, question
        verdict = services.ask(AskRequest(question=question)).verdict
        assert verdict.claim == "not_addressed" and f"no indexed policy is {payer}'s" in verdict.text
