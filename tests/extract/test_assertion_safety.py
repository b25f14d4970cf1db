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


@pytest.mark.parametrize("why", [
    "MRS ordered for reassurance.",
    "She would like MR spectroscopy to be sure; ordered.",
    "MRS requested given his strong family history of glioma.",
    "Requests spectroscopy for peace of mind.",
    "Referred for 'tumor concerns'; MRS ordered.",
])
def test_a_worry_or_a_wish_states_no_reason_for_the_study(services, why):
    """Reassurance, a family history or a worry says who wants the study, not what it is for
    (the errata: a worry is not an asserted purpose): no purpose closes, so a policy the notes
    do not otherwise decide pends asking the clinical question; one they decide still decides
    (Cohere: a normal MRI is not inconclusive)."""
    notes = f"41 y/o, daily headaches, neuro exam normal. MRI brain 05/2025 normal. {why}"
    facts = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert facts.get("non_covered_reason") is None or facts["non_covered_reason"].value is not True
    pended = _decide(services, "healthhelp-mrs", notes)
    assert pended.recommendation == "needs_more_information"
    assert _decide(services, "cohere-mrs", notes).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("notes", [
    "MRI brain without contrast 09/2024 (ordered by his PCP): unremarkable.",
    "CT head (outside hospital, 03/2025) was normal.",
])
def test_a_parenthetical_aside_does_not_part_a_study_from_its_result(services, notes):
    facts = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert facts["conventional_imaging_inconclusive"].value is False


def test_a_past_diagnosis_is_not_this_requests_purpose(services):
    """A purpose named only as history ("Hx of possible MS") is not the reason for this MRS: it
    closes no other purpose, so a policy that does not list it pends instead of denying."""
    notes = ("Referral for MR spectroscopy, brain. Dx on order: 'white matter lesion'.\n"
             "Problem list: 1) Hx ?MS per outside neurologist, never confirmed. 2) GERD.\n"
             "No current note and no clinical question received.")
    assert _decide(services, "floridablue-mrs", notes).recommendation == "needs_more_information"
    asserted = "Relapsing-remitting MS, on ocrelizumab. MR spectroscopy requested to follow the MS."
    assert _decide(services, "floridablue-mrs", asserted).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("notes, fact", [
    ("Indication on order: Leigh syndrome (per mother).", "mitochondrial_disorder"),
    ("PMH: s/p craniotomy for brain tumor (unknown type, PER PT), outside hospital.", "known_brain_tumor"),
    ("Dx: relapsing MS (suspected).", "multiple_sclerosis"),
])
def test_a_parenthesis_after_a_diagnosis_says_who_asserts_it(services, notes, fact):
    """An attribution or a hedge in a parenthesis opened right after the diagnosis reaches it."""
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert found[fact].value is None


def test_a_negation_in_a_parenthesis_stays_inside_it(services):
    found = extract_facts("Right parietal brain lesion (no enhancement).", catalogue=services.catalogue, mrs_requested=True)
    assert found["brain_mass_or_lesion"].value is True


def _pends_asking(services, policy_id: str, notes: str, fact: str) -> None:
    response = _decide(services, policy_id, notes)
    assert response.recommendation == "needs_more_information"
    assert fact in response.trace.missing_facts


def test_a_match_running_onto_an_unanswered_form_line_asserts_nothing(services):
    notes = ("Diagnosis: G40.119 intractable focal epilepsy\nCurrent ASMs: ***\n"
             "Reviewed at epilepsy surgery conference:  [ ] yes  [ ] no\nMRS brain requested.")
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert found.get("epilepsy_presurgical") is None or found["epilepsy_presurgical"].value is not True
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "needs_more_information"


def test_a_region_field_left_unanswered_asks_the_region(services):
    """A form that asks the body region and gets no box checked has not said it is the brain."""
    notes = ("PRECERT REQUEST  CPT 76390 MR spectroscopy\n"
             "Area to be studied:\nExam area:  [ ] Head/brain  [ ] Cervical spine  [ ] Prostate  [ ] Other\n"
             "Dx: E72.20 Urea cycle disorder, unspecified. Summary: see attached (none attached).")
    _pends_asking(services, "healthhelp-mrs", notes, "non_brain_mrs_requested")
    checked = notes.replace("[ ] Head/brain", "[X] Head/brain")
    assert "non_brain_mrs_requested" not in _decide(services, "healthhelp-mrs", checked).trace.missing_facts


@pytest.mark.parametrize("notes", [
    "Right temporal mass; oligodendroglioma favored. MRS requested.",
    "Right temporal mass. Glioma is most likely. MRS requested.",
    "Impression: abscess favored; glioblastoma and lymphoma not excluded.",
])
def test_a_hedge_written_after_the_diagnosis_leaves_the_tumor_unknown(services, notes):
    assert extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)["known_brain_tumor"].value is None


@pytest.mark.parametrize("elsewhere", [
    "CT chest, abdomen and pelvis 03/01: no primary malignancy identified.",
    "MRI cervical and thoracic spine: no cord lesions.",
])
def test_a_search_elsewhere_in_the_body_denies_no_brain_tumor(services, elsewhere):
    notes = f"Left parietal ring-enhancing mass, presumed metastasis vs glioma. {elsewhere} MRS requested."
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert found["known_brain_tumor"].value is None


@pytest.mark.parametrize("notes, expected", [
    ("2-year-old, HIE first diagnosed during the NICU course after a difficult delivery.", None),
    ("4 y/o with hypoxic-ischemic encephalopathy diagnosed in the newborn period.", True),
    ("Toddler with HIE from birth; MRI equivocal.", True),
    ("HIE after near-drowning at age 3.", False),
])
def test_hie_dated_to_the_neonatal_period_is_neonatal_hie(services, notes, expected):
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert (found["neonatal_period_hie"].value if "neonatal_period_hie" in found else None) is expected


def test_a_form_label_with_a_blank_answer_asserts_nothing(services):
    form = ("Dx: C71.2 malignant neoplasm of temporal lobe; recurrence vs radiation necrosis.\n"
            "New or worsening symptoms since last MRI (describe): ______________\n"
            "Pregnant?: ____\n")
    found = extract_facts(form, catalogue=services.catalogue, mrs_requested=True)
    assert "new_or_worsening_symptoms" not in found and "pregnancy" not in found
    filled = form.replace("(describe): ______________", "(describe): new aphasia x 2 weeks")
    assert extract_facts(filled, catalogue=services.catalogue, mrs_requested=True)["new_or_worsening_symptoms"].value is True


def test_a_biopsy_reported_done_withdraws_biopsy_guidance(services):
    notes = ("Office note 04/02: 3.8 cm left frontal mass, probable high-grade glioma. Plan: MRS to target the "
             "biopsy at the highest-choline region.\nOp note 04/15: stereotactic needle biopsy was performed "
             "without MRS; frozen section: glioblastoma.\n")
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert found["biopsy_guidance"].value is None
    planned = notes.split("\nOp note")[0]
    assert extract_facts(planned, catalogue=services.catalogue, mrs_requested=True)["biopsy_guidance"].value is True


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


def test_an_all_caps_words_l_is_an_i_in_an_ocrd_fax():
    fax = "PR0CEDURE: MR SPECTR0SC0PY BRAlN\nlMPRESSl0N: RlNG LESl0N, lNDETERMlNATE 0N C0NVENTl0NAL lMAGlNG.\n"
    folded = fold_ocr(fax)
    assert "IMPRESSION" in folded and "INDETERMINATE ON CONVENTIONAL IMAGING" in folded
    assert extract_facts(fax)["conventional_imaging_inconclusive"].value is True


def test_a_word_split_by_a_fax_page_break_is_rejoined(services):
    fax = ("MRI BRAIN 03/02/2026: 1.9 CM ENHANCING LESI0N, LEFT TEMP0RAL. IMPRESSI0N: EQUIV0CAL, NE0PLASM VS\n"
           "DEMYELINATI0N; FINDINGS ARE INCONCLU-\n"
           "-------------------------------- Page 1 of 2 ---------\n"
           "FAX FR0M: HARB0R NEUR0L0GY   03/05/2026 09:12   P.2/2\n"
           "SIVE.\nPLAN: MRS T0 DISTINGUISH TUM0R FR0M DEMYELINATI0N.\n")
    found = extract_facts(fax, catalogue=services.catalogue, mrs_requested=True)
    assert found["conventional_imaging_inconclusive"].value is True
    assert any("INCONCLU-" in e.text for e in found["conventional_imaging_inconclusive"].evidence)


def test_a_line_that_opens_a_new_field_is_not_the_sentence_before_it(services):
    form = ("CPT: 76390 MR SPECTR0SC0PY - BRAIN\nDX: K72.90 HEPATIC FAILURE; CIRRH0SIS 0F LIVER\n"
            "PLAN: MRS 0F THE BRAIN F0R HEPATIC ENCEPHAL0PATHY PR0GN0SIS.\n")
    found = extract_facts(form, catalogue=services.catalogue, mrs_requested=True)
    assert found.get("non_brain_mrs_requested") is None or found["non_brain_mrs_requested"].value is not True
    field = "SERVICE: 76390 MR SPECTROSCOPY\nBODY PART FOR 76390: LIVER\nDX: K76.0 FATTY LIVER.\n"
    assert extract_facts(field, catalogue=services.catalogue, mrs_requested=True)["non_brain_mrs_requested"].value is True


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
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "does_not_meet_criteria"
    # Cohere names muscles without criteria for them (session 10): asked, never approved
    cohere = _decide(services, "cohere-mrs", notes)
    assert cohere.recommendation == "needs_more_information" and "other_region_covered" in cohere.trace.missing_facts


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


# --- form questions: the checked option answers the question on its line ----------------------
FORM = (
    "PRECERTIFICATION FORM\nProcedure: 76390 MR spectroscopy - brain\n"
    "Indication: [X] Differentiate tumor recurrence vs radiation necrosis\n"
    "History: glioblastoma s/p chemoradiation 2024. New aphasia since last month.\n"
    "Conventional imaging inconclusive?  {answer}\n"
)


@pytest.mark.parametrize("answer, value", [
    ("[ ] Yes  [ ] No", None),          # unanswered: asserts nothing
    ("[ ] Yes  [ ] No  [X] Unknown", None),
    ("[ ] Yes  [X] No", False),
    ("[X] Yes  [ ] No", True),
    ("Yes", True),
])
def test_a_form_question_is_answered_by_its_checked_option(services, answer, value):
    facts = extract_facts(FORM.format(answer=answer), catalogue=services.catalogue)
    fact = facts.get("conventional_imaging_inconclusive")
    assert (fact.value if fact else None) is value


def test_an_unanswered_form_question_pends_instead_of_approving(services):
    response = _decide(services, "cohere-mrs", FORM.format(answer="[ ] Yes  [ ] No"))
    assert response.recommendation == "needs_more_information"
    assert "conventional_imaging_inconclusive" in response.trace.missing_facts


def test_a_form_no_answers_even_a_fact_that_shrugs_off_negation(services):
    # "inconclusive" ignores a ConText negation reaching it; a question answered "No" is not that
    facts = extract_facts("Brain MRI 05/2026. Imaging inconclusive? No\n", catalogue=services.catalogue)
    assert facts["conventional_imaging_inconclusive"].value is False


# --- who asserts it: a diagnosis the patient or a relative reports is asked ------------------
REPORTED_TUMOR = (
    "History is from the mother. She states he had a brain tumor taken out at age 5 in another "
    "state; outside records have not arrived.\n"
    "MRI brain 03/2026: 8 mm enhancing nodule in the posterior fossa, indeterminate.\n"
    "Mother reports new morning vomiting.\n"
    "Plan: MRS to distinguish tumor recurrence from post-treatment change.\n"
)
CONFIRMED_TUMOR = REPORTED_TUMOR.replace(
    "She states he had a brain tumor taken out at age 5 in another state; outside records have not arrived.",
    "Pathology 2021 (our institution): pilocytic astrocytoma, resected.")


def test_a_tumor_only_the_mother_reports_is_asked_not_assumed(services):
    facts = extract_facts(REPORTED_TUMOR, catalogue=services.catalogue)
    assert facts["new_or_worsening_symptoms"].value is True  # a symptom is the family's to report
    for policy in ("nia-brain-mrs", "floridablue-mrs"):
        response = _decide(services, policy, REPORTED_TUMOR, age=12)
        assert response.recommendation == "needs_more_information", policy


def test_the_same_purpose_on_a_confirmed_tumor_is_approved(services):
    response = _decide(services, "nia-brain-mrs", CONFIRMED_TUMOR, age=12)
    assert response.recommendation == "meets_criteria"


def test_a_purpose_whose_premise_the_notes_leave_in_doubt_reads_unknown(services):
    facts = extract_facts(REPORTED_TUMOR, catalogue=services.catalogue)
    purpose = facts["tumor_recurrence_vs_treatment_effect"]
    assert purpose.value is None
    assert any("presupposes known brain tumor" in m for e in purpose.evidence for m in e.modifiers)


@pytest.mark.parametrize("policy_id", ["nia-brain-mrs", "floridablue-mrs"])
@pytest.mark.parametrize("question", [
    "Plan: MR spectroscopy to help distinguish low-grade neoplasm from focal cortical dysplasia.",
    "A/P: DDx TDL vs HGG. MRS to decide biopsy vs empiric steroids.",
])
def test_a_tumor_versus_malformation_or_demyelination_question_is_tumor_versus_non_tumor(services, question, policy_id):
    notes = ("MRI brain 3 weeks ago: 1.4 cm right frontal cortical lesion, indeterminate. "
             "New focal seizures.\n" + question + "\n")
    assert _decide(services, policy_id, notes).recommendation == "meets_criteria"


def test_will_consider_mrs_if_it_changes_is_a_plan_not_a_request(services):
    notes = ("MRI brain: 2 cm left temporal lesion. Differential: low-grade glioma versus "
             "abscess.\nPlan: repeat MRI in 8 weeks. Will consider MR spectroscopy if the lesion enlarges.\n"
             "(Front office: MRS order 76390 submitted with today's paperwork.)\n")
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "needs_more_information"


# --- who wants it is not what it is for ----------------------------------------------------
WISH = ("Neurology visit. Headaches for 3 months; exam normal. Worried about a brain tumor.\n"
        "Plan: MRS brain (76390) submitted per patient request.\n")


@pytest.mark.parametrize("policy_id", ["healthhelp-mrs", "nia-brain-mrs", "floridablue-mrs"])
def test_a_request_made_only_because_the_patient_asks_is_asked_not_denied(services, policy_id):
    response = _decide(services, policy_id, WISH)
    assert response.recommendation == "needs_more_information"


def test_a_misspelt_will_not_change_management_is_still_read(services):
    notes = WISH + "Explained MRS would not change her managment or treatment plan.\n"
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("pending", [
    "MRI brain w/wo contrast scheduled 04/02/2026; MRS to be added if it is inconclusive.",
    "Outside MRI 04/10: report to follow.",
])
def test_a_stable_older_mri_does_not_decide_while_the_deciding_study_is_still_to_come(services, pending):
    notes = ("Anaplastic astrocytoma s/p chemoradiation 2025. Last MRI 12/2025 stable post-treatment changes.\n"
             "New daily headaches for 10 days.\n" + pending + "\n"
             "Plan: MRS to distinguish recurrence from radiation necrosis.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["conventional_imaging_inconclusive"].value is None
    assert _decide(services, "cohere-mrs", notes).recommendation == "needs_more_information"


@pytest.mark.parametrize("line, value", [
    ("MRI safety: Pacemaker [ ]  Clips [ ]  Other [ ]", None),   # boxes follow their labels
    ("MRI SAFETY SCREEN: PACEMAKER [X]  CLIPS [ ]", True),
    ("Pacemaker/ICD  [ ] yes  [ ] no", None),                   # a form question left blank
    ("Pacemaker/ICD  [ ] yes  [X] no", False),
    ("Implants: [X] pacemaker  [ ] clips", True),               # boxes lead their labels
    ("Implants: [ ] pacemaker  [X] clips", None),
])
def test_a_box_belongs_to_its_label_whichever_side_it_stands(services, line, value):
    facts = extract_facts("Right frontal lesion, new weakness.\n" + line + "\n", catalogue=services.catalogue)
    fact = facts.get("mri_unsafe_implant")
    assert (fact.value if fact and fact.evidence else None) is value


# --- DESIGN: "Neonatal hypoxic ischemic encephalopathy" names the diagnosis, not today's age ----
@pytest.mark.parametrize("notes, age, outcome", [
    ("5 mo old with hx of neonatal HIE (Sarnat 2, cooled x72 h at birth). MRI nondiagnostic. "
     "MRS for prognosis of the hypoxic-ischemic encephalopathy.", 0.42, "meets_criteria"),
    ("54M, hypoxic-ischemic encephalopathy after cardiac arrest. MRI indeterminate. MRS for prognosis.",
     54, "does_not_meet_criteria"),
])
def test_cohere_reads_neonatal_hie_as_the_diagnosis_of_the_neonatal_period(services, notes, age, outcome):
    assert _decide(services, "cohere-mrs", notes, age=age).recommendation == outcome


def test_a_tumor_the_patient_reports_from_abroad_does_not_carry_a_recurrence_request(services):
    notes = ("49 y.o. F reports she had brain tumor surgery in 2015 at a hospital abroad; no records.\n"
             "Exam: healed craniotomy scar, non-focal.\n"
             "Plan: MR spectroscopy - recurrence vs post-treatment change.\n")
    assert _decide(services, "nia-brain-mrs", notes, age=49).recommendation == "needs_more_information"


@pytest.mark.parametrize("notes", [
    "Order indication: MS evaluation.\nNeurology: prior workup normal; MS was not\ndiagnosed.\nPlan: MRS for MS.\n",
    "Sister has MS. Patient read online that MR spectroscopy can detect MS early and asks for it.\n"
    "Plan: MRS brain (76390).\n",
])
def test_ms_denied_by_the_record_or_only_read_about_online_does_not_approve(services, notes):
    assert _decide(services, "healthhelp-mrs", notes, age=30).recommendation != "meets_criteria"


@pytest.mark.parametrize("dob, neonate", [("01/08/2025", True), ("11/20/2024", False)])
def test_a_date_of_birth_and_the_note_date_give_the_age(services, dob, neonate):
    notes = (f"NICU NOTE   Patient: Baby Girl   DOB: {dob}   Note date: 01/10/2025\n"
             "Term birth, uncomplicated newborn course.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["neonate"].value is neonate


def test_a_purpose_wrapped_across_a_line_break_is_still_read(services):
    notes = ("MRI: 1.4 cm right frontal cortical lesion, indeterminate. New seizures.\n"
             "Plan: MR spectroscopy of the lesion to help distinguish neoplasm from\n"
             "dysplasia.\n")
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "meets_criteria"


def test_an_epilepsy_work_up_not_for_surgery_is_not_pre_surgical(services):
    notes = ("Post-stroke epilepsy, new onset. Plan: MRS brain to evaluate the seizure focus; "
             "not a surgical candidate at this time, meds first.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts.get("epilepsy_presurgical") is None or facts["epilepsy_presurgical"].value is not True


def test_no_new_lesions_elsewhere_says_nothing_of_the_known_tumor(services):
    notes = ("Right cerebellar metastasis treated with SRS 04/2025.\n"
             "MRI 03/18/2026: treated lesion enlarged, indeterminate. No new lesions elsewhere.\n"
             "Plan: MR spectroscopy to differentiate radiation necrosis from recurrent tumor. New seizure.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["known_brain_tumor"].value is True and not facts["known_brain_tumor"].contrary
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "meets_criteria"


PENDS = {
    # a conditional plan, however the sentence is built
    "will consider MRS for a purpose if something happens": ("nia-brain-mrs",
        "MRI: 2.8 cm right temporal lesion. Assessment: probable low-grade glioma vs limbic encephalitis.\n"
        "Plan: Will consider MR spectroscopy for biopsy targeting if neurosurgery feels the margin is unclear.\n"
        "MRS order placed today so authorization is in place if neurosurgery wants it.\n"),
    # a later document withdraws the question the order asked
    "the latest document withdraws the question": ("nia-brain-mrs",
        "[DOC 1] ORDER 05/02/2025\nMRS brain. Indication: r/o radiation necrosis vs recurrence of treated "
        "R frontal metastasis.\n[DOC 2] ADDENDUM 05/06/2025\nThe new lesion lies outside any prior SRS field. "
        "Recurrence vs radiation necrosis is not the question for the new lesion; it has never been irradiated.\n"),
    # what an outside ER told the patient is the patient's account
    "an outside ER told the patient": ("floridablue-mrs",
        "Patient says they did a CT and told him he might have had a mini-stroke, or there might be a "
        "small tumor. No records.\nPlan: MRS brain ordered per patient request.\n"),
}


@pytest.mark.parametrize("policy_id, notes", list(PENDS.values()), ids=list(PENDS))
def test_what_the_notes_do_not_assert_is_asked(services, policy_id, notes):
    assert _decide(services, policy_id, notes).recommendation == "needs_more_information"


def test_notes_sent_with_an_mrs_request_may_state_its_reason_without_naming_it(services):
    notes = "58-year-old with known glioblastoma; MRI inconclusive for recurrence versus radiation necrosis."
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "meets_criteria"
    # the same words in documentation that comes with no MRS request state no reason for one
    read = extract_facts(notes, catalogue=services.catalogue)
    assert read["tumor_recurrence_vs_treatment_effect"].value is None


# --- session 7: misreadings found in session 6's held-out notes (now dev4) ---------------------
def test_a_natural_history_registry_is_research_not_past_history(services):
    notes = ("Canavan disease confirmed at 6 months. On the call the geneticist stated the MRS is requested "
             "to add a time point to the center's natural-history research registry.\n")
    facts = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert facts["no_management_change"].value is True
    assert _decide(services, "healthhelp-mrs", notes, age=1).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("said", ["it won't change what we do", "this doesn't change her management",
                                  "the MRS will not alter treatment"])
def test_a_study_said_not_to_change_care_is_no_medical_need(services, said):
    facts = extract_facts(f"Reason for MRS: neurologist says {said}.\n", catalogue=services.catalogue)
    assert facts["no_management_change"].value is True


def test_a_clinic_name_is_no_diagnosis_and_a_department_only_hedges_a_purpose(services):
    clinic = extract_facts("Sports Medicine / Concussion Clinic    DOS 07/28/2026\nHeadache after a tackle.\n"
                           "Plan: MRS brain.\n", catalogue=services.catalogue)
    assert clinic["traumatic_brain_injury"].value is None  # asked, not asserted by the clinic's name
    board = extract_facts("Tumor board review next week.", catalogue=services.catalogue)
    assert "known_brain_tumor" not in board  # a condition named by a department is not mentioned at all
    program = extract_facts("Drug-resistant TLE; MRI nondiagnostic. Epilepsy surgery program requests MRS as part "
                            "of the pre-surgical evaluation.\n", catalogue=services.catalogue)
    assert program["epilepsy_presurgical"].value is True  # the program gives the study's context


def test_copied_forward_text_on_its_header_line_ends_at_the_next_header(services):
    notes = ("Problem list (carried forward, last edited 2019): 'Concussion 2019 - resolved'; 'ADHD'.\n"
             "HPI: since a tackle last month, headaches.\n"
             "Assessment: possible post-concussive syndrome vs migraine.\nPlan: MRS brain to look for TBI.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["traumatic_brain_injury"].value is None
    sections = {e.text: e.section for e in facts["traumatic_brain_injury"].evidence}
    assert sections.get("post-concussive") == "assessment"  # current again after the copied list


def test_a_long_denial_list_negates_its_last_item(services):
    notes = ("She denies headache, weakness, seizures, vision change or any new or worsening neurologic symptom "
             "since her last visit.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["new_or_worsening_symptoms"].value is False


def test_a_no_that_wraps_onto_the_next_line_is_no_form_answer(services):
    wrapped = extract_facts("Note date 03/06/2025.\nMRI brain 01/30/2025 (obtained for tinnitus): no\n"
                            "vestibular schwannoma.\nNo new symptoms, no treatments.\n", catalogue=services.catalogue)
    assert wrapped["recent_advanced_imaging_without_change"].value is None  # asked; was read answered "no"
    answered = extract_facts("Pacemaker or defibrillator?  No\nAneurysm clip?  No\n", catalogue=services.catalogue)
    assert answered["mri_unsafe_implant"].value is False and answered["aneurysm_clip"].value is False


@pytest.mark.parametrize("sentence", ["Relapsing-remitting multiple sclerosis diagnosed 2016, on ocrelizumab.",
                                      "Relapsing-remitting MS (2010 McDonald criteria), on ocrelizumab."])
def test_an_onset_date_or_a_criteria_edition_does_not_make_a_diagnosis_history(services, sentence):
    facts = extract_facts(f"Office note 02/24/2025.\n{sentence}\nReason for MRS: MS monitoring.\n",
                          catalogue=services.catalogue)
    assert facts["multiple_sclerosis"].value is True
    assert not any("prior" in m for e in facts["multiple_sclerosis"].evidence for m in e.modifiers)


def test_a_checked_box_is_no_document_header():
    notes = "ORDER FORM\n  [X] Diagnosis confirmed (GALC deficiency)\n  [X] Prior MRI 03/10/2025 nondiagnostic\n"
    assert len(documents(notes)) == 1
    assert len(documents("[B] Office note 03/01/2025\nKrabbe.\n[C] Addendum 03/05/2025\n")) == 2


@pytest.mark.parametrize("notes, fact", [
    ("Plan: send leukodystrophy panel; MRS brain.", "leukodystrophy"),
    ("Imp: metabolic disorder work-up in progress. MRS brain.", "metabolic_disorder"),
    ("Suspected inborn error of metabolism; MRS for creatine peak.", "metabolic_disorder"),
    ("Possible HIE vs metabolic encephalopathy; MRS for prognosis.", "hypoxic_ischemic_encephalopathy"),
])
def test_a_disease_a_test_looks_for_is_suspected_and_asked(services, notes, fact):
    assert extract_facts(notes, catalogue=services.catalogue)[fact].value is None


def test_a_tumor_named_as_one_alternative_is_no_known_tumor(services):
    notes = ("MRI: 2.6 cm ring-enhancing R parietal lesion. Impression: equivocal, pyogenic abscess vs necrotic "
             "high-grade glioma or metastasis. Assessment: abscess favored. MRS requested to distinguish abscess "
             "from tumor.\n")
    facts = extract_facts(notes, catalogue=services.catalogue)
    assert facts["known_brain_tumor"].value is None
    assert facts["tumor_vs_nontumor_lesion"].value is True
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "needs_more_information"


@pytest.mark.parametrize("later", [
    "Addendum 11/12: the previously described focus represents a cortical vein / flow artifact. No new enhancing lesion.",
    "Addendum 11/12: re-resection done; the recurrence vs necrosis question is answered by pathology.",
])
def test_a_later_report_that_withdraws_the_question_leaves_the_purpose_asked(services, later):
    notes = ("Office note 11/03: GBM s/p resection and chemoRT 2025, on TMZ. MRI 11/01 possible new enhancement, "
             f"recurrence vs radiation necrosis. Plan: request MRS.\n{later}\n")
    assert extract_facts(notes, catalogue=services.catalogue)["tumor_recurrence_vs_treatment_effect"].value is None
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "needs_more_information"


def test_a_request_whose_papers_name_another_study_asks_which(services):
    notes = ("CPT requested: 76390. Exam per order: MRI brain perfusion (DSC). Note from scheduling: perfusion has no "
             "separate CPT - office said use 76390.\nOnc note: GBM, progression vs pseudoprogression. Plan: perfusion "
             "MRI. MRS not mentioned.\n")
    _pends_asking(services, "healthhelp-mrs", notes, "service_not_mrs")


@pytest.mark.parametrize("policy_id", ["healthhelp-mrs", "nia-brain-mrs", "floridablue-mrs"])
def test_a_packet_with_pages_missing_is_never_approved_on_the_pages_received(services, policy_id):
    missing = "FAX: pages received 1, 2, 4 (page 3 not received / transmission error)\n"
    assert _decide(services, policy_id, RECURRENCE).recommendation == "meets_criteria"
    response = _decide(services, policy_id, missing + RECURRENCE)
    assert response.recommendation == "needs_more_information"
    assert "records_incomplete" in response.trace.missing_facts


def test_missing_pages_leave_a_purpose_named_without_its_qualifier_open(services):
    """A purpose the received pages only name (no qualifier) does not close the others: the
    missing page may settle it. One they assert still decides."""
    named = "Diagnoses: G93.40 Encephalopathy, unspecified.\nExam: MR spectroscopy (76390).\n"
    assert _decide(services, "nia-brain-mrs", named).recommendation == "does_not_meet_criteria"
    for partial in ("[page 2 of 3 missing]\n", 'Additional information: "see attached H&P" (no attachment received)\n'):
        response = _decide(services, "nia-brain-mrs", partial + named)
        assert response.recommendation == "needs_more_information"
        assert "records_incomplete" in response.trace.missing_facts
    asserted = "[page 2 of 3 missing]\n45 y/o, migraine; MRI normal. MRS requested as screening.\n"
    assert _decide(services, "healthhelp-mrs", asserted).recommendation == "does_not_meet_criteria"
    research = "[page 2 of 3 missing]\nGBM; MRI indeterminate. MRS for a research protocol only.\n"
    assert _decide(services, "healthhelp-mrs", research).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("notes, expected", [
    ("Drug-resistant focal epilepsy; being worked up for resection. MRS requested.", True),
    ("Drug-resistant focal epilepsy; surgery is not being considered. MRS requested.", False),
])
def test_an_epilepsy_surgery_work_up_is_read_either_way(services, notes, expected):
    assert extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)["epilepsy_presurgical"].value is expected


def test_a_differential_that_lists_a_non_tumor_alternative_asks_tumor_vs_non_tumor(services):
    notes = ("Hx PCNSL in complete response. New confusion. MRI 02/19: new enhancing periventricular lesion.\n"
             'Impression: "Concerning for PCNSL relapse; differential includes demyelinating lesion and, less likely, '
             'infection. Indeterminate."\nPlan: MRS; findings will determine treatment planning.\n')
    facts = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert facts["tumor_vs_nontumor_lesion"].value is True
    assert facts["conventional_imaging_inconclusive"].value is True  # the one-word sentence continues its line
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "meets_criteria"  # was denied by closure


@pytest.mark.parametrize("assessment", [
    "Assessment: developmental regression - mitochondrial disorder suspected, not confirmed.",
    "Assessment: reported mitochondrial disease (unconfirmed in our records).",
])
def test_a_diagnosis_the_clinician_calls_unconfirmed_contests_its_assertion_elsewhere(services, assessment):
    notes = ("MRI: symmetric basal ganglia T2 signal, Leigh syndrome pattern; indeterminate.\n"
             f"{assessment}\nPlan: MRS to evaluate her mitochondrial disease.\n")
    facts = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert facts["mitochondrial_disorder"].value is None and facts["mitochondrial_disorder"].contrary
    assert _decide(services, "healthhelp-mrs", notes, age=6).recommendation == "needs_more_information"


# --- session 8: the recurrence question's premises (from session 7's held-out notes, now dev5) ---
def _facts(services, notes):
    return extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)


def test_a_later_report_that_finds_no_recurrent_tumor_answers_the_question(services):
    notes = ("[1] NEURO-ONCOLOGY NOTE 03/02/2025\nEpendymoma, resected 2024, focal RT completed 06/2024. "
             "MRI 02/25/2025: 4 mm enhancing focus at the cavity - recurrence vs post-treatment change?\n"
             "Plan: MRS to distinguish.\n\n[2] MRI BRAIN REPORT 03/20/2025\nThe focus is no longer seen. "
             "No residual or recurrent tumor.\n\n[3] PRIOR AUTH FORM 03/24/2025\nCPT 76390. "
             "Reason: r/o recurrence vs treatment effect.\n")
    assert _facts(services, notes)["tumor_recurrence_vs_treatment_effect"].value is None
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "needs_more_information"
    earlier = notes.replace("03/20/2025", "01/20/2025")  # the same report before the question was raised
    assert _facts(services, earlier)["tumor_recurrence_vs_treatment_effect"].value is True


def test_a_tumor_only_presumed_by_the_question_while_the_family_reports_it_is_not_known(services):
    notes = ("History from wife (patient aphasic). Wife reports he was treated for primary CNS lymphoma at another hospital; "
             "records requested.\nMRI: 1.8 cm enhancing lesion.\n"
             "A/P: MRS to assess residual lymphoma vs treatment effect.\n")
    facts = _facts(services, notes)
    assert facts["known_brain_tumor"].value is None
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "needs_more_information"
    confirmed = notes.replace("Wife reports he was treated for primary CNS lymphoma at another hospital; "
                              "records requested", "Biopsy-proven primary CNS lymphoma, s/p methotrexate")
    assert _facts(services, confirmed)["known_brain_tumor"].value is True


def test_a_documents_email_style_lead_in_starts_a_document():
    notes = ">> DOC A: office note 05/18/2025\ntext\n>> DOC B: letter 05/22/2025\nmore\n"
    assert len(documents(notes)) == 2


def test_text_marked_as_copied_from_an_old_note_is_not_this_visit(services):
    notes = ("Subjective (pulled forward from 2023 note - please update):\n\"GBM s/p resection and RT; new enhancing "
             "focus, recurrence vs radiation necrosis.\"\n\nExam: unchanged.\nAssessment/Plan: GBM. \"Concerning for "
             "recurrence vs radiation necrosis - MRS requested.\" [text identical to 03/2023 note]\nOrder: MRS 76390.\n")
    assert _facts(services, notes)["tumor_recurrence_vs_treatment_effect"].value is not True
    current = notes.replace(" [text identical to 03/2023 note]", "").replace(" (pulled forward from 2023 note - please update)", "")
    assert _facts(services, current)["tumor_recurrence_vs_treatment_effect"].value is True


def test_an_unanswered_choice_field_asserts_nothing(services):
    blank = "Symptoms since last visit:  [ ] stable   [ ] new   [ ] worse\nFeels well.\n"
    assert "new_or_worsening_symptoms" not in _facts(services, blank) or \
        _facts(services, blank)["new_or_worsening_symptoms"].value is not True
    chosen = blank.replace("[ ] new", "[X] new")
    assert _facts(services, chosen)["new_or_worsening_symptoms"].value is True


def test_a_work_up_that_excluded_a_diagnosis_denies_it(services):
    notes = "Urine NAA normal and ASPA sequencing negative: Canavan disease is excluded.\n"
    assert _facts(services, notes)["metabolic_disorder"].value is False
    hedge = "Canavan disease cannot be excluded.\n"
    assert _facts(services, hedge)["metabolic_disorder"].value is not False


def test_a_withdrawn_question_stays_denied_when_the_notes_deny_it(services):
    notes = ("GBM s/p resection and chemoradiation. PET: consistent with recurrence; recurrence vs necrosis has been "
             "excluded and the question is now settled. MRS requested for surgical planning.\n")
    assert _facts(services, notes)["tumor_recurrence_vs_treatment_effect"].value is False


_ASTROCYTOMA = ("DOC A: Oncology note 05/01/2025\nAnaplastic astrocytoma, biopsy 01/2025. S/p RT. New aphasia. "
                "MRI: growing enhancement. Request MRS for tumor progression vs radiation necrosis.\nDOC B: Letter 05/09/2025\n")
_METASTASIS = ("[A] Neuro-oncology note 05/01/2025\nRight parietal metastasis, s/p SRS to the brain 06/2024. MRI: enlarging "
               "enhancement. Request MRS for recurrence vs radiation necrosis.\n[B] Letter 05/09/2025\n")


@pytest.mark.parametrize("older, letter, asked", [
    (_ASTROCYTOMA, "He declined radiation and has had no chemotherapy or surgery; no treatment has been given.", True),
    # one treatment denied while another was given: still a treated tumor
    (_ASTROCYTOMA, "Correction: he did not receive radiation; he was treated with temozolomide alone.", False),
    # every treatment denied; the old note's radiation called wrong; an offer is no treatment given
    (_METASTASIS, "Radiation Oncology letter: he declined radiation before the first fraction. The history of radiation "
     "in the neurology note is incorrect. We have offered RT with temozolomide if he agrees.", True),
    # a denial bounded in time says nothing of the radiosurgery before it
    (_METASTASIS, "Addendum: she has had no treatment of any kind since 12/2025.", False),
])
def test_what_a_later_letter_says_of_treatment_decides_the_recurrence_premise(services, older, letter, asked):
    value = _facts(services, f"{older}{letter}\n")["tumor_recurrence_vs_treatment_effect"].value
    assert value is (None if asked else True)


def test_a_treated_tumor_is_one_treatment_given_and_other_cancers_treatments_are_not_the_brains(services):
    given = _facts(services, "Melanoma with brain metastases treated with radiosurgery 07/2024. No systemic therapy since 02/2025.\n")
    assert given["brain_tumor_treated"].value is True and not given["brain_tumor_treated"].contrary
    assert _facts(services, "Untreated left frontal glioma.\n")["brain_tumor_treated"].value is False
    assert "brain_tumor_treated" not in _facts(services, "Colon cancer s/p resection and chemotherapy 2019.\n")


def test_a_76390_request_naming_only_another_study_asks_which_study_is_wanted(services):
    notes = ('Precert request. CPT: 76390. Description entered: "MRI BRAIN PERFUSION W/WO".\n'
             "Glioblastoma s/p resection and chemoradiation 2024; new enhancement, indeterminate: recurrence vs "
             "radiation necrosis. New weakness.\n")
    assert _facts(services, notes)["service_not_mrs"].value is None
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "needs_more_information"
    named = notes.replace("MRI BRAIN PERFUSION W/WO", "MR SPECTROSCOPY BRAIN (perfusion also done)")
    assert "service_not_mrs" not in _facts(services, named)
    assert _decide(services, "nia-brain-mrs", named).recommendation == "meets_criteria"


@pytest.mark.parametrize("notes, question", [
    ("Dural mass, meningioma vs metastasis; both neoplastic; no infectious or inflammatory process is considered. MRS requested.", False),
    ("Dural mass now 2.9 cm (2.2 cm in 04/2025) with new surrounding edema. MRS requested.", False),  # a date's slash joins nothing
    ("Ring-enhancing lesion: tumor/abscess? MRS requested.", True),
    ("Concerning for lymphoma relapse; differential includes demyelinating lesion. MRS requested.", True),
])
def test_a_question_of_alternatives_joins_its_sides_in_one_clause(services, notes, question):
    fact = _facts(services, notes).get("tumor_vs_nontumor_lesion")
    assert (fact is not None and fact.value is True) is question


def test_an_mr_conditional_aneurysm_clip_is_still_a_metallic_clip_under_cohere(services):
    """Cohere's non-indication names "metallic clips on vascular aneurysms" with no compatibility
    qualifier (its implant items have one): read literally since session 12, as every independent
    writer read it (6 of 6 dev cases); the denial draft goes to a physician like any other."""
    notes = ("GBM s/p resection and chemoradiation; new enhancement, indeterminate: recurrence vs radiation necrosis. "
             "New headaches. Right MCA aneurysm clip 2011, titanium, MR-conditional per op note.\n")
    assert _facts(services, notes)["aneurysm_clip"].value is True
    decision = _decide(services, "cohere-mrs", notes)
    assert decision.recommendation == "does_not_meet_criteria" and decision.requires_physician_review
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "meets_criteria"  # no clip criterion there
    pacemaker = notes.replace("Right MCA aneurysm clip 2011, titanium", "Pacemaker (Azure XT DR MRI SureScan)")
    assert _facts(services, pacemaker)["mri_unsafe_implant"].value is False


# --- session 8, after the held-out split was scored once (its failures then read) -----------
def test_an_addendum_dated_by_the_study_it_amends_still_comes_after_the_note_before_it(services):
    notes = ("DOC 1 - ONCOLOGY NOTE (03/06/2025)\nGBM resected 2024, chemoradiation done. MRI 03/03/2025: new enhancement, "
             "indeterminate; recurrence vs radiation necrosis. Plan: MRS.\n"
             "DOC 2 - RADIOLOGY ADDENDUM (03/10/2025)\nADDENDUM to MRI brain 03/03/2025: compared with outside studies, "
             "the enhancement is unchanged for 9 months. Impression revised: findings are NOT indeterminate.\n")
    assert [d.date.isoformat() for d in documents(notes)][-1] == "2025-03-10"  # not the amended MRI's date
    assert _facts(services, notes)["conventional_imaging_inconclusive"].value is not True


def test_a_premise_never_stated_in_notes_with_blank_template_fields_is_not_taken_as_given(services):
    notes = ("HPI: 52 y.o. with history of *** s/p right frontal craniotomy 2022 for *** here for follow-up.\n"
             "Assessment: new enhancement - ? recurrence vs treatment effect.\nPlan: MR spectroscopy brain.\n")
    assert _facts(services, notes)["tumor_recurrence_vs_treatment_effect"].value is None
    filled = notes.replace("history of ***", "history of glioblastoma").replace("for ***", "for glioblastoma")
    assert _facts(services, filled)["tumor_recurrence_vs_treatment_effect"].value is True
    decorated = filled.replace("HPI:", "*** CONFIDENTIAL ***\nHPI:")  # decoration is no unfilled field
    assert _facts(services, decorated)["tumor_recurrence_vs_treatment_effect"].value is True


@pytest.mark.parametrize("later, withdrawn", [
    ("The clinical question on the request (recurrence vs necrosis) appears to have\n   been answered by tissue.", True),
    ("Tumor board consensus: treatment effect. No further advanced imaging needed at this time.", True),
    ("The question has not been answered; MRS still requested.", False),
])
def test_a_later_word_that_the_question_is_answered_or_the_study_unneeded_withdraws_it(services, later, withdrawn):
    notes = ("GBM resected 2024, chemoradiation 2024. MRI: enlarging enhancement, indeterminate. "
             f"MRS to distinguish recurrent tumor from radiation necrosis.\n{later}\n")
    value = _facts(services, notes)["tumor_recurrence_vs_treatment_effect"].value
    assert value is (None if withdrawn else True)


def test_a_pre_operative_mrs_before_a_planned_resection_is_treatment_planning(services):
    notes = ("Posterior fossa brain tumor with hydrocephalus; histologic type uncertain on MRI.\n"
             "Plan: resection 10/14. Pre-operative MR spectroscopy to predict tumor type and guide the resection.\n")
    assert _facts(services, notes)["treatment_planning_or_response"].value is True
    assert _decide(services, "healthhelp-mrs", notes, age=9).recommendation != "does_not_meet_criteria"


# --- session 10: the held-out classes of session 9 (writers M, N), in new words --------------
def test_a_second_clause_keeps_its_own_negation(services):
    """"results are withheld ... and will not change care": the first clause's "not" ends at the
    coordinated verb, so the second clause's own statement stands (and denies the request)."""
    notes = ("Recurrent GBM, MRI: enlarging enhancement, recurrence vs radiation necrosis, inconclusive.\n"
             "Research: under protocol 22-110 an MRS (76390) is acquired; its values are not shared with the "
             "treating team and will not change her care.\n")
    assert _facts(services, notes)["no_management_change"].value is True
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "does_not_meet_criteria"


@pytest.mark.parametrize("latest", [
    "Neurosurgery 05/09/2025: needle biopsy set for 05/14. Please put the MRS request on hold; we will "
    "resubmit MR spectroscopy only if the biopsy is nondiagnostic.",
    "Neurosurgery 05/09/2025: needle biopsy set for 05/14. MRS would only be done if the biopsy is "
    "nondiagnostic.",
])
def test_a_later_document_holding_the_mrs_undoes_an_older_orders_request(services, latest):
    order = ("[DOC 1] ORDER 05/02/2025\nExam: MR spectroscopy brain (76390). Reason: ring-enhancing lesion, "
             "tumor vs abscess.\n\n[DOC 2] MRI 05/01/2025\nImpression: indeterminate ring-enhancing lesion, "
             "abscess vs necrotic neoplasm.\n\n")
    response = _decide(services, "nia-brain-mrs", order + "[DOC 3] " + latest + "\n")
    assert response.recommendation == "needs_more_information"
    assert "tumor_vs_nontumor_lesion" in response.trace.missing_facts
    assert _decide(services, "nia-brain-mrs", order).recommendation == "meets_criteria"  # control


def test_a_later_read_of_stable_post_treatment_change_withdraws_the_question_an_earlier_one_does_not(services):
    request = ("[1] NOTE 03/02/2025\nGlioblastoma resected 2023, chemoradiation 2023. New 8 mm enhancing focus "
               "at the cavity: recurrence vs radiation necrosis. Plan: MRS (76390).\n\n")
    later = "[2] ADDENDUM 03/12/2025\nOutside studies compared: unchanged since 2024, most consistent with stable post-treatment change.\n"
    assert _facts(services, request + later)["tumor_recurrence_vs_treatment_effect"].value is None
    earlier = ("MRI 2024: consistent with stable post-treatment change.\n" + request.split("\n", 1)[1])
    assert _facts(services, earlier)["tumor_recurrence_vs_treatment_effect"].value is True


@pytest.mark.parametrize("notes, fact, expected", [
    # a clipped aneurysm written with punctuation between its words is a clip
    ("PSH: L PCOM aneurysm, s/p craniotomy & clipping 2011.\nGlioblastoma, recurrence vs radiation necrosis on "
     "MRI, inconclusive. New aphasia. MRS requested.\n", "aneurysm_clip", True),
    # a later document confirming the diagnosis is read though an older one stated the reason
    ("ITEM 1 - CONSULT 02/03/2025\nAssessment: possible MELAS vs stroke. MRI indeterminate.\n\n"
     "ITEM 2 - GENETICS 02/20/2025\nm.3243A>G detected. Diagnosis: MELAS, confirmed.\n"
     "Proceed with brain MRS to quantify lactate.\n", "mitochondrial_disorder", True),
    # a neonatal diagnosis dated long ago is still the child's
    ("16-month-old. Born after cord prolapse; diagnosed with neonatal hypoxic-ischemic encephalopathy and cooled "
     "for 72 h (05/2024).\nMRI 09/2025 indeterminate. MRS requested for prognosis of the HIE.\n", "neonatal_period_hie", True),
    # a parenthesis left open at a line break does not end the sentence (the sibling's, not hers)
    ("Sister (age\n9) was diagnosed with Leigh syndrome at another hospital.\nMRS requested.\n", "mitochondrial_disorder", None),
    # a cue reaches as many words across line breaks as on one line
    ("Her brother was\nrecently\nand\nformally\ndiagnosed\nwith Leigh syndrome.\nMRS requested.\n",
     "mitochondrial_disorder", None),
    # a diagnosis the note calls not established is asked
    ("Fatigue and exercise intolerance. Assessment: mitochondrial disease in this patient NOT\n"
     "established. Plan: MR spectroscopy brain (76390) to look for a lactate peak.\n", "mitochondrial_disorder", None),
])
def test_what_the_notes_say_of_a_fact_is_read_as_written(services, notes, fact, expected):
    found = _facts(services, notes)
    assert (found[fact].value if fact in found else None) is expected


def test_a_muscle_mrs_under_cohere_is_the_physicians_to_decide_and_another_region_is_outside(services):
    muscle = ("Neuromuscular clinic. Genetically confirmed mitochondrial myopathy (m.3243A>G); exercise intolerance "
              "worse over 2 months. Thigh MRI 05/2025: nonspecific, inconclusive.\n"
              "Request: 31P MR spectroscopy of the right quadriceps to quantify PCr recovery.\n")
    assert _facts(services, muscle)["muscle_mrs_requested"].value is True
    response = _decide(services, "cohere-mrs", muscle, age=30)
    assert response.recommendation == "needs_more_information"
    assert response.trace.missing_facts == ["other_region_covered"]
    assert _decide(services, "healthhelp-mrs", muscle, age=30).recommendation == "does_not_meet_criteria"
    prostate = "PSA 9.1, MRI prostate PI-RADS 3, equivocal. Request: MR spectroscopy of the prostate to target biopsy.\n"
    assert "muscle_mrs_requested" not in _facts(services, prostate)
    assert _decide(services, "cohere-mrs", prostate, age=66).recommendation == "does_not_meet_criteria"


def test_a_purpose_named_outside_the_stated_reason_is_asked_not_closed(services):
    notes = ("HPI: tingling for 6 months. MRI brain: nonspecific white-matter foci; incidental 8 mm right temporal "
             "lesion, DNET vs focal cortical dysplasia.\n"
             "Assessment: possible MS vs migraine.\nPlan: MRS brain.\n")
    response = _decide(services, "nia-brain-mrs", notes)
    assert response.recommendation == "needs_more_information"  # was a denial: closure made the lesion's question false
    assert "tumor_vs_nontumor_lesion" in response.trace.missing_facts


def test_a_patients_worry_names_a_disease_without_asserting_it(services):
    notes = "A/P: tension-type headache; she is worried about MS. MRI normal. MRS to screen, per patient request.\n"
    found = _facts(services, notes)
    assert "multiple_sclerosis" not in found  # not even asked: a worry is no suspicion the clinician states


@pytest.mark.parametrize("plan", ["MRS needed to plan hematopoietic stem cell transplant.",
                                  "MRS brain for planning of HSCT."])
def test_planning_a_transplant_is_therapy_planning(services, plan):
    notes = f"Krabbe disease, early infantile, confirmed by GALC sequencing. {plan}\n"
    assert _facts(services, notes)["therapy_planning_needed"].value is True


@pytest.mark.parametrize("notes, fact, expected", [
    ("Neurology: prior work-up normal; MS was not diagnosed.\n", "multiple_sclerosis", False),
    ("Mitochondrial disease was not confirmed by muscle biopsy.\nMRS brain requested.\n", "mitochondrial_disorder", None),
])
def test_an_auxiliary_before_the_denial_does_not_swallow_it(services, notes, fact, expected):
    """medspaCy's forward "was not" took the "not" of "was not diagnosed" and negated nothing."""
    assert _facts(services, notes)[fact].value is expected


@pytest.mark.parametrize("notes, fact, expected", [
    ("Chronic headaches. He\nread online that MRS can show the damage from old concussions and asks for it.\n"
     "Plan: MRS brain (76390) per patient request.\n", "traumatic_brain_injury", None),
    ("Leigh syndrome was ruled\nout by exome sequencing. MRS brain requested.\n", "mitochondrial_disorder", False),
    ("Hypotonia. Mitochondrial disease per\nmother; no records. MRS brain requested.\n", "mitochondrial_disorder", None),
])
def test_a_cue_wrapped_across_lines_is_the_cue_on_one_line(services, notes, fact, expected):
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True)
    assert found[fact].value is expected


def test_a_cavity_presumes_a_tumor_the_notes_know_only_from_the_patient(services):
    notes = ("MRI brain: post-craniotomy changes, right frontal resection cavity;\n8 mm enhancing focus at its margin, "
             "residual/recurrent neoplasm vs post-treatment change.\n"
             "A/P: Hx of resected brain tumor (type unknown, PER PT). MRS to eval recurrence vs post-op change.\n")
    assert _facts(services, notes)["known_brain_tumor"].value is None
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "needs_more_information"


# --- session 11 (dev8: writers O, P) ---------------------------------------------------------
def test_a_lesion_whose_kind_is_in_doubt_is_still_a_lesion(services):
    notes = ("MRI brain 03/2025: 1.8 cm T2-bright lesion of the left thalamus, faint enhancement. "
             "Impression: low-grade glioma versus tumefactive demyelination.\n"
             "Assessment: right-sided numbness. Neoplasm not established.\n"
             "Plan: MR spectroscopy to help tell tumor from a demyelinating process.\n")
    found = _facts(services, notes)
    assert found["brain_mass_or_lesion"].value is True
    assert found["tumor_vs_nontumor_lesion"].value is True
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "meets_criteria"
    # ... while a tumor the notes assert and doubt stays in doubt
    doubted = "Known tumor per outside note; neoplasm not established here. MRS brain requested.\n"
    assert _facts(services, doubted)["brain_mass_or_lesion"].value is not True


@pytest.mark.parametrize("line, expected", [
    ("MRI safety screen negative.", False),
    ("Depression screen was positive last year.", False),
    ("MRS brain as a screening study.", True),
])
def test_a_screen_with_its_result_is_a_test_done_not_a_reason(services, line, expected):
    notes = f"Plan:\n1. MR spectroscopy (76390) to tell glioma from demyelination.\n2. {line}\n"
    found = _facts(services, notes)
    assert ("non_covered_reason" in found and found["non_covered_reason"].value is True) is expected


def test_an_encephalopathy_only_suspected_leaves_its_prognosis_asked(services):
    notes = ("Cirrhosis, on transplant evaluation. Daughter reports forgetfulness; exam normal. "
             "A/P: ?covert hepatic enceph vs none. Request MRS brain for prognosis before listing.\n")
    assert _facts(services, notes)["encephalopathy_prognosis"].value is None
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "needs_more_information"
    stated = ("Cardiac arrest 6 days ago; anoxic encephalopathy, comatose. "
              "MRS brain requested for prognosis to guide goals of care.\n")
    assert _facts(services, stated)["encephalopathy_prognosis"].value is True


def test_a_relative_who_says_reports_and_a_wrapped_line_keeps_the_cue(services):
    notes = ("Mother says the doctors at the previous hospital told them when he was a baby that\n"
             "4 of his tests pointed to Canavan disease; no records. MRS brain requested.\n")
    assert _facts(services, notes)["metabolic_disorder"].value is not True


def test_a_numbered_packet_of_titled_documents_is_split_and_the_latest_governs(services):
    notes = ("(1) Imaging order, 05/01/2025: MRS brain. Dx: indeterminate left parietal mass.\n"
             "(2) MRI brain report, 04/29/2025: ring enhancement; indeterminate, glioma vs demyelination.\n"
             "(3) Neuroradiology addendum, 05/20/2025: after steroids the lesion shrank; the MRI is now\n"
             "diagnostic of tumefactive demyelination and no longer indeterminate.\n")
    assert len(documents(notes)) == 3
    assert _facts(services, notes)["conventional_imaging_inconclusive"].value is False
    assert len(documents("Plan:\n(1) MRS brain\n(2) follow up in clinic\n")) == 1


ICD_FORM = ("ADVANCED IMAGING REQUEST   Procedure: 76390 MR spectroscopy (brain)\n"
            "Diagnosis codes:\n  {code}\n  Z92.3   Personal history of irradiation\n"
            "Clinical question:\n  [X] Recurrent tumor vs radiation necrosis\n  [ ] Biopsy planning\n"
            "Conventional imaging result: [ ] inconclusive [ ] conclusive\nAdditional information: ***\n")


@pytest.mark.parametrize("code, expected", [
    ("C71.2   Malignant neoplasm of temporal lobe", "meets_criteria"),
    ("C79.31  Secondary malignant neoplasm of brain", "meets_criteria"),
    ("R51.9   Headache, unspecified", "needs_more_information"),
])
def test_a_diagnosis_code_on_the_order_form_states_the_diagnosis(services, code, expected):
    """A coded diagnosis is a confirmed one (coding guidelines code no "suspected"), as in DTR's CQL."""
    notes = ICD_FORM.format(code=code)
    assert _decide(services, "nia-brain-mrs", notes).recommendation == expected


def test_the_codes_read_as_a_known_tumor_are_those_dtr_prepopulates(services):
    """The note reader and DTR's CQL read one code list: every code a note's order form turns into a known
    tumor is a family `fhir/cql.py` pre-populates from an active Condition (D49.6 is left to the clinician)."""
    from mrs_assist.fhir.cql import DIAGNOSIS_CODES

    families = DIAGNOSIS_CODES["known_brain_tumor"]
    for code in ("C71.0", "C71.9", "C79.31", "D33.0", "D33.2", "D43.1", "D49.6", "C79.51", "C34.90"):
        read = _facts(services, f"Diagnosis codes: {code}\n").get("known_brain_tumor")
        asserted = read is not None and read.value is True
        assert asserted == (code.startswith(families) and code != "D49.6"), code


def test_a_diagnosis_code_ruled_out_states_nothing(services):
    notes = "Order: MRS brain. Dx: R90.0. Rule out C71.9 - not established.\nMRS to tell recurrence from necrosis.\n"
    tumor = _facts(services, notes).get("known_brain_tumor")
    assert tumor is None or tumor.value is not True


@pytest.mark.parametrize("words", ["Device is NOT\nMR-conditional per the registry.", "It is not MR Conditional."])
def test_a_device_denied_its_mr_conditional_label_stays_unsafe(services, words):
    notes = f"Safety call: patient reports a dual-chamber pacemaker placed 2012 for heart block, legacy leads. {words}\nPlan: MRS brain.\n"
    assert _facts(services, notes)["mri_unsafe_implant"].value is True


def test_a_study_named_only_in_a_question_is_not_the_one_requested(services):
    notes = ("RADIOLOGY ORDER 08/12/2025. CPT 76390. Exam (from order): MRI BRAIN PERFUSION (DSC) W/WO - eval lesion.\n"
             "Scheduler 08/13: order text says perfusion, code says spectroscopy - which?\n")
    assert _facts(services, notes)["service_not_mrs"].value is None


def test_a_field_answered_none_answers_its_own_sentence_only(services):
    notes = "Dx: Meningioma resected 06/2021. Current treatment: none. MRI: recurrence vs scar. MRS brain requested.\n"
    assert _facts(services, notes)["known_brain_tumor"].value is not False


@pytest.mark.parametrize("sentence", ["Patient is a surgical candidate; resection planned.",
                                      "Conference: she is a candidate for left temporal resective surgery."])
def test_a_surgical_candidacy_in_its_own_sentence_is_a_presurgical_evaluation(services, sentence):
    notes = (f"Assessment: drug-resistant left temporal lobe epilepsy, video-EEG concordant. {sentence}\n"
             "Plan: MR spectroscopy of both hippocampi for lateralization.\n")
    assert _facts(services, notes)["epilepsy_presurgical"].value is True
    tumor = "Glioblastoma with two seizures at onset. Patient is a surgical candidate. MRS brain requested.\n"
    seizures = _facts(services, tumor).get("epilepsy_presurgical")
    assert seizures is None or seizures.value is not True


def test_a_recent_mri_in_a_template_whose_symptom_fields_are_blank_leaves_cohere_asking(services):
    notes = ("NEUROSURGERY FOLLOW-UP   DOS 10/07/2025\nDiagnosis: meningioma, resected 06/2021.\n"
             "Interval history: ***\nHeadaches: ***     Seizures: [ ] yes [ ] no\n"
             "MRI brain w/wo 09/02/2025: 8 mm enhancing focus at the resection bed, residual tumor vs "
             "post-operative change. Indeterminate.\nPlan: MRS brain to distinguish recurrent meningioma "
             "from post-surgical change.\n")
    response = _decide(services, "cohere-mrs", notes)
    assert response.recommendation == "needs_more_information"
    assert "recent_advanced_imaging_without_change" in response.trace.missing_facts


@pytest.mark.parametrize("notes, fact", [
    # a normal mri of another region says nothing of the brain study
    ("MRI brain 01/2025: indeterminate right frontal lesion. MRI cervical spine 01/2025: normal.\n"
     "Plan: MRS to distinguish tumor from demyelination.\n",
     "conventional_imaging_inconclusive"),
    # a quoted impression is one sentence
    ("Exam: new left facial numbness.\nMRI brain w/wo 02/03/2025: 1.9 cm expansile lesion of the right pons.\n"
     'IMPRESSION: "Low-grade glioma versus inflammatory lesion versus hamartoma.\n'
     'Indeterminate. Consider MR spectroscopy."\nPlan: MRS brain to help tell tumor from inflammation.\n',
     "conventional_imaging_inconclusive"),
    # a misspelled encephalopathy still names the prognosis question
    ("Cirrhosis, recurrent overt hepatic encephalopthy, 3 admissions this year; asterixis on exam.\n"
     "A: recurrent HE.\nP: MRS brain (76390) to grade severity for prognosis before transplant listing.\n",
     "encephalopathy_prognosis"),
    # the date a diagnosis was confirmed does not make it history
    ("Member has MERRF, confirmed by mtDNA testing (m.8344A>G, 80% in muscle) in\n"
     "2021, followed by genetics. New myoclonus and ataxia this month; MRI brain indeterminate.\n"
     "Plan: MRS brain for lactate to guide therapy.\n",
     "mitochondrial_disorder"),
    # a device called not mri conditional across a line break is unsafe
    ("EP addendum: dual-chamber pacemaker with an abandoned lead left in place. Because of the lead the SYSTEM IS NOT\n"
     "MRI-CONDITIONAL.\nPlan: MRS brain.\n",
     "mri_unsafe_implant"),
    # planning a second course of a treatment is treatment planning
    ("Glioblastoma s/p chemoradiation 2024. MRI 03/2025 indeterminate. MRS brain to plan re-irradiation.\n",
     "treatment_planning_or_response"),
    # a letter dropped in a hurried note still names the question
    ("GBM s/p chemoradiation 2024. New confusion. MRI 05/2025 indeterminate. A/P: order MRS to differenciate "
     "recurent tumor vs radation necrosis.\n", "tumor_recurrence_vs_treatment_effect"),
    # a judgement under a header that ends the line before reads with the header
    ("MRI BRAIN 01/2025: DIFFUSE WHITE MATTER T2 HYPERINTENSITY. NO ENHANCEMENT. IMPRESSION:\n"
     "LEUKODYSTROPHY PATTERN, NONSPECIFIC; INDETERMINATE BETWEEN CANAVAN AND ALEXANDER DISEASE.\n",
     "conventional_imaging_inconclusive"),
    # ... and with a misspelled header
    ('MRI 06/2025: new 3 cm left frontal lesion, open ring enhancement.\nImpresion: "Tumefactive demyelination '
     'favored; glioma not\nexcluded. Indeterminate."\nPlan: MRS brain.\n', "conventional_imaging_inconclusive"),
    # a cyst is a non-tumor alternative
    ("MRI brain: 1.3 cm cystic pineal lesion with a 3 mm enhancing nodule; pineal cyst favored, cystic tumor not "
     "excluded; indeterminate.\nPlan: MRS to help distinguish a simple cyst from a neoplasm.\n", "tumor_vs_nontumor_lesion"),
])
def test_what_session_11_reads_as_asserted(services, notes, fact):
    assert _facts(services, notes)[fact].value is True


@pytest.mark.parametrize("notes, fact, policy, age, outcome", [
    # a research purpose under its own header wrapped over lines is read
    ("CLINICAL: 30 yo, moderate traumatic brain injury 2021, stable deficits, followed in clinic.\n\n"
     "PURPOSE OF STUDY: ENROLLED IN AN INSTITUTIONAL LONGITUDINAL IMAGING PROTOCOL. THE 24-MONTH\n"
     "TIMEPOINT IS REQUIRED BY THE PROTOCOL. RESULTS ARE FOR RESEARCH PURPOSES ONLY.\n",
     "no_management_change", "healthhelp-mrs", 50, "does_not_meet_criteria"),
    # no diffuse axonal injury is no denial of the brain injury
    ("Summary: the ordering physician states the member had a moderate traumatic brain injury in a fall "
     "on 02/2025 (LOC, CT contusion).\nSince then: slowed processing on testing. MRI 04/2025: no DAI-pattern "
     "lesions seen.\nRequest: MRS to guide cognitive rehabilitation.\n",
     "traumatic_brain_injury", "healthhelp-mrs", 30, "meets_criteria"),
    # a request form whose site box names another organ is outside the brain
    ("PRECERTIFICATION FORM\nCPT: 72197 MRI pelvis; 76390 MR spectroscopy\n"
     "Site: [ ] Brain  [X] Prostate bed / pelvis  [ ] Other\n"
     "Reason for exam: MRI of the prostate bed with spectroscopy to localize recurrence before salvage RT.\n",
     "non_brain_mrs_requested", "nia-brain-mrs", 70, "does_not_meet_criteria"),
])
def test_what_session_11_reads_decides_the_request(services, notes, fact, policy, age, outcome):
    assert _facts(services, notes)[fact].value is True
    assert _decide(services, policy, notes, age=age).recommendation == outcome


def test_a_study_dated_weeks_ago_beside_no_new_symptoms_is_no_recent_onset(services):
    notes = "Glioma s/p resection. MRI brain 5 weeks ago, no new symptoms. MRS to tell recurrence from necrosis.\n"
    assert _facts(services, notes)["new_or_worsening_symptoms"].value is False


@pytest.mark.parametrize("sentence", ['Dr. Ames says MRS would "objectively document traumatic brain injury".',
                                      "MRS is requested to establish a traumatic brain injury."])
def test_what_the_study_is_to_document_is_not_yet_established(services, sentence):
    notes = f"Member recalls a blow to the head in 2023, no records. MRI brain normal. {sentence}\n"
    assert _facts(services, notes)["traumatic_brain_injury"].value is not True


def test_encephalomalacia_names_no_encephalopathy(services):
    notes = "Old right frontal encephalomalacia. Cardiac arrest 2 days ago, comatose. MRS brain for prognosis.\n"
    assert "encephalopathy" not in _facts(services, notes)


def test_a_plan_conditioned_on_the_mrs_result_does_not_make_the_mrs_conditional(services):
    notes = ("MRI brain 09/2025: 1.2 cm enhancing lesion by the left frontal horn; CNS lymphoma versus demyelination; "
             "indeterminate.\nAssessment: new lesion - tumor (CNS lymphoma) vs non-tumor.\n"
             "Plan: MR spectroscopy. Will proceed to biopsy if MRS suggests neoplasm; if MRS favors demyelination, "
             "will obtain LP and treat.\n")
    assert _facts(services, notes)["tumor_vs_nontumor_lesion"].value is True


# --- session 12 (dev9: writers Q, R) ---------------------------------------------------------
def test_a_device_removed_after_it_was_recorded_contests_the_older_entry(services):
    notes = ("Problem list (imported 2017): ICD placed 03/2016 for cardiomyopathy, not MRI compatible.\n"
             "EP clinic letter 02/2024: the defibrillator system was explanted 01/10/2024 after lead "
             "infection; no new device was implanted.\n"
             "MRI brain 10/2025: enhancing focus at the resection bed of a treated GBM, recurrence vs "
             "radiation necrosis, indeterminate. New aphasia.\n"
             "Plan: MRS to distinguish recurrence from radiation necrosis.\n")
    device = _facts(services, notes)["mri_unsafe_implant"]
    assert device.value is None and device.contrary  # asked, with the disagreement shown
    assert _decide(services, "cohere-mrs", notes).recommendation != "does_not_meet_criteria"
    # a device recorded and never said to be removed still counts
    kept = notes.replace("the defibrillator system was explanted 01/10/2024 after lead infection; no new "
                         "device was implanted", "device check normal")
    assert _facts(services, kept)["mri_unsafe_implant"].value is True


@pytest.mark.parametrize("status", [
    "The packet does not say whether the stimulator is MRI-conditional.",
    "MR conditional status: not documented.",
    "Possibly MRI safe - awaiting the manufacturer card.",
])
def test_a_device_qualifier_the_notes_do_not_assert_qualifies_nothing(services, status):
    notes = (f"Vagus nerve stimulator implanted 2019 for epilepsy. {status}\n"
             "MRS brain requested for presurgical lateralization of refractory temporal lobe epilepsy.\n")
    assert _facts(services, notes)["mri_unsafe_implant"].value is None
    stated = "Vagus nerve stimulator implanted 2019 (MR Conditional per device card). MRS brain requested.\n"
    assert _facts(services, stated)["mri_unsafe_implant"].value is False


def test_a_diagnosis_the_record_calls_unconfirmed_or_puts_as_a_question_is_not_asserted(services):
    before = ("Grandfather relates a diagnosis of leukodystrophy made abroad; no reports. "
              "Exam: spasticity.\nAssessment: Unverified leukodystrophy.\n")
    assert _facts(services, before + "MRS brain requested.\n")["leukodystrophy"].value is None
    question = "Plan: MRS brain to confirm or exclude a leukodystrophy.\n"
    assert _facts(services, "School-age girl with gait decline, exam spastic.\n" + question)["leukodystrophy"].value is None


@pytest.mark.parametrize("line", [
    "Spectroscopy results will not be used for seizure, school or treatment decisions.",
    "MR spectroscopy is not used for any dosing or management decisions in this registry.",
])
def test_a_study_said_not_to_serve_the_patients_care_is_not_medically_necessary(services, line):
    notes = ("Sport-related concussion 3 weeks ago, improving.\n"
             f"Plan: enrolled in the recovery cohort; MRS brain at 1 and 6 months. {line}\n")
    assert _facts(services, notes)["no_management_change"].value is True
    assert _decide(services, "healthhelp-mrs", notes).recommendation == "does_not_meet_criteria"


def test_a_study_done_per_a_trial_protocol_is_asked_not_decided(services):
    notes = ("Concussion 2 weeks ago, symptoms improving.\n"
             "Plan: MR spectroscopy brain per study protocol (cohort visit 2).\n")
    assert _facts(services, notes)["no_management_change"].value is None


def test_a_form_that_answers_its_new_symptom_question_no_leaves_the_three_month_rule_asked(services):
    notes = ("PRIOR AUTHORIZATION FORM    Date: 06/20/2025\n"
             "Dx: C71.0 glioblastoma, treated with chemoradiation, last dose 12/2024.\n"
             "Indication: [X] tumor recurrence vs treatment effect\n"
             "Conventional imaging inconclusive? [X] Yes [ ] No\n"
             "Last MRI brain: 06/02/2025\n"
             "Any new or worsening symptoms since that study?  ( ) Yes  (X) No\n")
    found = _facts(services, notes)
    assert found["recent_advanced_imaging_without_change"].value is None
    assert _decide(services, "cohere-mrs", notes).recommendation == "needs_more_information"


def test_a_header_with_an_aside_before_its_colon_is_still_that_section(services):
    notes = ("Neuro-oncology visit 04/2025.\n"
             "PAST HISTORY (pulled from the 2018 chart):\n"
             "  Pacemaker 2016, not MR conditional.\n\n"
             "Plan (per tumor board): MRS to distinguish recurrence from radiation necrosis.\n")
    device = _facts(services, notes)["mri_unsafe_implant"]
    assert device.value is True and device.evidence[0].section == "past_history"
    purpose = _facts(services, notes)["tumor_recurrence_vs_treatment_effect"]
    assert purpose.value is True and purpose.evidence[0].section == "plan"


def test_a_reason_field_left_blank_leaves_a_purpose_read_from_elsewhere_asked(services):
    notes = ("Neurology clinic note\n"
             "MRI brain: 2 cm non-enhancing right frontal lesion; impression: low-grade glioma or "
             "a demyelinating plaque.\n"
             "Reason for study: ***\n"
             "Orders: MR spectroscopy brain (76390).\n")
    assert _facts(services, notes)["tumor_vs_nontumor_lesion"].value is None
    assert _decide(services, "floridablue-mrs", notes).recommendation == "needs_more_information"
    filled = notes.replace("Reason for study: ***", "Reason for study: tumor vs demyelination")
    assert _facts(services, filled)["tumor_vs_nontumor_lesion"].value is True


def test_an_interval_header_ends_a_copied_history_list(services):
    notes = ("TREATMENT HISTORY (copied from 2023 consult):\n"
             " - Right temporal GBM, resected 2023; chemoradiation completed 11/2023\n"
             "INTERVAL: new left arm weakness since 05/2025.\n"
             "MRI 05/20/2025: new enhancement at the cavity, recurrence versus radiation necrosis - "
             "indeterminate.\n"
             "Plan: MRS to distinguish recurrence from radiation necrosis.\n")
    found = _facts(services, notes)
    assert found["new_or_worsening_symptoms"].evidence[0].section == "hpi"
    assert found["conventional_imaging_inconclusive"].value is True


def test_a_one_word_verdict_continues_the_wrapped_impression_before_it(services):
    notes = ("MRI BRAIN 02/2026: 2.9 CM RIGHT FRONTAL RING-ENHANCING LESION. IMPRESSION: ABSCESS\n"
             "FAVORED; NECROTIC GLIOBLASTOMA NOT EXCLUDED. EQUIVOCAL.\n"
             "PLAN: MRS TO HELP TELL ABSCESS FROM TUMOR.\n")
    assert _facts(services, notes)["conventional_imaging_inconclusive"].value is True
    # ... while a verdict about something other than imaging is not read as one
    other = "Thyroid panel drawn; result: TSH 2.1.\nIndeterminate.\nPlan: MRS to tell abscess from tumor.\n"
    assert "conventional_imaging_inconclusive" not in _facts(services, other) or \
        _facts(services, other)["conventional_imaging_inconclusive"].value is not True


def test_a_biopsy_another_modality_guides_is_not_one_the_mrs_guides(services):
    notes = ("Known left frontal glioma, stable. New 9 mm thyroid nodule; CT-guided core biopsy next week.\n"
             "MR spectroscopy ordered.\n")
    found = _facts(services, notes)
    assert "biopsy_guidance" not in found or found["biopsy_guidance"].value is not True
    wanted = "Known left frontal glioma, enlarging. Plan: MRS to guide the stereotactic biopsy target.\n"
    assert _facts(services, wanted)["biopsy_guidance"].value is True


def test_a_diagnosis_given_with_the_date_it_was_made_is_still_the_patients(services):
    notes = ("Genetics clinic 01/15/2025.\n"
             "DIAGNOSIS: metachromatic leukodystrophy - confirmed by ARSA enzyme assay (03/2022).\n"
             "PURPOSE OF MRS: follow the white-matter disease before gene therapy.\n")
    assert _facts(services, notes)["leukodystrophy"].value is True
    # the stated purpose is no tumor question: NIA decides, instead of asking about tumors
    assert _decide(services, "nia-brain-mrs", notes).recommendation == "does_not_meet_criteria"


def test_a_copied_forward_banner_and_its_end_marker_bound_the_copied_text(services):
    notes = ("### Past problems (copied fwd from 2018 visit) ###\n"
             "  - Mild TBI 2018 after a fall\n"
             "### end copied text ###\n"
             "A/P: MR spectroscopy requested to characterise a new left temporal lesion, glioma "
             "versus abscess.\n")
    found = _facts(services, notes)
    assert found["traumatic_brain_injury"].value is not True
    assert found["traumatic_brain_injury"].evidence[0].section == "prior_note"
    assert found["tumor_vs_nontumor_lesion"].value is True


def test_imbalance_getting_worse_and_a_patient_now_symptomatic_are_new_symptoms(services):
    notes = ("Treated left occipital metastasis (SRS 2024). For two weeks, increasing unsteadiness on stairs; "
             "now symptomatic.\nMRI 05/01/2025: enlarging treated lesion, indeterminate: necrosis vs progression.\n"
             "Request 05/10/2025: MRS to distinguish recurrence from radiation necrosis.\n")
    found = _facts(services, notes)
    assert found["new_or_worsening_symptoms"].value is True
    assert "recent_advanced_imaging_without_change" not in found or \
        found["recent_advanced_imaging_without_change"].value is not True
    assert _decide(services, "cohere-mrs", notes).recommendation == "meets_criteria"


def test_a_study_of_another_region_that_excludes_a_tumor_says_nothing_of_the_brain_lesion(services):
    notes = ("MRI brain: 2.2 cm ring-enhancing left parietal lesion, abscess versus necrotic metastasis; "
             "the read is not definitive. PET/CT of the body negative for a primary malignancy.\n"
             "Plan: MRS to distinguish abscess from tumor.\n")
    found = _facts(services, notes)
    assert found["brain_mass_or_lesion"].value is True and not found["brain_mass_or_lesion"].contrary
    assert found["conventional_imaging_inconclusive"].value is True
    assert _decide(services, "floridablue-mrs", notes).recommendation == "meets_criteria"


@pytest.mark.parametrize("read", [
    'Rad read: "indeterminit, cant exclud a higher-grade component."',
    "Conventional sequences indeterminate.",
    'Imp: "nonspecific - low-grade glioma vs gliosis."',
])
def test_an_inconclusive_read_written_in_a_hurry_is_still_inconclusive(services, read):
    notes = (f"Known left frontal low-grade glioma, resected 2022. MRI 10/2025: new nodular enhancement. {read}\n"
             "Plan: MRS to grade the tumor before re-resection.\n")
    assert _facts(services, notes)["conventional_imaging_inconclusive"].value is True


def test_a_diagnosis_the_record_says_was_entered_in_error_is_denied(services):
    notes = ("Problem list: anaplastic astrocytoma entered in error (a preliminary read, later revised).\n"
             "MRI 03/2025: two periventricular demyelinating plaques. MRS brain requested.\n")
    assert _facts(services, notes)["known_brain_tumor"].value is False


def test_a_fragment_placed_in_a_limb_leaves_the_critical_area_question_asked(services):
    notes = ("GBM s/p chemoradiation; MRI indeterminate, recurrence vs radiation necrosis; new seizure.\n"
             "Other history: blast injury 2008 with retained metal fragments in the right forearm.\n"
             "Plan: MRS to distinguish recurrence from radiation necrosis.\n")
    assert _facts(services, notes)["metallic_foreign_body"].value is None
    assert _decide(services, "cohere-mrs", notes).recommendation == "needs_more_information"
    orbit = notes.replace("in the right forearm", "in the left orbit")
    assert _facts(services, orbit)["metallic_foreign_body"].value is True
