"""Question classes found on indep-dev11 (issue 23, session 14), each tested in words of its own:
"recognize" asks coverage, and so does a payer named before a bare "MRS to <purpose>?"; an absolute
adverb before a denied coverage word ("automatically not appropriate", "outright ineligible") asks
whether an item bars the study; a study "read / reported as diagnostic" or "not indeterminate" is a
conclusive study in a stated case; "require that the tumor is known" / "require the mass to be
diagnosed" asks for the condition as known; a criterion named by what it is about ("the brain-tumor
criterion") is asked over as its number would be; and "does the indication limit / restrict the
study to neonates?" asks whether the policy sets an age limit. Then classes from probes of my own,
past dev11 (each a no verdict or a wrong one before): what the patient has, put as the ask's
condition; a known tumor without "brain"; literature used as a payer's criteria; the code set named
beside a code; "a reason for <payer> to deny"; a defined word qualifying a study; "in its latest
revision"; a purpose asked to be required; "automatically reject"; the study named alone after a
case; one care setting asked whether allowed; "at least one payer"."""

from __future__ import annotations

import pytest
from support.asking import verdict_of as _verdict
from support.no_index import NoIndex

from mrs_assist.answer import requirement
from mrs_assist.answer.plan import AGE_LIMIT, stated_case
from mrs_assist.config import Settings
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


# --- coverage asked in other words: "recognize", or a payer and a bare "MRS to <purpose>?" ----------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does HealthHelp recognize multiple sclerosis as a reason for spectroscopy?", "yes"),
        ("Does NIA recognise epilepsy as a use of MRS?", "no"),
        ("Is grading a glioma a use Florida Blue recognizes for spectroscopy?", "no"),
        ("NIA — MRS to separate recurrent tumor from radiation necrosis?", "yes"),
        ("Florida Blue: MRS to work up epilepsy before surgery?", "no"),
        ("HealthHelp; spectroscopy to monitor multiple sclerosis?", "yes"),
        # a condition the policy puts on the purpose stays open
        ("Cohere: spectroscopy to tell a low-grade from a high-grade glioma?", "only_if"),
    ],
)
def test_coverage_asked_in_other_words(services, question, claim):
    _verdict(services, question, claim)


def test_recognized_by_every_payer_asks_each_of_them(services):
    verdict = _verdict(services, "Do all four payers recognize spectroscopy in telling a recurrent tumor apart from "
                                 "radiation injury?", "yes")
    assert {i.split("#")[0] for c in verdict.claims for i in c.clause_ids} == {
        "cohere-mrs", "floridablue-mrs", "healthhelp-mrs", "nia-brain-mrs"}


# --- an absolute adverb before a denied coverage word asks for a bar ----------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "HealthHelp: the member had a coronary stent placed 3 weeks ago. Is MRS categorically inappropriate?",
        "HealthHelp member with an insulin pump. Would the study be automatically not approved?",
    ],
)
def test_an_item_a_policy_only_flags_is_no_automatic_bar(services, question):
    verdict = _verdict(services, question, "no")
    assert "healthhelp-mrs#contraindications" in " ".join(i for c in verdict.claims for i in c.clause_ids)


def test_an_item_a_policy_lists_as_a_non_indication_is_an_outright_bar(services):
    _verdict(services, "Cohere member, pacemaker that is not MRI-conditional. Is spectroscopy outright ineligible?", "yes")


# --- a stated case: a study read as diagnostic, or not indeterminate, is conclusive -------------------
@pytest.mark.parametrize(
    ("shorthand", "reads"),
    [
        ("Her MRI was reported as diagnostic.", "MRI was diagnostic"),
        ("The brain MRI is interpreted as diagnostic of MLD.", "MRI was diagnostic"),
        ("MRI not indeterminate.", "MRI was diagnostic"),
    ],
)
def test_a_conclusive_study_is_written_as_the_note_reader_reads_it(services, shorthand, reads):
    case = stated_case(f"HealthHelp: 9-year-old with metachromatic leukodystrophy. {shorthand} Covered?", services.corpus)
    assert reads in case


@pytest.mark.parametrize(
    "question",
    [
        "HealthHelp: 9-year-old with metachromatic leukodystrophy; his brain MRI was interpreted as diagnostic. "
        "The team wants MRS to plan therapy. Approvable?",
        "HealthHelp: 9-year-old with metachromatic leukodystrophy; brain MRI not indeterminate. "
        "The team wants MRS to plan therapy. Approvable?",
    ],
)
def test_a_leukodystrophy_with_a_conclusive_mri_does_not_meet_the_criterion_that_needs_it_inconclusive(services, question):
    verdict = _verdict(services, question, "no")
    assert "healthhelp-mrs#indications.4" in verdict.claims[0].clause_ids


# --- "require that X is known": the condition, as known ------------------------------------------------
@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Does the policy require that the tumor is already known?", "known brain tumor"),
        ("Would they require the lesion to be diagnosed first?", "known brain lesion"),
    ],
)
def test_a_requirement_that_something_is_known_asks_for_it_as_known(question, words):
    assert requirement.requirement_words(question) == words


def test_a_requirement_to_be_known_is_a_requirement_question(services):
    # over every indication: only the tumor ones require it
    _verdict(services, "Does HealthHelp require the tumor to be known?", "depends")


# --- a criterion named by what it is about -------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Does HealthHelp's brain-tumor criterion require X?", ["brain", "tumor"]),
        ("Under the leukodystrophies criterion, is X needed?", ["leukodystrophy"]),
        ("Does HealthHelp's first criterion require X?", []),
        ("Is that the same indication?", []),
    ],
)
def test_a_criterion_named_by_its_subject(question, words):
    assert requirement.criterion_subject(question) == words


def test_a_subject_names_one_criterion_only_when_one_criterion_holds_its_words():
    criteria = {"1": "Brain tumors are known and ANY of the following:", "2": "Epilepsy for pre-surgical evaluation",
                "3": "Brain abscess versus tumor"}
    assert requirement.subject_criterion(["epilepsy"], criteria) == "2"
    assert requirement.subject_criterion(["brain", "tumor"], criteria) is None  # two criteria hold both words
    assert requirement.subject_criterion(["stroke"], criteria) is None


@pytest.mark.parametrize(
    "question",
    [
        "Does HealthHelp's brain-tumor criterion require that the tumor is already known?",
        "For its tumor criterion, does HealthHelp require the tumor to have been diagnosed?",
    ],
)
def test_a_requirement_asked_of_the_criterion_its_words_name(services, question):
    verdict = _verdict(services, question, "yes")
    assert "criterion 1" in verdict.text


# --- "limit the study to neonates" asks an age limit -----------------------------------------------------
@pytest.mark.parametrize(
    ("question", "limits"),
    [
        ("Does the HIE item limit spectroscopy to newborns?", True),
        ("Does the indication restrict the study to patients who are still infants?", True),
        ("Does Cohere confine MRS to adults?", True),
        # the bare passive asks the condition of a coverage asked beside it, not a limit
        ("Does Cohere cover MRS for HIE, and is that limited to neonates?", False),
        ("Is MRS limited to brain imaging?", False),
    ],
)
def test_limiting_the_study_to_an_age_group_asks_an_age_limit(question, limits):
    assert bool(AGE_LIMIT.search(question)) is limits


@pytest.mark.parametrize(
    "question",
    [
        "Does Cohere's 'neonatal HIE' indication limit spectroscopy to babies who are still newborns?",
        "Does the neonatal hypoxic-ischemic encephalopathy item in Cohere restrict MRS to neonates when it is ordered?",
    ],
)
def test_an_indication_named_by_its_period_sets_no_age_limit_at_the_request(services, question):
    _verdict(services, question, "no")


# --- probes past dev11: what the patient has, put as the condition of the ask ---------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Under Cohere, could spectroscopy be authorized if the patient has an aneurysm clip?", "no"),
        # pregnancy is only a note for the provider: the criteria stay open
        ("Would Cohere still approve MRS if the member is pregnant?", "depends"),
    ],
)
def test_what_the_patient_has_under_if_is_the_case_asked(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert verdict.basis == "checker"


def test_the_ask_is_dropped_and_the_patients_condition_kept(services):
    case = stated_case("Cohere: can MRS be approved if the patient has aneurysm clips?", services.corpus)
    assert case == "the patient has aneurysm clips."


# --- probes past dev11: a payer named only as whose criteria a document would be -------------------------
@pytest.mark.parametrize(
    "question",
    [
        "Could I apply the Magellan digest as Cohere's approval criteria for a spinal cord lesion?",
        "May reviewers use the Magellan article as NIA's rules for spectroscopy?",
    ],
)
def test_literature_used_as_a_payers_criteria_is_no(services, question):
    verdict = _verdict(services, question, "no")
    assert all(i.startswith("magellan-mrs-digest#") for c in verdict.claims for i in c.clause_ids)


# --- probes past dev11: "a reason for <payer> to deny" asks for a bar ---------------------------------------
def test_a_reason_for_the_payer_to_deny_asks_for_a_bar(services):
    verdict = _verdict(services, "Would a spinal cord stimulator be grounds for HealthHelp to refuse spectroscopy?", "no")
    assert "healthhelp-mrs#contraindications.2" in verdict.claims[0].clause_ids


# --- probes past dev11: a defined word asked with the study it qualifies -----------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Is there a HealthHelp definition of a non-diagnostic scan?", "yes"),
        ("Does HealthHelp define an indeterminate MRI?", "yes"),
    ],
)
def test_a_defined_word_qualifying_a_study_is_defined(services, question, claim):
    _verdict(services, question, claim)


def test_a_defined_noun_with_a_study_word_is_no_definition_of_that_study():
    from mrs_assist.answer.definition import _defines
    assert not _defines("healthhelp-mrs#definitions.glioma", "Glioma is a type of tumor that occurs in the brain.", "glioma scan")
    assert _defines("healthhelp-mrs#definitions.non-diagnostic", "Non-diagnostic is a result that does not lead to a "
                                                                  "confirmed diagnosis.", "non-diagnostic study")


# --- probes past dev11: a purpose asked to be required, with no coverage word -------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "For HealthHelp, does hepatic encephalopathy have to be for prognosis?",
        "Under HealthHelp must seizure spectroscopy be pre-surgical?",
    ],
)
def test_a_purpose_asked_to_be_required_is_the_coverage_it_limits(services, question):
    verdict = _verdict(services, question, "only_if")
    assert "Only if the MRS is for" in verdict.text


# --- probes past dev11: "automatically reject / refuse" asks for a bar --------------------------------------
def test_an_automatic_refusal_asks_for_a_bar(services):
    verdict = _verdict(services, "Would Cohere automatically refuse spectroscopy for a claustrophobic member?", "no")
    assert "cohere-mrs#notes.1" in verdict.claims[0].clause_ids


# --- probes past dev11: a care setting beside a named indication leaves the criteria to answer ----------------
def test_a_setting_beside_a_named_indication_leaves_the_criteria_to_answer(services):
    verdict = _verdict(services, "Under HealthHelp, is spectroscopy for multiple sclerosis covered for inpatients?", "yes")
    assert "healthhelp-mrs#indications.7" in verdict.claims[0].clause_ids


# --- probes past dev11: a setting asked of every payer, where only some name one -------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # one payer names the setting, the others none: it depends on the payer
        ("Under every payer, may spectroscopy be done for outpatients?", "depends"),
        # one payer names both settings: not every payer restricts it
        ("Do all four payers limit MRS to the outpatient setting?", "no"),
    ],
)
def test_a_setting_asked_of_every_payer_answers_for_each(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert {i.split("#")[0] for c in verdict.claims for i in c.clause_ids} == {
        "cohere-mrs", "floridablue-mrs", "healthhelp-mrs", "nia-brain-mrs"}


# --- probes past dev11: an example a listed item's own clause gives, which the note reader does not know -------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # Cohere lists implantable devices only when incompatible; the question does not say
        ("Under Cohere, are cardiac valves a non-indication for spectroscopy?", "depends"),
        ("Does Cohere treat a non-conditional cardiac valve as a non-indication?", "yes"),
    ],
)
def test_an_example_the_clause_gives_names_its_item(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert "cohere-mrs#non-indications.3" in verdict.claims[0].clause_ids


def test_an_example_is_named_in_the_singular_or_plural_and_only_as_a_whole():
    from mrs_assist.answer.exclusion import ListedItem, named_examples
    item = ListedItem("device", "a device", ("p#x.3",), text="Incompatible devices (e.g., pacemakers, cardiac valves); OR")
    assert named_examples("Is a cardiac valve listed?", [item]) == {"device": True}
    assert named_examples("Is a valve listed?", [item]) == {}


# --- probes past dev11 whose verdict alone is checked, one class an id -------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # a known tumor is a known brain tumor
        pytest.param("Is a known tumor required by HealthHelp for biopsy localization?", "yes", id="known-tumor-in-the-brain"),
        # only its tumor indications require it
        pytest.param("Does HealthHelp require a diagnosed tumor?", "depends", id="known-tumor-in-the-brain"),
        # the code set named beside the code is no kind of code
        pytest.param("Under HealthHelp, is 76390 the procedure code for spectroscopy?", "yes", id="code-set-named"),
        pytest.param("Is 0698T the billing code for MRS under Florida Blue?", "no", id="code-set-named"),
        # "recognize" a code asks whether the policy lists it
        pytest.param("Does NIA recognize +0698T?", "yes", id="code-recognized"),
        pytest.param("Does Cohere recognise code 0698T?", "no", id="code-recognized"),
        # "in its latest revision" asks of the newest dated entry
        pytest.param("Was traumatic brain injury added by HealthHelp in its most recent update?", "yes", id="latest-revision"),
        # NIA's newest entry is 2021; the deletion is recorded under July 2019
        pytest.param("Did NIA drop the therapeutic follow-up indication in its latest revision?", "no", id="latest-revision"),
        # the study named alone after a stated case asks for it
        # no patient word: only the bare ask says a case is stated
        pytest.param("HealthHelp: relapsing multiple sclerosis, stable on therapy. Spectroscopy?", "yes", id="study-named-alone"),
        pytest.param("Florida Blue: early Alzheimer disease, memory clinic work-up. MRS?", "no", id="study-named-alone"),
        # one care setting asked whether allowed
        pytest.param("Under Cohere, can spectroscopy be performed for hospital inpatients?", "yes", id="one-setting-allowed"),
        pytest.param("May Cohere members have 76390 done as outpatients?", "yes", id="one-setting-allowed"),
        # HealthHelp names no care setting
        pytest.param("Can HealthHelp authorize MRS for an inpatient?", "not_addressed", id="one-setting-allowed"),
        # "at least one payer" asks whether any does
        pytest.param("Is spectroscopy for traumatic brain injury covered by at least one of the payers?", "yes", id="at-least-one-payer"),
        pytest.param("Will one or more plans pay for spectroscopy in multiple sclerosis?", "yes", id="at-least-one-payer"),
    ],
)
def test_probed_shapes(services, question, claim):
    _verdict(services, question, claim)


# --- probes past dev11: a payer's initials right before the study name its addressee ---------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("FB MRS for multiple sclerosis?", "no"),
        ("FB MRS for recurrent tumor versus radiation necrosis?", "yes"),
    ],
)
def test_initials_before_the_study_name_the_payer(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert all(i.startswith("floridablue-mrs#") for c in verdict.claims for i in c.clause_ids)
