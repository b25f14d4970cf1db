"""Issue 18: approve only on asserted, current, uncontradicted evidence; deny only on an asserted fact.

Each test is a documentation style or a class of misreading from the independent writers'
notes (eval/independent/README.md), written here in new words: what the notes do not assert
leaves the case unknown (a pend naming what to confirm), never an approval and never a denial.
"""

from __future__ import annotations

import pytest

from mrs_assist.criteria import resolve_facts
from mrs_assist.extract import extract_facts
from mrs_assist.extract.layout import conditional_from, documents
from mrs_assist.extract.ocr import fold_ocr, looks_ocrd
from mrs_assist.extract.templates import blank_template_fields
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services()


def _decide(services, policy_id: str, notes: str, age: float | None = 50):
    request = DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes,
                                   patient={"age_years": age})
    return services.determine(request)


RECURRENCE = (
    "58 y/o M, glioblastoma s/p resection and chemoradiation 2023. MRI 10/2024: new enhancement, "
    "indeterminate, recurrence vs radiation necrosis. New word-finding difficulty.\n"
    "Plan: MRS to distinguish recurrent tumor from radiation necrosis.\n"
)


# --- contested facts ------------------------------------------------------------------------
def test_a_fact_the_notes_assert_and_deny_is_contested_and_unknown(services):
    notes = (
        "Problem list: anaplastic astrocytoma (copied from referral).\n"
        "Neurosurgery note: review of outside pathology shows gliosis only. No brain tumor.\n"
        "Plan: MRS to distinguish recurrence from radiation necrosis.\n"
    )
    facts = extract_facts(notes, catalogue=services.catalogue)
    tumor = facts["known_brain_tumor"]
    assert tumor.value is None
    assert [e.text for e in tumor.contrary] == ["brain tumor"]
    response = _decide(services, "healthhelp-mrs", notes)
    assert response.recommendation == "needs_more_information"
    assert "known_brain_tumor" in response.trace.missing_facts
    out = next(f for f in response.facts if f.name == "known_brain_tumor")
    assert out.contrary and out.contrary[0].text == "brain tumor"  # the page can show the disagreement


def test_a_hedged_mention_elsewhere_does_not_contest(services):
    facts = extract_facts(RECURRENCE + "Differential also includes LGG vs HGG transformation.\n",
                          catalogue=services.catalogue)
    assert facts["known_brain_tumor"].value is True
    assert facts["known_brain_tumor"].contrary == []


# --- a missed naming never denies -----------------------------------------------------------
@pytest.mark.parametrize("naming", ["Dx: G35 (ICD-10)", "Dx: RRMS", "relapsing-remitting disease (MS) on ocrelizumab"])
def test_a_purpose_named_in_words_the_matchers_miss_is_unknown_not_closed(services, naming):
    notes = f"Order: MRS brain (76390).\n{naming}\nScreening for tumor progression requested by family.\n"
    extracted = extract_facts(notes, catalogue=services.catalogue)
    facts = resolve_facts(extracted, None, services.catalogue)
    assert facts["multiple_sclerosis"].value is not False
    assert facts["multiple_sclerosis"].source in ("notes", "mention")


def test_an_icd10_code_alone_names_its_fact():
    from mrs_assist.extract.spec import DetectSpec

    import re

    pattern = re.compile(DetectSpec(icd10=["G40", "P91.6"]).naming_regex() or "(?!)")
    assert pattern.search("Dx G40.909") and pattern.search("P91.63") and pattern.search("G40")
    assert not pattern.search("G400x1") and not pattern.search("AG40") and not pattern.search("P91.5")


# --- statements that are not this request's facts --------------------------------------------
def test_worry_and_a_relatives_diagnosis_are_not_a_known_tumor(services):
    notes = ("34 y/o F, anxious about a brain tumor after her sister's glioblastoma diagnosis. "
             "Neurologic exam normal; no known or suspected lesion. Requests MRS for reassurance.")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts.get("known_brain_tumor") is None or facts["known_brain_tumor"].value is not True
    letter_response = _decide(services, "healthhelp-mrs", notes)
    assert letter_response.recommendation != "meets_criteria"


def test_counselling_about_pregnancy_is_not_pregnancy(services):
    facts = extract_facts("Counseled re: valproate and pregnancy. Epilepsy, presurgical evaluation.",
                          catalogue=services.catalogue)
    assert "pregnancy" not in facts or facts["pregnancy"].value is not True


def test_a_study_planned_on_a_future_result_is_not_requested_now(services):
    notes = (
        "GBM s/p chemoradiation. MRI 02/2025: mild increase in enhancement, most likely pseudoprogression.\n"
        "Plan: repeat MRI in 6 weeks.\n"
        "- If enhancement keeps increasing on the repeat MRI, we will obtain MR spectroscopy to separate\n"
        "  progression from pseudoprogression. Submitting the authorization now so it is in place if needed.\n"
    )
    response = _decide(services, "nia-brain-mrs", notes)
    assert response.recommendation == "needs_more_information"
    assert "tumor_recurrence_vs_treatment_effect" in response.trace.missing_facts
    assert _decide(services, "nia-brain-mrs", RECURRENCE).recommendation == "meets_criteria"  # control


def test_conditional_needs_a_consequence_and_is_not_an_indirect_question():
    plan = "If the repeat MRI is inconclusive we will obtain MRS."
    assert conditional_from(plan, (0, len(plan))) is not None
    question = "MRS to determine if this is recurrence or necrosis."
    assert conditional_from(question, (0, len(question))) is None


# --- documentation styles -------------------------------------------------------------------
def test_an_ocrd_fax_reads_no_as_no_and_quotes_the_original():
    fax = "PRI0R AUTH0RIZATI0N REQUEST - C0NFIDENTIAL\nN0 PACEMAKER. CPT 7639O.\n"
    assert looks_ocrd(fax)
    folded = fold_ocr(fax)
    assert "NO PACEMAKER" in folded and "76390" in folded and len(folded) == len(fax)
    facts = extract_facts(fax + "Plan: MRS to distinguish recurrent GBM from radiation necrosis.")
    assert facts["mri_unsafe_implant"].value is False
    assert facts["mri_unsafe_implant"].evidence[0].text == "PACEMAKER"


def test_clean_notes_are_not_folded():
    clean = "pT2 N0 M0 breast cancer 2019. MRI T1 and T2 sequences. Dx C71.2."
    assert fold_ocr(clean) == clean


def test_an_icd_field_label_is_not_a_defibrillator(services):
    facts = extract_facts("ICD: C71.2 ; Z92.3\n" + RECURRENCE, catalogue=services.catalogue)
    assert facts.get("mri_unsafe_implant") is None or facts["mri_unsafe_implant"].value is not True


def test_unfilled_template_options_assert_nothing(services):
    notes = ('Diagnosis: {Blank single:19197::"RRMS / CIS / RIS / other"}\nResult: ***\n' + RECURRENCE)
    blanked = blank_template_fields(notes)
    assert "RRMS" not in blanked and len(blanked) == len(notes) and blanked.count("\n") == notes.count("\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert "multiple_sclerosis" not in facts


def test_in_a_packet_the_latest_document_governs(services):
    notes = (
        "[DOC 1] IMAGING ORDER FORM 01/10/2025 (auto-populated)\n"
        "MRI safety: permanent pacemaker.\n\n"
        "[DOC 2] CARDIOLOGY LETTER 02/20/2025\n"
        "Pacemaker explanted 02/01/2025; no implanted device remains.\n\n"
        "[DOC 3] NEURO-ONCOLOGY NOTE 02/25/2025\n" + RECURRENCE
    )
    assert len(documents(notes)) == 3
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["mri_unsafe_implant"].value is False
    assert any("pacemaker" in e.text.lower() and e.start < notes.index("[DOC 2]")
               for e in facts["mri_unsafe_implant"].contrary)  # the superseded mention is shown


def test_fax_page_breaks_are_not_new_documents():
    notes = "REQUEST 01/01/2025\nline\n------ Page 2 of 3 ------\nmore\n"
    assert len(documents(notes)) == 1


# --- decided by the notes: denials only on asserted facts -----------------------------------
@pytest.mark.parametrize("policy_id", ["healthhelp-mrs", "cohere-mrs", "nia-brain-mrs", "floridablue-mrs"])
def test_research_only_is_decided_not_pended(services, policy_id):
    notes = RECURRENCE + "Addendum: the MRS is a research acquisition for the registry and will not change management.\n"
    response = _decide(services, policy_id, notes)
    assert response.recommendation == "does_not_meet_criteria"
    assert any(f.name == "no_management_change" and f.value for f in response.facts)


def test_a_76390_request_for_another_study_is_outside_the_guideline(services):
    notes = "Office confirmed the ordered study is MRA head; 76390 was selected in error. No spectroscopy is intended."
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "does_not_meet_criteria"


def test_an_fep_member_is_outside_florida_blues_guideline(services):
    notes = RECURRENCE + "Coverage: Federal Employee Program (FEP).\n"
    assert _decide(services, "floridablue-mrs", notes).recommendation == "does_not_meet_criteria"
    assert _decide(services, "floridablue-mrs", RECURRENCE).recommendation == "meets_criteria"


def test_a_suspected_tumor_pends_healthhelp_and_an_explicit_no_known_tumor_denies(services):
    suspected = ("New ring-enhancing lesion, abscess vs necrotic neoplasm, MRI indeterminate. "
                 "Request MRS to distinguish abscess from tumor.")
    response = _decide(services, "healthhelp-mrs", suspected)
    assert response.recommendation == "needs_more_information"
    assert "known_brain_tumor" in response.trace.missing_facts
    denied = _decide(services, "healthhelp-mrs", suspected + " No known malignancy.")
    assert denied.recommendation == "does_not_meet_criteria"


def test_a_non_brain_muscle_study_is_out_of_scope(services):
    notes = "Plan: 31P MR spectroscopy of the right calf after exercise to assess muscle energetics; CPT 76390."
    assert _decide(services, "cohere-mrs", notes).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("reading", [
    "MRI 10/2024: the lesion is not indeterminate - findings are typical of radiation necrosis.",
    "MRI read as unequivocal progression, not inconclusive.",
    "Neuroradiology: the study is not equivocal.",
])
def test_an_inconclusive_word_itself_denied_is_a_conclusive_study(reading):
    """A negation reaching an inconclusive word from another clause is about something else;
    one that denies the word itself ("not indeterminate") says the study was conclusive."""
    facts = extract_facts(f"62F, brain metastasis s/p SRS. {reading} Plan: MRS.", age_years=62)
    assert facts["conventional_imaging_inconclusive"].value is False


def test_a_diagnosis_the_record_calls_reported_or_unverified_is_not_asserted():
    notes = ("Assessment: Reported history of brain tumor s/p resection abroad; records not available.\n"
             "Plan: obtain outside records.\n")
    assert extract_facts(notes, age_years=49)["known_brain_tumor"].value is not True


def test_a_form_body_part_box_decides_the_region_and_its_correction_takes_it_back(services):
    form = ("PRIOR AUTH REQUEST 02/09/2026\nCPT 76390 MR spectroscopy\n"
            "Region: [ ] Brain  [X] Lumbar spine  [ ] Other\n"
            "Known oligodendroglioma; MRI 01/28/2026 indeterminate, recurrence vs radiation change.\n")
    assert _decide(services, "nia-brain-mrs", form).recommendation == "does_not_meet_criteria"
    corrected = form + "\nADDENDUM 02/11/2026: Correction: lumbar spine was selected in error; region is brain.\n"
    assert extract_facts(corrected, age_years=33)["non_brain_mrs_requested"].value is False


def test_a_dated_study_within_three_months_in_notes_saying_nothing_changed_is_asked_not_decided(services):
    notes = ("Request date 03/18/2025. 61F, known glioblastoma s/p chemoradiation 2023.\n"
             "MRI brain 01/05/2025: indeterminate, recurrence vs radiation necrosis. Symptoms unchanged.\n"
             "Plan: MRS.\n")
    response = _decide(services, "cohere-mrs", notes)
    assert response.recommendation == "needs_more_information"
    assert "recent_advanced_imaging_without_change" in response.trace.missing_facts
    worse = notes.replace("Symptoms unchanged.", "Symptoms unchanged until last week; now new worsening aphasia.")
    facts = extract_facts(worse, age_years=61)
    assert facts["recent_advanced_imaging_without_change"].value is False
