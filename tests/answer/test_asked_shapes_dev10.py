"""Question classes found on indep-dev10 (issue 23, session 13), each tested in words of its own:
"can anyone past 21 count as a child?" asks whether the policy allows it at all (yes, for whom its
line names); a transplant decision named in full words is therapy planning; a stated case asked
"same answer under both payers?" combines the payers' outcomes by the quantifier; "is a suspected
tumor enough?" asks of the unconfirmed form of a fact a policy requires known; a bare follow-up
("What about X?") asks the yes/no question before it of another item; a device a policy lists only
when it is not MRI-compatible turns on compatibility when the question does not state it; a
patient's "history of" a condition is no question about the guideline's revisions; a predicate
asked alone ("Payable?") asks it of what was just stated; and "that statement" refers to the
status an earlier sentence reports. Then classes from probes of my own, past dev10: age words
asked to be defined, ages in days or weeks, "acceptable as", codes asked of any payer, a modal ask
before the patient, a purpose stated or denied, exclusion items read past "consider" or in part,
the digest as a basis or a policy, other payers said to follow one, history in the passive, and a
stated case with a device of unstated compatibility."""

from __future__ import annotations

import pytest
from support.asking import ask as _ask
from support.asking import verdict_of as _verdict
from support.no_index import NoIndex

from mrs_assist.answer import coding, history, requirement, terms
from mrs_assist.answer.plan import _last_sentence
from mrs_assist.config import Settings
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


# --- anyone past an age: whether the policy allows it at all ------------------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "Under HealthHelp's age bands, could anybody over 21 be treated as pediatric?",
        "HealthHelp definitions: can a member older than 21 still count as a child?",
    ],
)
def test_anyone_past_the_band_may_count_where_the_policy_says_older_ages_may(services, question):
    verdict = _verdict(services, question, "yes")
    assert "healthhelp-mrs#definitions.pediatric-ages.3.4" in verdict.claims[0].clause_ids


# --- a transplant decision written out in full ----------------------------------------------------------
@pytest.mark.parametrize(
    "notes",
    [
        "The team needs spectroscopy to decide whether to go ahead with an allogeneic bone marrow transplant.",
        "MRS requested to help decide on hematopoietic stem cell transplantation.",
    ],
)
def test_a_transplant_decision_named_in_full_is_therapy_planning(services, notes):
    assert services.extract_facts(notes)["therapy_planning_needed"].value is True


def test_a_case_with_a_transplant_decision_in_full_words_meets_the_leukodystrophy_criterion(services):
    _verdict(services, "HealthHelp: 6-year-old with cerebral ALD, MRI non-diagnostic. The neurologist writes that MRS "
                       "is needed to decide whether a hematopoietic stem cell transplant should be done. Approvable?", "yes")


# --- a stated case, the payers compared ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # one payer lists the condition, the other does not: they differ
        ("Member with multiple sclerosis - would Cohere and HealthHelp come out the same on MRS?", "no"),
        ("Member with multiple sclerosis: do Cohere and HealthHelp differ on MRS?", "yes"),
        # neither lists it: the same answer
        ("Adult with bipolar disorder: NIA vs Florida Blue, same answer on spectroscopy?", "yes"),
        # the other quantifiers over the same per-payer outcomes
        ("Adult with multiple sclerosis: does any payer approve spectroscopy?", "yes"),
        ("Adult with bipolar disorder: is spectroscopy covered by none of the payers?", "yes"),
        ("Adult with multiple sclerosis: is HealthHelp the only payer that would approve spectroscopy?", "yes"),
    ],
)
def test_a_stated_case_asked_same_or_different_combines_the_payers(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert verdict.basis == "checker" and len(verdict.claims) >= 2


def test_a_case_one_payer_leaves_open_is_not_called_the_same_or_different(services):
    # Cohere turns on whether the imaging was inconclusive, which the case does not say
    _verdict(services, "Adult with treated glioblastoma, recurrence versus radiation necrosis in question: "
                       "Cohere vs NIA, same answer?", "depends")


# --- a suspected form of a fact a policy requires known ----------------------------------------------------
def test_the_hedged_subject_is_read_as_the_known_fact():
    hedged = requirement.hedged_subject("Is a probable tumour by itself enough for HealthHelp?")
    assert hedged == ("probable", "known brain tumour")
    assert requirement.hedged_subject("Is a suspected lesion sufficient, or must it be confirmed?")[0] == "suspected"
    assert requirement.hedged_subject("Is an inconclusive MRI enough?") is None


@pytest.mark.parametrize(
    "question",
    [
        "Could a radiologically suspected tumour count for HealthHelp's first criterion?",
        "Under HealthHelp, would a presumed brain tumour be enough for criterion 1 if no biopsy has been done?",
        "HH, MRS to plan a biopsy target: is a possible brain tumor sufficient?",
    ],
)
def test_a_suspected_tumor_does_not_meet_a_known_tumor_criterion(services, question):
    verdict = _verdict(services, question, "no")
    assert "not a known" in verdict.text
    assert any(i.startswith("healthhelp-mrs#indications") for c in verdict.claims for i in c.clause_ids)


def test_an_alternative_that_accepts_a_suspected_mass_still_names_what_else_is_required(services):
    # Cohere accepts a mass known or suspected, but requires inconclusive imaging beside it
    verdict = _verdict(services, "For Cohere, is a suspected brain tumor by itself enough for MRS to grade it?", "no")
    assert "inconclusive" in verdict.text


# --- a bare follow-up asks the question before it again ----------------------------------------------------
def test_a_bare_follow_up_joins_the_yes_no_question_before_it():
    assert _last_sentence("Is X listed by Cohere? How about Y?") == "Is X listed by Cohere? How about Y?"
    assert _last_sentence("Cohere: does X bar the study? And Y?") == "Cohere: does X bar the study? And Y?"
    # not a yes/no question before it: the follow-up stands alone
    assert _last_sentence("What does Cohere say about X? What about Y?") == "What about Y?"


def test_both_items_of_a_follow_up_are_answered(services):
    verdict = _verdict(services, "Does Cohere treat pregnancy as a non-indication for MRS? How about claustrophobia?", "no")
    ids = {i for c in verdict.claims for i in c.clause_ids}
    assert {"cohere-mrs#notes.1", "cohere-mrs#notes.2"} <= ids


def test_follow_up_items_with_different_answers_are_answered_one_by_one(services):
    verdict = _verdict(services, "Under Cohere, is pregnancy a non-indication? And metal clips on an aneurysm?", "depends")
    assert [c.text.split(" — ")[0] for c in verdict.claims] == ["Yes", "No"]
    # the same items stated of one patient: the listed exclusion decides
    _verdict(services, "Cohere: the patient is pregnant and has metal clips on an aneurysm. Is MRS excluded?", "yes")


# --- a device listed only when not MRI-compatible ------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Under Cohere, does an implanted defibrillator exclude the study?", "depends"),
        ("Cohere: member has a cardiac pacemaker - non-indication for spectroscopy?", "depends"),
        # compatibility stated either way decides it
        ("Under Cohere, does a defibrillator documented as MR-unsafe exclude the study?", "yes"),
        ("Under Cohere, does an MR-conditional defibrillator exclude the study?", "no"),
        # an item listed without any compatibility qualifier still excludes outright
        ("Under Cohere, do metal clips on an aneurysm exclude the study?", "yes"),
    ],
)
def test_a_device_listed_only_when_incompatible_turns_on_compatibility(services, question, claim):
    _verdict(services, question, claim)


# --- a patient's medical history is not the guideline's ------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "history_asked"),
    [
        ("Cohere: must a 3-year-old with a history of perinatal HIE still be a neonate for MRS?", False),
        ("HealthHelp: adult with a remote history of TBI, is MRS covered?", False),
        ("What is the revision history of NIA's MRS guideline?", True),
        ("When did the history section of Florida Blue's guideline last change?", True),
    ],
)
def test_a_patients_history_of_a_condition_asks_no_revision_history(services, question, history_asked):
    assert ("history" in services.asker.plan(AskRequest(question=question)).intents) is history_asked


def test_a_neonatal_condition_named_in_a_childs_history_is_answered_as_a_requirement(services):
    verdict = _verdict(services, "Cohere: must a 3-year-old with a history of perinatal HIE still be a neonate for MRS?", "no")
    assert "cohere-mrs#indications.2.b.1" in verdict.claims[0].clause_ids


# --- a predicate asked alone --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "Florida Blue: the scan came out technically limited and the center plans another study. Payable?",
        "Florida Blue: the scan came out technically limited and the center plans another study. Billable then?",
        "Florida Blue: a redo because contrast enhancement was poor on the first exam - reimbursable?",
        # a stated case about the repeat itself, the payer named
        "Florida Blue: the outside MRS had poor contrast, so the center will repeat it. Covered?",
    ],
)
def test_a_predicate_asked_alone_asks_it_of_what_was_stated(services, question):
    verdict = _verdict(services, question, "no", checked=False)
    assert verdict.claims[0].clause_ids == ["floridablue-mrs#reimbursement.2"]


def test_a_case_with_a_limited_first_study_but_no_repeat_is_still_the_checkers(services):
    verdict = _ask(services, "Florida Blue: known GBM, MRI technically limited, MRS to tell recurrence from necrosis. Covered?").verdict
    assert verdict.basis == "checker"


# --- "that statement" refers to the status an earlier sentence reports ---------------------------------------
def test_that_statement_refers_to_the_status_reported_before_it():
    q = "In 2006 Florida Blue labeled MRS for Parkinson's and bipolar disorder as experimental. Is that language still current?"
    assert history.still_asked(q) == "investigational"
    # the noun itself in an earlier sentence still wins
    asked = history.still_asked("NIA once had a cystic lesions indication. Is that indication still in the guideline?")
    assert asked == "cystic lesions"


def test_a_reported_status_statement_since_deleted_is_no_longer_current(services):
    verdict = _verdict(services, "In 2006 Florida Blue labeled MRS for Parkinson's and bipolar disorder as experimental. "
                                 "Is that language still current?", "no", checked=False)
    assert verdict.claims[0].clause_ids == ["floridablue-mrs#history.2020-03-15"]


# --- a definition asked of an age word ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        # a band the policy writes for the word is its definition, though no clause id names it
        ("Is infancy defined anywhere in HealthHelp?", "yes", "healthhelp-mrs#definitions.pediatric-ages.1"),
        # a word the policy never uses: no, with the age words it does define
        ("Does HealthHelp define newborn?", "no", "healthhelp-mrs#definitions.pediatric-ages.1"),
        # an open "how": the band, quoted
        ("How does HealthHelp define adolescence?", "quote", "healthhelp-mrs#definitions.pediatric-ages.3"),
    ],
)
def test_an_age_word_asked_to_be_defined_is_answered_from_the_bands(services, question, claim, clause):
    verdict = _verdict(services, question, claim)
    assert clause in {i for c in verdict.claims for i in c.clause_ids}


def test_a_definition_question_never_goes_to_the_checker(services):
    # NIA writes no definitions and never uses the word: no checker verdict about its criteria
    with pytest.raises(IndexNotReadyError):  # retrieval answers it (this service has no index)
        _ask(services, "Does NIA define neonate?")


# --- an age in weeks or days is a patient ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "Cohere: 12-day-old with birth asphyxia HIE, MRI indeterminate. Approvable?",
        "Does Cohere cover spectroscopy in a 3-week-old with hypoxic ischemic encephalopathy when the MRI is equivocal?",
    ],
)
def test_an_age_in_days_or_weeks_states_a_case(services, question):
    assert services.asker.plan(AskRequest(question=question)).case_text
    _verdict(services, question, "yes")


# --- a study asked as acceptable for the conventional imaging ---------------------------------------------------
def test_a_study_acceptable_as_the_conventional_imaging_is_a_counts_as_question():
    assert terms.counts_as("For Cohere, would a non-contrast CT be acceptable as the conventional imaging?") == (
        ["CT"], ["conventional", "imaging"])
    assert terms.counts_as("Is a PET okay as conventional imaging under Cohere?") == (["PET"], ["conventional", "imaging"])


# --- a code asked of the payers together --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # "payer" is no word of payment: still a code-list question
        ("Does any payer list 70551?", "no"),
        ("Is +0698T listed by any of the payers?", "yes"),
        ("Do none of the payers list 0698T?", "no"),
    ],
)
def test_a_code_asked_of_any_payer_is_one_verdict_for_them_all(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert len(verdict.claims) == 4


def test_payer_is_not_a_payment_word():
    assert coding.codes_asked("Is 70551 listed as a spectroscopy code by any payer?") == ["70551"]
    assert coding.codes_asked("Does any payer pay for 76390 twice?") == []


# --- a modal ask before the patient, and a condition stated as what the study is for ---------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # "would <payer> approve" no longer makes the patient it describes hypothetical
        ("Would Cohere authorize spectroscopy for a 10-day-old with hypoxic ischemic encephalopathy if the MRI is equivocal?",
         "yes"),
        ("Would HealthHelp cover MRS for a toddler with Leigh syndrome?", "yes"),
        # the planning the study is asked for is stated; the MRI condition is stated too
        ("If the brain MRI is indeterminate, would HealthHelp authorize MRS for Krabbe disease treatment planning?", "yes"),
    ],
)
def test_a_modal_ask_and_a_stated_purpose_leave_no_condition_open(services, question, claim):
    _verdict(services, question, claim)


def test_a_purpose_stated_is_dropped_from_the_conditions_left_open(services):
    verdict = _verdict(services, "Does HealthHelp cover MRS for Krabbe disease treatment planning?", "only_if")
    assert "planning" not in verdict.text.split(" — ")[0] and "inconclusive" in verdict.text.split(" — ")[0]


def test_a_word_the_question_asks_about_is_not_a_condition_it_states(services):
    # "limited to neonates?" asks the condition; it stays among the conditions
    verdict = _verdict(services, "Does Cohere cover MRS for HIE, and is that limited to neonates?", "only_if")
    assert "a neonate" in verdict.text.split(" — ")[0]


# --- exclusion questions read past the payer's verb, a note named in part, and lists asked of ------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # "consider" read as a plan hid the device from the note reader
        ("Does HealthHelp consider an insulin pump a contraindication?", "yes"),
        # a note named without the contrast it joins: it turns on that, and is no non-indication by itself
        ("Under Cohere, is chronic kidney disease a reason to deny spectroscopy?", "depends"),
    ],
)
def test_an_exclusion_item_is_read_past_the_payers_verb_and_in_part(services, question, claim):
    _verdict(services, question, claim)


def test_a_policy_with_no_lists_asked_for_its_contraindications_does_not_address_it(services):
    verdict = _ask(services, "Does NIA name any contraindications to spectroscopy?").verdict
    assert verdict.claim == "not_addressed" and "lists no exclusions" in verdict.text


# --- the one purpose a policy covers a condition for, denied ------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("HealthHelp - spectroscopy for toxic encephalopathy to make the diagnosis, not for prognosis: covered?", "no"),
        ("Does HealthHelp cover MRS for metabolic encephalopathy?", "only_if"),  # purpose unsaid: only if
        ("Does HealthHelp cover MRS to judge the prognosis of hepatic encephalopathy?", "yes"),
    ],
)
def test_a_purpose_the_question_denies_rules_the_cell_out(services, question, claim):
    _verdict(services, question, claim)


# --- literature named as a basis or as a policy, another payer said to follow one, "both require" ----------------
@pytest.mark.parametrize(
    "question",
    [
        "May a reviewer deny spectroscopy on the strength of citing the Magellan digest?",  # no topic named
        "Is the Magellan MRS digest a clinical policy?",
    ],
)
def test_the_digest_is_no_policy_and_no_basis(services, question):
    verdict = _verdict(services, question, "no", checked=False)
    assert "literature" in verdict.text


@pytest.mark.parametrize("question", ["Does Humana follow the Cohere criteria for MRS?", "Has Anthem adopted NIA's brain MRS policy?"])
def test_another_payer_said_to_follow_an_indexed_one_is_not_addressed(services, question):
    verdict = _ask(services, question).verdict
    assert verdict.claim == "not_addressed" and "no indexed policy is" in verdict.text


def test_both_payers_asked_whether_they_require_a_condition(services):
    verdict = _verdict(services, "Do HealthHelp and Cohere both require an indeterminate MRI before spectroscopy?", "no")
    assert verdict.text.startswith("No — not every payer requires")


def test_a_requirement_for_some_indications_opens_with_the_claim_it_makes(services):
    verdict = _verdict(services, "Does HealthHelp require a non-diagnostic MRI before MRS?", "depends")
    assert verdict.text.startswith("It depends on the indication")


# --- history asked in the passive, and of a program the guideline hands off -----------------------------------------
@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Was a multiple sclerosis indication added to HealthHelp's guideline?", "yes", "healthhelp-mrs#summary-of-changes.1.e"),
        ("Was NIA's tumor versus non-tumor indication removed?", "no", "nia-brain-mrs#history.2019-07.2"),
        # the FEP named in a question about Florida Blue's own history: the history answers
        ("Did Florida Blue add a program exception for FEP members in 2009?", "yes", "floridablue-mrs#history.2009-07-01"),
    ],
)
def test_history_asked_in_the_passive_or_of_a_handed_off_program(services, question, claim, clause):
    verdict = _verdict(services, question, claim, checked=False)
    assert clause in verdict.claims[0].clause_ids


def test_a_state_in_a_past_year_is_not_read_as_an_event():
    # the entries record events; "was it investigational in 2004?" asks a state they cannot date
    assert not history.past_asked("Was MRS investigational under Florida Blue in 2004?")
    assert history.past_asked("Was the epilepsy statement added by Florida Blue in 2006?")


def test_a_follow_up_naming_another_payer_asks_the_payers_not_the_items(services):
    verdict = _ask(services, "Is an insulin pump a contraindication under HealthHelp? What about Cohere?").verdict
    assert verdict.text.startswith("Whether it excludes MRS, by payer:")
    assert {c.clause_ids[0].split("#")[0] for c in verdict.claims} == {"healthhelp-mrs", "cohere-mrs"}


@pytest.mark.parametrize(
    "question",
    [
        # "it" / "that" alone: the noun of the sentence before, else the status it reports
        "NIA used to have a therapeutic follow-up indication. Is it still there?",
        "Florida Blue used to treat bipolar disorder as experimental. Is that still the case?",
    ],
)
def test_a_bare_pronoun_refers_to_what_the_sentence_before_named(services, question):
    verdict = _verdict(services, question, "no", checked=False)
    assert "deleted" in verdict.text


# --- a stated case with a device the policy lists only when not MRI-compatible --------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Cohere: known glioblastoma after radiation, MRI inconclusive for recurrence versus necrosis; the patient "
         "has an implanted defibrillator. Approvable?", "depends"),
        ("Cohere: known glioblastoma after radiation, MRI inconclusive for recurrence versus necrosis; the patient "
         "has an implanted defibrillator documented as MR-unsafe. Approvable?", "no"),
    ],
)
def test_a_case_with_a_device_of_unstated_compatibility_turns_on_it(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert any("cohere-mrs#non-indications.3" in c.clause_ids for c in verdict.claims)
