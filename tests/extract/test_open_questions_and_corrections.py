"""Session 14 (issue 18): an open question nobody answered asserts nothing it lists; a request
whose clinical question is said to be unknown is not approved on a purpose read from elsewhere;
an order correction naming the brain takes back the wrong site; a form's "free text" label is no
negation; a traumatic or vascular lesion is a non-tumor alternative. Each tested in words of its
own."""

from __future__ import annotations

import pytest

from mrs_assist.extract import extract_facts
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services()


def _fact(services, notes, fact):
    found = extract_facts(notes, catalogue=services.catalogue, mrs_requested=True).get(fact)
    return found


def _value(services, notes, fact):
    """The fact's reading as a word: "true", "false", "unknown" (documented, asked) or "absent"."""
    found = _fact(services, notes, fact)
    return "absent" if found is None else {True: "true", False: "false", None: "unknown"}[found.value]


def _decide(services, policy_id, notes, age=50):
    request = DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes,
                                   patient={"age_years": age})
    return services.determine(request).recommendation


# --- an open question ------------------------------------------------------------------------
@pytest.mark.parametrize("asked", [
    # the alternative sits past a negation's reach: read as asked, not as stated
    "The front desk could not say whether the spectroscopy is for diagnosis, staging, severity scoring or prognosis.",
    "Scheduler was unable to confirm if the requested study is for diagnosis, for severity or for prognosis.",
    "Office staff cannot tell whether the MRS is meant for a baseline, for monitoring or for prognosis.",
])
def test_an_unanswered_question_names_a_purpose_without_stating_it(services, asked):
    notes = f"Adult with chronic liver disease and recurrent hepatic encephalopathy. MRS brain requested.\n{asked}"
    assert _value(services, notes, "encephalopathy_prognosis") == "unknown"


def test_the_same_purpose_stated_outright_is_read_true(services):
    notes = ("Adult with chronic liver disease and recurrent hepatic encephalopathy. "
             "MRS brain requested for prognosis of the encephalopathy before transplant listing.")
    assert _value(services, notes, "encephalopathy_prognosis") == "true"


def test_an_open_question_is_no_denial_of_what_it_lists(services):
    notes = ("Adult with recurrent hepatic encephalopathy. MRS brain requested.\n"
             "Clinic could not say whether the MRS is for a diagnosis, for staging or for prognosis.")
    # HealthHelp's criterion 3 is asked (pend), never approved or denied on an open question
    assert _decide(services, "healthhelp-mrs", notes) == "needs_more_information"


# --- the request's clinical question said to be unknown ---------------------------------------
_LESION = ("MRI brain last month: 5 mm nonspecific T2 focus in the right frontal white matter, "
           "gliosis or demyelination; low-grade neoplasm not entirely excluded. Indeterminate.\n")


def test_a_differential_read_from_a_report_meets_when_nothing_says_the_question_is_unknown(services):
    notes = "Outpatient order: MRS brain.\n" + _LESION + "No implants."
    assert _value(services, notes, "tumor_vs_nontumor_lesion") == "true"


@pytest.mark.parametrize("unknown", [
    "Reviewer could not identify which clinical question the spectroscopy would answer.",
    "The clinical question on the order form was left blank.",
    "Purpose of the MRS is not stated anywhere in the packet.",
])
def test_a_request_whose_question_is_unknown_leaves_an_inferred_purpose_asked(services, unknown):
    notes = "Outpatient order: MRS brain.\n" + _LESION + "No implants. " + unknown
    assert _value(services, notes, "tumor_vs_nontumor_lesion") == "unknown"
    assert _decide(services, "nia-brain-mrs", notes) == "needs_more_information"


def test_a_purpose_stated_about_the_mrs_itself_still_stands_beside_such_a_line(services):
    notes = ("Intake: the clinical question on the order form was left blank. Called the office: "
             "MRS requested to tell a low-grade glioma from demyelination in the frontal lesion.\n" + _LESION)
    assert _value(services, notes, "tumor_vs_nontumor_lesion") == "true"


# --- an order correction ---------------------------------------------------------------------
_PACKET = """=== DOCUMENT 1 of 2: ORDER (03/02/2026) ===
Exam: MR spectroscopy CPT 76390   Site: LIVER
Dx: C71.1 malignant neoplasm of frontal lobe
=== DOCUMENT 2 of 2: NEURO-ONCOLOGY NOTE (03/03/2026) ===
Treated left frontal glioblastoma (chemoradiation completed 11/2025). New enhancement on MRI 02/2026,
read as indeterminate: recurrence versus radiation necrosis. MRS to distinguish the two.
"""


def test_a_non_brain_site_on_the_order_is_out_of_scope_uncorrected(services):
    assert _value(services, _PACKET, "non_brain_mrs_requested") == "true"


def test_a_later_correction_naming_the_brain_takes_the_site_back(services):
    notes = _PACKET + "=== DOCUMENT 3 of 3: ORDER CORRECTION (03/05/2026) ===\nCorrected site: brain. CPT unchanged.\n"
    assert _value(services, notes, "non_brain_mrs_requested") == "false"
    assert _decide(services, "nia-brain-mrs", notes) == "meets_criteria"


# --- a form's free-text label ------------------------------------------------------------------
def test_a_free_text_label_does_not_negate_the_checked_option_before_it(services):
    notes = ("Procedure: 76390 MR spectroscopy, brain. Dx: E75.25 metachromatic leukodystrophy.\n"
             "Prior MRI result: [x] indeterminate\n"
             "Purpose of MRS: [ ] research  [x] therapy evaluation/planning\n"
             "    free text: timing of transplant\n")
    assert _value(services, notes, "therapy_planning_needed") == "true"


def test_a_free_interval_is_still_a_negation(services):
    notes = "Prior left frontal glioma, recurrence free for two years. MRS brain requested."
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") != "true"


# --- traumatic and vascular alternatives -------------------------------------------------------
@pytest.mark.parametrize("alternative", ["post-traumatic change", "an old contusion", "an arteriovenous malformation",
                                         "an evolving hemorrhage"])
def test_a_traumatic_or_vascular_lesion_is_the_non_tumor_side(services, alternative):
    notes = (f"Enhancing right frontal focus on MRI, indeterminate. MRS to distinguish an underlying tumor from "
             f"{alternative}.")
    assert _value(services, notes, "tumor_vs_nontumor_lesion") == "true"


# --- a later read that finds nothing new --------------------------------------------------------
_ASKED = """[1] NEURO-ONCOLOGY NOTE 05/02/2026
Right temporal oligodendroglioma, resected 2019 and irradiated 2020. Outside MRI 04/28/2026 reported a
new 6 mm enhancing nodule at the cavity rim, inconclusive for recurrence versus radiation necrosis.
Plan: MR spectroscopy to separate recurrence from radiation necrosis. Outside images requested.
"""


def test_a_recurrence_question_raised_in_the_packet_is_a_purpose(services):
    assert _value(services, _ASKED, "tumor_recurrence_vs_treatment_effect") == "true"


@pytest.mark.parametrize("over_read", [
    "Outside images reviewed. No definite new enhancement is identified at the cavity rim; limited study.",
    "The reported nodule corresponds to a normal cortical vein, unchanged since 2020.",
])
def test_a_later_read_that_finds_no_new_lesion_leaves_the_question_asked(services, over_read):
    notes = _ASKED + "[2] NEURORADIOLOGY SECOND READ 05/09/2026\n" + over_read + "\n"
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") == "unknown"
    assert _decide(services, "nia-brain-mrs", notes) == "needs_more_information"


def test_no_new_lesion_elsewhere_leaves_the_question_standing(services):
    notes = _ASKED + ("[2] NEURORADIOLOGY SECOND READ 05/09/2026\nThe rim nodule is confirmed, indeterminate. "
                      "No new lesion is identified elsewhere in the brain.\n")
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") == "true"


# --- what someone does not know -----------------------------------------------------------------
@pytest.mark.parametrize("unknown", ["He does not know the tumor type.", "She cannot recall the tumor's name."])
def test_not_knowing_a_detail_of_a_tumor_is_no_denial_of_it(services, unknown):
    notes = (f"Adult with a left frontal resection cavity. {unknown} New rim-enhancing lesion at the cavity margin, "
             "indeterminate on MRI. MRS to characterize the lesion.")
    assert _value(services, notes, "brain_mass_or_lesion") == "true"


def test_a_plain_negation_of_a_tumor_still_denies_it(services):
    notes = "Headaches for a month. No tumor on the MRI of 05/2026. MRS requested."
    assert _value(services, notes, "brain_mass_or_lesion") != "true"


# --- a recurrence asked about, with no treatment effect named -------------------------------------
_MEMORY = ("72 y/o with 8 months of memory loss. Remote right frontal meningioma, resected, no residual on "
           "later imaging.\nAssessment: memory loss, ?neurodegenerative vs vascular; {ask}\nPlan: MRS brain.")


@pytest.mark.parametrize("ask", ["r/o recurrent meningioma given hx (2009).", "? meningioma regrowth."])
def test_a_recurrence_asked_about_is_a_purpose_to_confirm_not_one_closed(services, ask):
    notes = _MEMORY.format(ask=ask)
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") == "unknown"
    # NIA's first indication may apply: asked, not denied on the other purposes
    assert _decide(services, "nia-brain-mrs", notes, age=72) == "needs_more_information"


def test_a_recurrent_tumor_stated_as_the_diagnosis_asks_nothing(services):
    notes = ("55 y/o with recurrent glioblastoma on bevacizumab since 06/2025. "
             "MRS brain requested to assess response to treatment.")
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") in ("false", "absent")
    assert _decide(services, "nia-brain-mrs", notes, age=55) == "does_not_meet_criteria"


def test_a_date_the_statement_gives_its_history_does_not_date_the_statement(services):
    from mrs_assist.extract.layout import NoteDates

    notes = "Visit 02/2026.\nA: r/o recurrence given hx (2009).\nMRI 2019: stable."
    dates = NoteDates(notes)
    line = notes.index("A:"), notes.index("\nMRI")
    assert dates.prior(line) is None
    last = notes.index("MRI 2019"), len(notes)
    assert dates.prior(last) is not None  # a statement dated by its own study still is


# --- a code only suspected to be wrong ----------------------------------------------------------
_CODED = ("Precert: CPT 76390. Study on the order: MRI brain with perfusion. Dx C71.1, Z92.3.\n"
          "Indication: recurrence vs treatment effect after chemoradiation.\n")


def test_a_code_the_notes_call_wrong_is_out_of_scope(services):
    notes = _CODED + "Scheduler: 76390 was entered in error; they want the perfusion study."
    assert _value(services, notes, "service_not_mrs") == "true"


@pytest.mark.parametrize("doubt", ["76390 may have been chosen from the menu in error.",
                                   "Scheduler: 76390 possibly miscoded, office to confirm."])
def test_a_code_only_suspected_to_be_wrong_is_asked(services, doubt):
    notes = _CODED + doubt
    assert _value(services, notes, "service_not_mrs") == "unknown"
    assert _decide(services, "nia-brain-mrs", notes) == "needs_more_information"


# --- a deferred decision, a question with both answers named, a blanked field --------------------
_ABSCESS = ("[1] CLINIC NOTE 03/02/2026\nRing-enhancing right parietal lesion, abscess versus necrotic metastasis, "
            "indeterminate on MRI. Plan: MRS to differentiate.\n")


def test_a_differential_raised_for_the_mrs_is_its_purpose(services):
    assert _value(services, _ABSCESS, "tumor_vs_nontumor_lesion") == "true"


def test_a_later_note_that_puts_off_deciding_on_the_mrs_leaves_its_purpose_asked(services):
    notes = _ABSCESS + ("[2] CLINIC NOTE 03/09/2026\nAspiration drained pus; on IV antibiotics. Repeat imaging in "
                        "two weeks; we will decide on the MRS after that.\n")
    assert _value(services, notes, "tumor_vs_nontumor_lesion") == "unknown"
    assert _decide(services, "nia-brain-mrs", notes) == "needs_more_information"


@pytest.mark.parametrize("question", ["to support or argue against", "to argue for or against"])
def test_a_question_with_both_answers_named_asks_whether_the_disorder_is_there(services, question):
    notes = (f"Child of 7 with progressive ataxia; MRI non-diagnostic. Plan: MRS for a lactate peak {question} "
             "a mitochondrial disorder.")
    assert _value(services, notes, "mitochondrial_disorder") == "unknown"


def test_a_template_field_left_unchosen_asserts_nothing(services):
    notes = ("Surveillance visit. New symptoms: {Blank single:19197::\"yes/no\"}\n"
             "MRI brain last week: new nodular enhancement at the cavity margin, indeterminate.")
    assert _value(services, notes, "new_or_worsening_symptoms") != "true"


def test_a_field_whose_value_follows_on_its_line_is_read(services):
    notes = ("Surveillance visit. New symptoms: worsening headaches for two weeks\n"
             "MRI brain last week: new nodular enhancement at the cavity margin, indeterminate.")
    assert _value(services, notes, "new_or_worsening_symptoms") == "true"


# --- a screening names what is looked for -------------------------------------------------------
@pytest.mark.parametrize("asked", ['Referred by her PCP for "MS screening".', "Sent in for an MS screen today."])
def test_a_disease_named_before_screening_is_looked_for_not_found(services, asked):
    notes = f"34-year-old with tingling feet after long runs, normal exam. {asked} MRS requested."
    assert _value(services, notes, "multiple_sclerosis") != "true"
    assert _decide(services, "healthhelp-mrs", notes, age=34) != "meets_criteria"


def test_screen_for_still_reads_forward_and_a_diagnosis_stays(services):
    assert _value(services, "MRS to screen for MS in a patient with numbness.", "multiple_sclerosis") != "true"
    assert _value(services, "Relapsing MS since 2019 on ocrelizumab. MRS requested for MS.", "multiple_sclerosis") == "true"


# --- a diagnosis placed in the differential -----------------------------------------------------
def test_a_perinatal_injury_only_in_the_differential_is_asked(services):
    notes = ("Infant of 14 months with regression since 10/2026; lactate raised. MRI: basal ganglia T2 signal, "
             "indeterminate. Leigh syndrome possible; sequela of perinatal hypoxic-ischemic injury also in the "
             "differential. Plan: MRS for a lactate doublet.")
    assert _value(services, notes, "neonatal_period_hie") == "unknown"
    assert _decide(services, "cohere-mrs", notes, age=1) != "meets_criteria"


def test_neonatal_hie_stated_outright_still_holds(services):
    notes = ("Term neonate, day 6, neonatal HIE after placental abruption, cooled for 72 hours. MRI day 5 equivocal. "
             "MRS requested for prognosis.")
    assert _value(services, notes, "neonatal_period_hie") == "true"


# --- a later report that settles the question as tumor -------------------------------------------
@pytest.mark.parametrize("settled", ['IMPRESSION: "Findings are diagnostic of tumor progression. Definitive."',
                                     "Progression confirmed on the perfusion study; starting bevacizumab."])
def test_a_later_report_that_settles_recurrence_withdraws_the_question(services, settled):
    notes = _ASKED + "[2] NEURO-ONCOLOGY NOTE 05/20/2026\n" + settled + "\n"
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") == "unknown"


def test_a_study_asked_to_confirm_progression_is_still_the_question(services):
    notes = _ASKED + "[2] ORDER 05/03/2026\nMRS to confirm progression versus radiation necrosis.\n"
    assert _value(services, notes, "tumor_recurrence_vs_treatment_effect") == "true"


# --- a disease the MRS is to monitor --------------------------------------------------------------
def test_a_disease_only_the_patient_reports_is_not_made_by_a_plan_to_monitor_it(services):
    notes = ('New patient. "Pt states she was diagnosed with MS in college." Records requested.\n'
             'Plan: MR spectroscopy to "monitor MS". Follow-up after records.')
    assert _value(services, notes, "multiple_sclerosis") == "unknown"
    assert _decide(services, "healthhelp-mrs", notes, age=24) == "needs_more_information"


def test_a_suspected_disorder_the_mrs_is_to_diagnose_stays_the_studys_purpose(services):
    notes = ("Toddler with regression; lactate raised; suspected Leigh syndrome (mitochondrial disorder), panel sent. "
             "Neuro requests MRS brain for a lactate doublet to support the diagnosis of the mitochondrial disorder.")
    assert _value(services, notes, "mitochondrial_disorder") == "true"


# --- three readings a reviewer's question exposed -------------------------------------------------
def test_non_diagnostic_followed_by_a_comma_is_not_diagnostic(services):
    notes = "MRI brain: non-diagnostic, MRS needed to plan treatment of X-linked adrenoleukodystrophy."
    assert _value(services, notes, "conventional_imaging_inconclusive") == "true"


def test_diagnostic_followed_by_a_colon_is_conclusive(services):
    notes = "MRI brain 03/2026 diagnostic: classic meningioma, no question. MRS requested anyway."
    assert _value(services, notes, "conventional_imaging_inconclusive") == "false"


def test_clips_on_an_aneurysm_are_aneurysm_clips(services):
    notes = "Metallic clips on an old vascular aneurysm, type unknown. MRS brain requested."
    assert _value(services, notes, "aneurysm_clip") == "true"


def test_a_course_of_treatment_completed_in_the_window_is_treatment_in_it(services):
    notes = ("MRI brain 2 weeks ago: stable, unchanged. She completed a course of radiation last week. "
             "MRS brain requested.")
    assert _value(services, notes, "recent_advanced_imaging_without_change") != "true"


# --- no treatment in the window --------------------------------------------------------------------
_FORM = ("REQUEST 12/01/2026. Dx C71.1, Z92.3. Clinical question: [X] recurrence vs radiation necrosis\n"
         "Prior MRI in last 90 days: [X] MRI 10/20/2026 result: [X] inconclusive\n")


@pytest.mark.parametrize("answer", ["Treatment in last 90 days:  [X] none   [ ] chemo  [ ] RT\n",
                                    "No treatment of any kind in the last 3 months.\n"])
def test_no_treatment_in_the_window_leaves_cohere_3_month_rule_asked(services, answer):
    notes = _FORM + answer + "New or worsening symptoms:  [ ] yes  [ ] no\n"
    assert _value(services, notes, "recent_advanced_imaging_without_change") == "unknown"
    assert _decide(services, "cohere-mrs", notes, age=68) == "needs_more_information"


def test_no_treatment_but_new_symptoms_leaves_the_rule_false(services):
    notes = _FORM + "Treatment in last 90 days:  [X] none\nNew or worsening symptoms: [X] yes - new aphasia\n"
    assert _value(services, notes, "recent_advanced_imaging_without_change") == "false"


# --- a clip only the member recalls ----------------------------------------------------------------
_TREATED = ("Treated right frontal oligodendroglioma; new enhancing focus in the radiation field, recurrence versus "
            "radiation necrosis, indeterminate; new aphasia, dexamethasone started. MRS requested.\n")


def test_a_clip_only_the_member_recalls_is_asked_under_cohere(services):
    notes = _TREATED + ('Safety call: member reports she had "a clip put in my head for an aneurysm" years ago; '
                        "no operative report.")
    assert _value(services, notes, "aneurysm_clip") == "unknown"
    assert _decide(services, "cohere-mrs", notes, age=60) == "needs_more_information"


def test_a_documented_clip_is_cohere_exclusion(services):
    notes = _TREATED + "PSH: craniotomy with a clip for a left MCA aneurysm (operative report attached)."
    assert _value(services, notes, "aneurysm_clip") == "true"
    assert _decide(services, "cohere-mrs", notes, age=60) == "does_not_meet_criteria"


# --- a copied banner, its end, and a device's status after a dash ----------------------------------
_BANNERED = """UM INTAKE 12/03/2026. MRS brain requested by neuro-oncology.
== Prior authorization history (auto-copied from 2025 case file) ==
06/2025: MRS for glioma grading - DENIED.
Implants: VNS placed 2017 for seizures - EXPLANTED 03/2021 (op note on file).
== end copied section ==
Treated right temporal astrocytoma; new enhancement in the radiation field 11/2026, progression versus radiation
necrosis, indeterminate. New field cut; dexamethasone started. MRS to distinguish recurrence from necrosis.
"""


def test_a_purpose_under_a_copied_banner_is_not_this_requests(services):
    assert _value(services, _BANNERED, "glioma_grading") != "true"


def test_a_device_explanted_after_a_dash_is_gone(services):
    assert _value(services, _BANNERED, "mri_unsafe_implant") == "false"
    assert _decide(services, "cohere-mrs", _BANNERED, age=44) == "meets_criteria"


def test_a_banner_marking_today_ends_the_carried_history(services):
    notes = (">> Historical problems (auto-carried from 2019 chart):\n   - R/O glioma 2019, stable since\n"
             ">> Today:\nMRI brain 09/2026: unchanged; findings conclusive for a stable benign-appearing lesion.\n"
             "Patient asks for MRS for reassurance.")
    found = _fact(services, notes, "conventional_imaging_inconclusive")
    assert found is not None and found.value is False


# --- a tumor denied elsewhere; a differential listed -----------------------------------------------
_P2P = ("71-year-old with 3 weeks of new confusion. MRI brain: 3.4 cm enhancing right temporal lesion; "
        "lymphoma vs high-grade glioma, indeterminate. No known tumor elsewhere. MRS requested before biopsy.")


def test_no_tumor_elsewhere_denies_no_tumor_here(services):
    assert _value(services, _P2P, "known_brain_tumor") != "false"
    assert _value(services, _P2P, "brain_mass_or_lesion") == "true"


def test_no_tumor_at_all_still_denies_a_known_tumor(services):
    notes = "Headaches. No known brain tumor. MRS requested for migraine."
    assert _value(services, notes, "known_brain_tumor") == "false"


def test_a_listed_differential_with_a_non_tumor_process_is_a_tumor_versus_non_tumor_question(services):
    notes = _P2P + " The MRS is to help differentiate lymphoma, glioma and demyelination."
    assert _value(services, notes, "tumor_vs_nontumor_lesion") == "true"


def test_a_list_of_tumors_alone_is_not(services):
    notes = _P2P + " The MRS is to help differentiate lymphoma, glioma and metastasis."
    assert _value(services, notes, "tumor_vs_nontumor_lesion") != "true"


# --- what the patient asks for ---------------------------------------------------------------------
def test_a_disease_in_what_the_patient_asks_for_is_their_wish(services):
    notes = ("Headaches since a fall at work; CT head normal. Patient requests 'a scan that shows concussion damage'. "
             "MRS brain ordered at the patient's request.")
    assert _value(services, notes, "traumatic_brain_injury") != "true"
    assert _decide(services, "healthhelp-mrs", notes, age=28) != "meets_criteria"


def test_a_concussion_the_clinician_diagnoses_is_a_finding(services):
    notes = "Concussion on 02/20/2026 with loss of consciousness, diagnosed in the ED. MRS brain for prognosis."
    assert _value(services, notes, "traumatic_brain_injury") == "true"
