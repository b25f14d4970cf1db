"""Session 13 (issue 18): misspelled words read as the reader's words, and four scope classes of
the context lexicon (a cause after a negated act, a clause-final hedge, a bracketed query), each
tested in words of its own."""

from __future__ import annotations

import pytest

from mrs_assist.extract import extract_facts
from mrs_assist.extract.pipeline import get_detector
from mrs_assist.extract.spelling import Speller
from mrs_assist.extract.templates import has_template_gaps
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services()


@pytest.fixture(scope="module")
def speller(services):
    return get_detector(services.catalogue).speller


def _facts(services, notes):
    return extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)


def _value(services, notes, fact):
    found = _facts(services, notes).get(fact)
    return None if found is None else found.value


def _decide(services, policy_id, notes, age=50):
    request = DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes,
                                   patient={"age_years": age})
    return services.determine(request)


# --- the speller ------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, meant", [
    ("managment", "management"), ("recurence", "recurrence"), ("epllepsy", "epilepsy"),
    ("cllnlcal", "clinical"),  # OCR's l for i, twice
    ("metastasls", "metastasis"), ("wont", "won't"), ("doesnt", "doesn't"),
])
def test_a_misspelled_reader_word_is_read_as_the_word(speller, typed, meant):
    assert speller.correction(typed) == meant


@pytest.mark.parametrize("word", [
    "change", "chang",  # English words (a name is one) are never respelled
    "interp", "resecti",  # a truncated word is an abbreviation, not a misspelling
    "levetiracetam", "nakashima",  # nothing the reader needs is one edit away
    "sx", "mets",  # too short to tell from an abbreviation
])
def test_words_that_are_not_misspellings_of_a_reader_word_are_left(speller, word):
    assert speller.correction(word) is None


def test_two_different_reader_words_as_near_leave_the_word_as_written():
    words = {"tumor", "timer", "seizure", "seizures", "metal", "frontal", "abscess", "access"}
    speller = Speller(words, frozenset(words), {"tumor": 10, "timer": 90})
    assert speller.correction("tumer") is None  # tumor or timer: not ours to guess
    assert speller.correction("seizurs") == "seizures"  # a dropped letter; "seizure" needs a consonant
    assert speller.correction("abcess") == "abscess"  # a dropped letter, not a consonant for another


@pytest.mark.parametrize("word", [
    "metab",  # a consonant for another is another word (metab[olic] is not metal)
    "bifrontal",  # the first letter is kept by a typing slip
])
def test_edits_that_are_not_typing_slips_are_left(word):
    words = {"metal", "frontal"}
    assert Speller(words, frozenset(words), {}).correction(word) is None


def test_a_long_word_may_be_two_slips_from_the_word_meant(speller):
    assert speller.correction("reccurence") == "recurrence"


def test_respelling_keeps_case_and_maps_every_character_back(speller):
    text = "PLAN: MRS to DISTINGUSH recurence from necrosis; it wont chang managment."
    out = speller.respell(text)
    assert "DISTINGUISH" in out.text and "recurrence" in out.text and "won't" in out.text
    start = out.text.index("recurrence")
    assert text[slice(*out.to_input(start, start + len("recurrence")))] == "recurence"
    start = out.text.index("won't")
    assert text[slice(*out.to_input(start, start + 5))] == "wont"
    assert speller.respell("Glioblastoma, resected.").text == "Glioblastoma, resected."


def test_a_misspelled_statement_that_mrs_will_not_change_management_is_read_and_quoted(services):
    notes = ("Neuro f/u via interpreter. Long-standing MS, stable on therapy. Family asks for MR spectroscopy "
             "after reading about it online. Explained the MRS result would not alter managment; "
             "ordered at family request.\n")
    fact = _facts(services, notes)["no_management_change"]
    assert fact.value is True
    assert any("managment" in e.text for e in fact.evidence)  # the notes as written
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "does_not_meet_criteria"


def test_a_misspelled_purpose_is_read(services):
    notes = ("Oligodendroglioma resected 2022, radiation done 2023. MRI last week: new enhancing focus, "
             "indeterminate. New seizures.\nPlan: MRS to distingush recurence from radiaton necrosis.\n")
    fact = _facts(services, notes)["tumor_recurrence_vs_treatment_effect"]
    assert fact.value is True
    assert any("recurence" in e.text for e in fact.evidence)


# --- scope classes ----------------------------------------------------------------------------
def test_the_cause_of_an_act_not_done_is_not_negated(services):
    notes = "CT head 05/02 (MR imaging not performed due to his cardiac pacemaker): enhancing lesion.\n"
    assert _facts(services, notes)["mri_unsafe_implant"].value is True
    # ... while "not due to" still negates what follows
    assert _facts(services, "Her morning headaches are not due to a brain tumor.\n")["known_brain_tumor"].value is False
    # ... and a hedge reaches past the cause: only a negation's scope ends there
    notes = "She was unsure whether her dizziness could have been due to a pregnancy.\n"
    assert _value(services, notes, "pregnancy") is not True


def test_a_tumor_named_last_in_a_clause_that_ends_on_less_likely_is_argued_against(services):
    notes = ("Imaging impression: ring lesion in the left occipital lobe; abscess favored; metastatic "
             "brain tumor less likely.\nPlan: MRS to separate abscess from neoplasm.\n")
    assert _facts(services, notes)["known_brain_tumor"].value is not True


def test_a_problem_list_entry_with_a_bracketed_query_is_not_a_diagnosis(services):
    notes = "Problem list (imported):\n1. Meningioma, right frontal (?)\n2. Hypertension\n"
    assert _facts(services, notes)["known_brain_tumor"].value is not True


def test_a_clause_that_ends_on_also_possible_hedges_what_it_names(services):
    notes = "MRI read: favor cortical dysplasia; ganglioglioma also possible.\n"
    assert _facts(services, notes)["known_brain_tumor"].value is not True


def test_a_result_that_decides_the_extent_of_resection_is_treatment_planning(services):
    notes = ("Known cerebellar tumor on MRI 2 days ago, surgery booked next week. Request MRS of the "
             "tumor, which will guide the intended extent of resection near the brainstem.\n")
    assert _facts(services, notes)["treatment_planning_or_response"].value is True


def test_an_orbit_film_that_finds_no_metal_contests_an_old_fragment(services):
    notes = ("PMH (copied from 2019): metal fragment in the right eye from grinding 2001, removed 2001.\n"
             "Orbital x-ray 01/2025: no residual metal.\n")
    assert _facts(services, notes)["metallic_foreign_body"].value is not True


def test_maybe_hedges_the_diagnosis_it_precedes(services):
    notes = "Regression of milestones; white-matter change on MRI, maybe metachromatic leukodystrophy.\n"
    assert _facts(services, notes)["leukodystrophy"].value is not True


def test_a_bracketed_aside_does_not_shield_the_first_alternative_of_a_differential(services):
    notes = "MRI impression: white-matter signal; leukodystrophy (such as Krabbe disease) vs old hypoxic injury.\n"
    assert _facts(services, notes)["leukodystrophy"].value is not True
    # a known tumor before a bracket and a sentence break is not reached
    notes = "Known GBM (resected 2022). New enhancement: recurrence vs radiation necrosis.\n"
    assert _facts(services, notes)["known_brain_tumor"].value is True


def test_a_medication_named_before_the_word_that_starts_it_is_a_treatment(services):
    notes = ("MRI brain 04/28/2026: stable, no interval change. Clobazam 10 mg nightly added 04/02/2026 "
             "for breakthrough seizures.\n")
    fact = _facts(services, notes)["recent_advanced_imaging_without_change"]
    assert fact.value is not True
    assert any("added" in e.text for e in fact.evidence + fact.contrary)


def test_alternatives_named_before_and_referred_back_to_are_the_purpose(services):
    notes = ("MRI: 2.8 cm right parietal lesion with incomplete ring enhancement; conventional imaging inconclusive.\n"
             "Assessment: abscess is possible, but a metastasis cannot be excluded. Telling these two apart "
             "decides antibiotics versus biopsy.\nPlan: MR spectroscopy of the lesion.\n")
    assert _facts(services, notes)["tumor_vs_nontumor_lesion"].value is True
    # with no non-tumor process named, "the two" are not a tumor-versus-non-tumor question
    notes = ("Two enhancing lesions, both favored metastases. MRS to distinguish the two before SRS planning.\n")
    assert _value(services, notes, "tumor_vs_nontumor_lesion") is not True


def test_an_mri_safety_screening_on_file_is_no_reason_for_the_study(services):
    notes = "Plan:\n- MR spectroscopy of the lesion.\n- MRI safety screening completed by the technologist.\n"
    assert _value(services, notes, "non_covered_reason") is not True
    notes = ("Plan:\n- MR spectroscopy of the enhancing focus.\n- Decide on re-resection after MRS.\n"
             "No implanted devices; screening on file.\n")
    assert _value(services, notes, "non_covered_reason") is not True


CONDITIONAL_TBI = (
    "Dx: concussion with brief LOC after a fall 01/2025. MRI brain 03/2025: normal.\n"
    "Plan: cognitive testing next month. We will consider MR spectroscopy if the testing shows deficits; "
    "the order is placed now so it is ready.\n"
)


def test_a_request_only_on_a_condition_for_a_purpose_no_policy_lists_is_denied_where_the_policy_lists_none(services):
    assert _decide(services, "nia-brain-mrs", CONDITIONAL_TBI).recommendation == "does_not_meet_criteria"
    # ... and asked where the policy lists that purpose: the condition leaves it unknown
    assert _decide(services, "healthhelp-mrs", CONDITIONAL_TBI).recommendation == "needs_more_information"


def test_an_mri_of_another_region_ordered_with_spectroscopy_is_out_of_scope(services):
    notes = "ORDER: MRI prostate w/wo + MR spectroscopy. Dx: elevated PSA, PI-RADS 4 lesion.\n"
    assert _facts(services, notes)["non_brain_mrs_requested"].value is True
    notes = "Hx prostate cancer 2019, now a new cerebellar lesion. MRI brain then MR spectroscopy of the lesion.\n"
    assert _value(services, notes, "non_brain_mrs_requested") is not True


def test_the_physician_saying_the_result_would_not_change_my_management_is_read(services):
    notes = ("Normal MRI last month. Patient wants MR spectroscopy for reassurance; I explained that its "
             "result would not change my management. Submitted at her request.\n")
    assert _facts(services, notes)["no_management_change"].value is True


def test_a_forms_purpose_line_left_as_underscores_is_a_blank_field(services):
    notes = ("PRE-AUTHORIZATION FORM\nICD-10: G35 Multiple sclerosis; R90.89 abnormal CNS imaging\n"
             "Purpose of MRS: ____________________\nComments: new atypical lesion on last MRI.\n")
    # the requester left the reason empty: the diagnosis code does not close the tumor questions
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "needs_more_information"
    assert has_template_gaps("Purpose of MRS: ______") and not has_template_gaps("Signed ______ 05/02")


def test_a_later_document_that_excludes_the_non_tumor_alternative_withdraws_the_question(services):
    notes = ("[1] ORDER 02/03/2026\nMR spectroscopy brain. Reason: enhancing lesion, abscess vs tumor.\n\n"
             "[2] NEUROSURGERY NOTE 02/06/2026\nAfebrile, normal inflammatory markers; infectious disease "
             "agrees the abscess has been excluded.\nPlan: MRS as ordered (abscess vs tumor), then biopsy.\n")
    assert _facts(services, notes)["tumor_vs_nontumor_lesion"].value is None
    assert _decide(services, "nia-brain-mrs", notes).recommendation != "meets_criteria"
    # ... while an alternative that is only not excluded keeps the question
    kept = ("MRI: ring-enhancing right frontal lesion. Impression: abscess not excluded; neoplasm favored.\n"
            "Plan: MRS to distinguish abscess from tumor.\n")
    assert _facts(services, kept)["tumor_vs_nontumor_lesion"].value is True


def test_a_quoted_term_named_as_a_list_entry_is_the_word_not_a_finding(services):
    notes = "[Comment: the 'meningioma' entry came from an outside problem list; never imaged here.]\n"
    assert _value(services, notes, "known_brain_tumor") is not True
    assert _facts(services, "Dx: meningioma, resected 2019.\n")["known_brain_tumor"].value is True


def test_the_english_list_is_read_from_the_wheel_or_else_through_the_library(monkeypatch):
    from mrs_assist.extract import spelling

    spelling._english_frequency.cache_clear()
    direct = spelling._english_frequency()
    assert "management" in direct and "managment" not in direct

    def moved(_package):
        raise FileNotFoundError("resources moved")

    monkeypatch.setattr("importlib.resources.files", moved)
    spelling._english_frequency.cache_clear()
    try:
        assert spelling._english_frequency().keys() == direct.keys()
    finally:
        spelling._english_frequency.cache_clear()


def test_a_note_with_nothing_to_respell_maps_offsets_to_themselves(speller):
    out = speller.respell("Known glioblastoma; recurrence vs necrosis.")
    assert out.text == "Known glioblastoma; recurrence vs necrosis."
    assert out.to_input(6, 18) == (6, 18) and out.to_input(44, 44) == (43, 43)
