"""History questions answered from the policy's own entries (issue 23, history kind): "did P
add / delete / call … (in 2019)?" yes from the entry that holds every asked word, no when those
entries are dated another year; "is MRS still investigational?" and "is that statement still in
the guideline?" (what the premise names) no where an entry records it deleted."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import history
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services

ENTRIES = [
    ("p#history.2019-07.1", "July 2019 | Deleted therapeutic follow-up indication", "Deleted therapeutic f/u indication"),
    ("p#history.2006-07-15", "07/15/06 Added investigational statement for non-covered conditions: epilepsy, multiple sclerosis",
     "07/15/06 Added investigational statement for non-covered conditions: epilepsy, multiple sclerosis"),
    ("p#summary.3", "Mid-cycle update: added pediatric indications", "Mid-cycle update: added pediatric indications"),
]


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Did P delete the therapeutic follow-up indication?", "yes", "p#history.2019-07.1"),
        ("Did P remove the therapeutic follow-up indication in 2019?", "yes", "p#history.2019-07.1"),
        ("Did P delete the therapeutic follow-up indication in 2020?", "no", "p#history.2019-07.1"),  # dated 2019
        ("Did P once list MS among non-covered investigational conditions?", "yes", "p#history.2006-07-15"),
        ("Has P added pediatric indications?", "yes", "p#summary.3"),
        # a span of years, not one year
        ("Has P taken out the therapeutic follow-up indication since 2015?", "yes", "p#history.2019-07.1"),
        ("Did P drop the therapeutic follow-up indication before 2010?", "no", "p#history.2019-07.1"),
    ],
)
def test_a_did_question_is_answered_from_the_entry_holding_its_words(question, claim, clause):
    verdict = history.from_entries(question, ["P"], "P", "p", ENTRIES)
    assert verdict.claim == claim and [i for c in verdict.claims for i in c.clause_ids] == [clause]


@pytest.mark.parametrize(
    "question",
    [
        "Did P delete the glioma grading indication?",  # no entry holds it: not a no
        "Did P add pediatric indications in 2023?",  # the only entry holding it is undated
        "What did P delete in July 2019?",  # no yes/no question
        "Did the patient have an MRI in 2019?",  # no action or status asked
    ],
)
def test_no_history_verdict_without_an_entry_of_that_shape(question):
    assert history.from_entries(question, ["P"], "P", "p", ENTRIES) is None


def test_still_reads_a_status_and_what_that_statement_refers_to():
    assert history.still_asked("Is MRS still investigational under Florida Blue?") == "investigational"
    assert history.still_asked("P's 2006 update added an investigational statement for epilepsy. "
                               "Is that statement still in the current guideline?") == "investigational"
    assert history.still_asked("Is that still in the guideline?") == ""


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Is MRS still investigational under Florida Blue?", "no", "floridablue-mrs#history.2020-03-15"),
        ("Florida Blue's 2006 update added an investigational statement for epilepsy, MS, Alzheimer's, etc. Is that "
         "statement still in the current guideline?", "no", "floridablue-mrs#history.2020-03-15"),
        ("Did NIA delete the therapeutic follow-up indication in 2019?", "yes", "nia-brain-mrs#history.2019-07.1"),
        ("Did Florida Blue once list MS among non-covered investigational conditions for MRS?", "yes",
         "floridablue-mrs#history.2006-07-15"),
        # a was / were question marked as about the past is a history question, not today's coverage
        ("Was Parkinson's disease at one time named by Florida Blue as investigational for spectroscopy?", "yes",
         "floridablue-mrs#history.2006-07-15"),
        # the asking sentence names a condition ("a child") but asks what the policy did
        ("Did HealthHelp's 2024 update add an indication for ataxia in a child?", "yes",
         "healthhelp-mrs#summary-of-changes.1.a"),
        # "switched … from investigational to medically necessary" is a revision
        ("Did Florida Blue switch its MRS position from investigational to medically necessary in 2005?", "yes",
         "floridablue-mrs#history.2005-10-15"),
    ],
)
def test_ask_answers_history_from_the_policys_entries(services, question, claim, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked and [i for c in verdict.claims for i in c.clause_ids] == [clause]


@pytest.mark.parametrize(
    "question",
    [
        # where it was listed ("as a use") and the document's part ("paragraph") are not what was listed
        "Is NIA still listing cystic lesions versus cystic metastasis as an MRS use?",
        "Is the NIA cystic-lesions passage still in force?",
    ],
)
def test_struck_language_asked_in_other_words_is_no_longer_listed(services, question):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == "no" and "struck" in verdict.text and verdict.checked


def test_was_is_a_past_question_only_with_a_past_marker():
    assert history.past_asked("Was epilepsy ever called investigational by P?")
    assert not history.past_asked("Was the MRI inconclusive, and is MRS covered by P?")
