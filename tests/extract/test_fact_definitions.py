"""Issue 18, fact precision on real documentation: what a fact's own definition asks of its
sentence (MTSamples test3 judgments, each class written here in new words). A renal flag needs a
severity that contraindicates gadolinium and a present episode; a brain mass is not an infarct or
another organ's lesion; a symptom told of a past episode, a therapy schedule or a disease's name
is not new. A fact no longer asserted stays named: unknown (asked), never false.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mrs_assist.extract import extract_facts
from mrs_assist.extract.layout import parse_dates

ABSENT = "absent"


def _value(notes: str, fact: str):
    found = extract_facts(notes).get(fact)
    return ABSENT if found is None else found.value


# --- renal insufficiency: severity and a present episode -----------------------------------------
@pytest.mark.parametrize(("notes", "expected"), [
    # severity unstated or below the contraindication: asked, with the evidence
    ("Problem list: 1. Type 2 diabetes. 2. Renal insufficiency. 3. Gout.", None),
    ("Mild chronic kidney disease, followed by nephrology.", None),
    ("Impaired renal function noted on labs.", None),
    # an acute episode told as past: asked
    ("He was hospitalized in the spring for acute kidney injury from dehydration.", None),
    ("Her postoperative course was complicated by acute renal failure.", None),
    ("Obstructing stones caused AKI two months ago.", None),
    # renal failure a transplant has since treated: asked
    ("ESRD, now status post living donor kidney transplant.", None),
    # a stated severity or a present episode still asserts; a denial or a low stage still denies
    ("Chronic kidney disease; gadolinium is contraindicated per nephrology.", True),
    ("Acute kidney injury on admission, creatinine 4.1.", True),
    ("On hemodialysis for end-stage renal disease.", True),
    ("Severe renal impairment.", True),
    ("History of chronic renal failure.", True),
    ("Renal function: eGFR 18.", True),
    ("No renal insufficiency.", False),
    ("CKD stage 2.", False),
])
def test_renal_insufficiency_needs_a_contraindicating_severity_now(notes, expected):
    assert _value(notes, "renal_insufficiency") == expected


# --- known tumor: the other side of a "most suggestive of X, though ... Y" ------------------------
def test_another_consideration_is_a_differential_not_a_known_tumor():
    notes = "The pontine finding favors a cavernoma, though another consideration would be a pilocytic astrocytoma."
    assert _value(notes, "known_brain_tumor") is None


# --- an implanted device, not the heart's own valves --------------------------------------------
@pytest.mark.parametrize(("notes", "expected"), [
    ("Echo: the cardiac valves are structurally normal.", False),
    ("CARDIAC VALVES: mild thickening of the mitral leaflets.", False),
    # a replaced valve is an implant, most often MR-conditional: asked, never asserted unsafe
    # (MTSamples test4: "well-seated mechanical aortic valve", "St. Jude mechanical valve")
    ("Mechanical heart valve, on warfarin.", None),
    ("Status post cardiac valve replacement in 2015.", None),
    ("Echo: a well-seated bileaflet mechanical mitral valve with normal gradients.", None),
])
def test_a_cardiac_valve_is_an_implant_only_when_replaced(notes, expected):
    found = _value(notes, "mri_unsafe_implant")
    assert (found is None) if expected is None else ((found is True) is expected)


# --- not the fact: a brain mass explained as something else, a symptom that is no course ---------
@pytest.mark.parametrize(("notes", "fact"), [
    ("MRI: acute infarct of the right occipital lobe without mass effect.", "brain_mass_or_lesion"),
    ("CT revealed a cortical enhancing lesion in the left frontal lobe consistent with a subacute infarct.",
     "brain_mass_or_lesion"),
    ("CT abdomen revealed several ring-enhancing lesions consistent with hepatic metastases.", "brain_mass_or_lesion"),
    ("Her oncologist suggests presenting the case at the tumor board next week.", "brain_mass_or_lesion"),
    ("Within about ten days her symptoms were back to baseline.", "new_or_worsening_symptoms"),
    ("The exam would fit progressive supranuclear palsy.", "new_or_worsening_symptoms"),
    ("Plan: outpatient speech therapy three times a week for six weeks.", "new_or_worsening_symptoms"),
])
def test_what_the_definition_excludes_is_not_asserted(notes, fact):
    assert _value(notes, fact) is not True


@pytest.mark.parametrize(("notes", "fact"), [
    ("MRI: ring-enhancing lesion in the left parietal lobe, infarct versus tumor.", "brain_mass_or_lesion"),
    ("MRI: enhancing lesion in the right temporal lobe consistent with glioma.", "brain_mass_or_lesion"),
    ("Right frontal lobe mass with surrounding edema.", "brain_mass_or_lesion"),
    ("Progressive weakness of the left arm over 2 weeks. MR spectroscopy requested.", "new_or_worsening_symptoms"),
    ("New headaches for 5 days; brain MRS ordered.", "new_or_worsening_symptoms"),
])
def test_what_the_definition_covers_is_still_asserted(notes, fact):
    assert _value(notes, fact) is True


# --- a remote episode: two-digit years date a statement as history -----------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("seen on 3/15/71", [dt.date(1971, 3, 15)]),
    ("admitted 02/04/08", [dt.date(2008, 2, 4)]),
    ("well until 8/71, then", [dt.date(1971, 8, 15)]),
    ("pain 8/10, strength 4/5", []),
    ("seen on 11/26 in clinic", []),
    ("BP 120/80", []),
])
def test_two_digit_years_are_dates_and_ratios_are_not(text, expected):
    assert parse_dates(text) == expected


@pytest.mark.parametrize(("notes", "expected"), [
    ("On 3/12/78 she had a 5-day bout of vertigo. She was seen again on 11/20/98 for headaches.", False),
    ("She did well until 8/79 when she had a 12-day episode of vertigo. Seen 2/4/99 for headaches.", False),
    ("Seen 2/4/99. Since 2/1/99, 3 days of worsening headache. Plan: MR spectroscopy.", True),
])
def test_a_symptom_course_dated_years_before_the_note_is_not_new(notes, expected):
    assert (_value(notes, "new_or_worsening_symptoms") is True) is expected


@pytest.mark.parametrize(("notes", "expected"), [
    ("Work-up included an unremarkable carotid duplex scan.", ABSENT),
    ("Carotid doppler study was normal.", ABSENT),
    ("MRI brain and carotid duplex were unremarkable.", False),
])
def test_a_normal_result_of_another_test_is_no_conclusive_mri(notes, expected):
    assert _value(notes, "conventional_imaging_inconclusive") == expected


# --- pregnancy: the patient's, now; a treated brain tumor: a treatment given, to the tumor
# (MTSamples test4 judgments) -----------------------------------------------------------------------
_GBM = "Known right parietal glioblastoma. "


@pytest.mark.parametrize(("notes", "fact", "expected"), [
    ("Norethindrone started today to protect herself from pregnancy until her husband's vasectomy.", "pregnancy", False),
    ("Her low mood began when she learned that her sister was pregnant.", "pregnancy", False),
    ("BIRTH HISTORY: His mother says the pregnancy went smoothly and delivery was at term.", "pregnancy", False),
    ("PREGNANCY: The mother reports no problems and no exposures.", "pregnancy", False),
    ("She denies smoking while she was pregnant with him.", "pregnancy", False),
    ("At age 30 she was briefly pregnant and miscarried.", "pregnancy", False),
    ("She is approximately 20 weeks pregnant.", "pregnancy", True),
    ("Impression: single live intrauterine pregnancy at 30 weeks.", "pregnancy", True),
    ("She was found to be pregnant on today's labs.", "pregnancy", True),
    (_GBM + "Post-op course: wound infection after the craniotomy.", "brain_tumor_treated", False),
    (_GBM + "Exam: a healed defect over the forehead from a prior craniotomy.", "brain_tumor_treated", False),
    (_GBM + "He consented to a craniotomy for maximal safe resection next week.", "brain_tumor_treated", False),
    (_GBM + "We went over the risks and benefits of resection, radiotherapy, chemotherapy or observation.",
     "brain_tumor_treated", False),
    (_GBM + "She is scheduled for resection followed by chemoradiation.", "brain_tumor_treated", False),
    ("Known right parietal glioblastoma, status post craniotomy and gross total resection in 2019.",
     "brain_tumor_treated", True),
    ("Right parietal glioblastoma; craniotomy 2019, followed by radiation and temozolomide.", "brain_tumor_treated", True),
    (_GBM + "She now needs two more weeks of chemotherapy for the tumor.", "brain_tumor_treated", True),
])
def test_another_past_or_planned_state_is_not_the_patients_now(notes, fact, expected):
    assert (_value(notes, fact) is True) is expected


# a symptom is new or worsening "such that repeat imaging would influence treatment": a question
# asked of the study, read only in notes about an MRS (MTSamples test4: a psychiatric note's
# irritability, a clinic note's dyspnea for 3 days, a CT report's vomiting for a day)
@pytest.mark.parametrize(("notes", "mrs_requested", "expected"), [
    ("Presents with two days of shortness of breath and increasing irritability.", False, False),
    ("Reason for exam: diarrhea and vomiting for two days.", False, False),
    ("Presents with two days of shortness of breath and increasing irritability.", True, True),
    ("Worsening word-finding trouble for two weeks; MR spectroscopy requested.", False, True),
])
def test_new_symptoms_are_read_only_where_the_notes_concern_an_mrs(notes, mrs_requested, expected):
    found = extract_facts(notes, mrs_requested=mrs_requested).get("new_or_worsening_symptoms")
    assert (found is not None and found.value is True) is expected
