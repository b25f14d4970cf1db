"""Question classes found by probing the four policies past the dev splits (issue 23, session 14b).

131 probe questions were written from the policy texts alone, over the ten kinds and the four
payers (abbreviations, several payers at once, stated cases, follow-ups), each with my verdict, and
asked through the service: 99 right / 8 wrong / 24 no verdict on the base, 108 / 4 / 19 after. (Seven
of my first verdicts were corrected against the texts: HealthHelp's Krabbe and glioma-vs-lymphoma
are "only if", not "yes"; prostate, breast and cardiac MRS are "no" under brain-only policies;
neonatal HIE is "no" for "every payer"; HealthHelp does list BMI past the scanner's limit; and, as
the dev splits read it, "does it have to be for pre-surgical evaluation?" is answered "only if".)
A second round of 34, written after the fixes in other words: 19 / 3 / 12 on the base, 32 / 0 / 2 after.
Each class that read wrong is tested below in words of its own:
- a payer's initials as the subject of the opening auxiliary and a payer's verb ("Does FB cover …?",
  "Will HH pay …?") name that payer as the addressee, as "FB:" does; "does FB in the orbit …" does not;
- "has P revised it since February 2021?" counts from that month: the entry of that month is the
  one the span starts at, not one made since it ("since 2019" still counts 2019 itself); "did P
  update anything …?" asks any entry of that action ("anything" is no word an entry must hold);
- "does P1 cover X like P2 does?": the payer likened to is the reference, not asked; "the same as
  P2's" still compares the two;
- "must encephalopathy MRS be for prognosis?": a purpose the policy lists as an indication of its own
  (HealthHelp's encephalopathy, for prognosis evaluation) asked as required is asked over that row
  and the rows it is the purpose of (HIE): only if the MRS is for it (it read "it depends: required
  only for HIE, not for its other indications", which the policy does not say);
- "does Cohere need conventional imaging to be inconclusive?": "need X to be Y" asks X (in state Y) as
  required, as "require X to be Y" does;
- "was NIA's guideline originally dated April 2007?", "is Cohere's effective date 10/30/2024?": a
  yes/no question of a policy's own dated line, compared as far as both dates are spelled out (no
  verdict when the question is more precise than the line, or the payer has no such line);
- Medicaid, and a Blue Cross Blue Shield plan of another state ("BCBS Texas"), are payers no indexed
  policy belongs to (not addressed); Blue Cross Blue Shield of Florida stays Florida Blue.
Left: "HealthHelp: spinal cord stimulator, known GBM, biopsy planning. Approve?" reads yes with a
safety flag (I expected "depends"; the flag is shown, so it was left); "does NIA exclude patients with
pacemakers?" reads not addressed (NIA lists no exclusions; "no" would be as true); "is renal
insufficiency a Cohere non-indication?" reads depends (a note, whose text says it is not a
non-indication by itself; a safe verdict); "Cohere: 8yo, suspected mitochondrial disease, MRI
inconclusive" reads depends (the case reader does not take a suspected disorder for "diagnosis and
evaluation of metabolic disorders": the note reader, not this path); literature "does P say …?"
questions still get the clause quoted, no verdict (an overlap of words is no safe yes).
"""

from __future__ import annotations

import pytest
from support.asking import verdict_of as _verdict
from support.no_index import NoIndex

from mrs_assist.answer import dated
from mrs_assist.answer.history import from_entries
from mrs_assist.answer.scope import foreign_payers
from mrs_assist.answer.plan import documents_named, reference_payer
from mrs_assist.config import Settings
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


# --- a payer's initials after the opening auxiliary ----------------------------------------------------
def test_initials_after_does_name_the_payer_asked(services):
    verdict = _verdict(services, "Does FB cover MRS to tell a brain tumor from an abscess?", "yes")
    assert "floridablue-mrs" in verdict.text
    assert "cohere-mrs" not in verdict.text


def test_initials_after_does_name_the_payer_of_a_code_question(services):
    verdict = _verdict(services, "Does FB include +0698T among its codes?", "no")
    assert "nia-brain-mrs" not in verdict.text


def test_initials_with_no_payer_verb_name_no_payer(services):
    # a foreign body, as the lead rule already reads "FB is in the orbit"
    assert documents_named("Does FB in the orbit obscure the view?", services.corpus) == []
    assert documents_named("Will HH pay for MRS in MS?", services.corpus) == ["healthhelp-mrs"]


# --- "since <month> <year>" ------------------------------------------------------------------------------
_ENTRIES = [
    ("p#history.2021-02", "February 2021 Updated background information and references",
     "February 2021 Updated background information and references"),
    ("p#history.2019-07.1", "July 2019 Deleted therapeutic f/u indication", "Deleted therapeutic f/u indication"),
]


def test_since_a_month_does_not_count_the_entry_of_that_month():
    verdict = from_entries("Has P updated its guideline since February 2021?", ["P"], "P", "p", _ENTRIES)
    assert verdict is not None and verdict.claim == "no", verdict
    assert "since february 2021" in verdict.text.lower()


def test_since_an_earlier_month_counts_the_entry():
    verdict = from_entries("Has P updated its guideline since March 2020?", ["P"], "P", "p", _ENTRIES)
    assert verdict is not None and verdict.claim == "yes"


def test_since_a_year_still_counts_that_year():
    verdict = from_entries("Has P updated its guideline since 2021?", ["P"], "P", "p", _ENTRIES)
    assert verdict is not None and verdict.claim == "yes"


def test_anything_asks_any_entry_of_the_action():
    verdict = from_entries("Did P update anything after 2020?", ["P"], "P", "p", _ENTRIES)
    assert verdict is not None and verdict.claim == "yes"
    verdict = from_entries("Has P updated anything since February 2021?", ["P"], "P", "p", _ENTRIES)
    assert verdict is not None and verdict.claim == "no"


def test_since_the_last_revised_month_through_the_service(services):
    verdict = _verdict(services, "Has NIA changed its guideline since February 2021?", "no")
    assert "history.2021-02" in verdict.text  # the entry nearest the span, not the first found


# --- a payer likened to is not asked ---------------------------------------------------------------------
def test_likened_payer_is_not_asked(services):
    verdict = _verdict(services, "Would Florida Blue approve MRS for a TBI patient, the way HealthHelp does?", "no")
    assert "healthhelp-mrs" not in verdict.text


def test_likened_payer_with_as_does(services):
    _verdict(services, "Does NIA cover spectroscopy in multiple sclerosis as HealthHelp does?", "no")


def test_reference_payer_reads_only_a_bare_payer_name(services):
    corpus = services.corpus
    assert reference_payer("Does Cohere list MS like HealthHelp does?", corpus) == "healthhelp-mrs"
    assert reference_payer("Is NIA's list the same as Florida Blue's?", corpus) is None
    assert reference_payer("Does Cohere cover it as well as HealthHelp does?", corpus) is None
    assert reference_payer("Is it covered like a tumor would be?", corpus) is None


# --- a purpose listed as an indication of its own, asked as required --------------------------------------
def test_purpose_of_its_own_row_is_only_if(services):
    verdict = _verdict(services, "HH: must encephalopathy MRS be done for prognosis?", "only_if")
    assert "healthhelp-mrs#indications.3" in verdict.text
    assert "other indications" not in verdict.text



# --- a policy's own dated line -----------------------------------------------------------------------------
def test_original_date_asked_by_month_and_year(services):
    verdict = _verdict(services, "Did NIA originally issue the guideline in April 2007?", "yes")
    assert "nia-brain-mrs#guideline-info.original-date" in verdict.text


def test_a_different_date_is_no(services):
    verdict = _verdict(services, "Is Cohere's effective date 11/30/2024?", "no")
    assert "October 30, 2024" in verdict.text


def test_implementation_year_is_compared_by_year_alone(services):
    _verdict(services, "Was NIA's implementation in 2022?", "yes")


def test_an_original_date_line_in_a_history_section_counts(services):
    verdict = _verdict(services, "Was Cohere's guideline first issued in 2023?", "no")
    assert "August 15, 2024" in verdict.text


def test_both_payers_asked_one_no_answers_it(services):
    _verdict(services, "Were both NIA and Cohere originally issued in 2024?", "no")


def test_more_precise_than_the_line_is_no_verdict():
    lines = {"p": [("p#info.original-date", "Original Date: April 2007")]}
    assert dated.from_dated(dated.asked("Was P originally dated April 12, 2007?"), lines, {"p": "P"}) is None
    assert dated.from_dated(dated.asked("Is P effective in 2007?"), lines, {"p": "P"}) is None  # no such line
    assert dated.asked("When was P originally dated?") is None  # not a yes/no question


# --- payers no indexed policy belongs to ---------------------------------------------------------------------
def test_other_state_blue_plan_and_medicaid_are_foreign():
    assert foreign_payers("Would Blue Cross Blue Shield of Texas pay for MRS?") == ["a non-Florida Blue Cross Blue Shield plan"]
    assert foreign_payers("does BCBS Michigan cover it") == ["a non-Florida Blue Cross Blue Shield plan"]
    assert foreign_payers("Does state Medicaid cover MRS for MS?") == ["Medicaid"]
    assert foreign_payers("Does Blue Cross Blue Shield of Florida cover MRS for MS?") == []


def test_other_state_blue_plan_is_not_addressed(services):
    _verdict(services, "What does BCBS of Illinois say about MRS for epilepsy?", "not_addressed")


# --- "need X to be Y" ------------------------------------------------------------------------------------------
def test_need_something_to_be_in_a_state_is_a_requirement(services):
    verdict = _verdict(services, "Does Cohere need conventional imaging to be inconclusive beforehand?", "yes")
    assert "cohere-mrs#indications.1" in verdict.text


def test_need_something_to_be_for_an_indication_that_does_not_need_it(services):
    _verdict(services, "Does HealthHelp need prior MRI to be indeterminate for TBI?", "no")
