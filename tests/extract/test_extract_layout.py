"""Issue 12: real clinic documentation — one table per trap class, plus the layout internals.

Each row is a short excerpt written the way clinics write (headers, lists, checkboxes,
copied-forward text); the expected value is what a careful reviewer reads. ABSENT means
extraction reports nothing for the fact (a relative's condition, an unchecked box).
"""

from __future__ import annotations

import pytest

from mrs_assist.config import Settings
from mrs_assist.criteria import FactValue, resolve_facts
from mrs_assist.criteria.facts import purposes_stated
from mrs_assist.extract import extract_facts
from mrs_assist.extract.layout import NoteDates, line_cues
from mrs_assist.service import Services

ABSENT = "absent"


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings())


@pytest.fixture(scope="module")
def catalogue(services):
    return services.catalogue


def value(notes: str, fact: str, age_years: float | None = None):
    found = extract_facts(notes, age_years=age_years, mrs_requested=True)  # notes sent with a request
    return found[fact].value if fact in found else ABSENT


def check(notes: str, fact: str, expected) -> None:
    got = value(notes, fact)
    assert got == expected, f"{fact}: expected {expected!r}, got {got!r} in {notes!r}"


LISTS = [
    ("MRI SAFETY SCREENING: no pacemaker, no implanted devices, no aneurysm clips, no neurostimulator.", "mri_unsafe_implant", False),
    ("MRI SAFETY QUESTIONNAIRE\nDenies: pacemaker, ICD, neurostimulator, cochlear implant, aneurysm clip, shrapnel.", "mri_unsafe_implant", False),
    ("MRI SAFETY QUESTIONNAIRE\nDenies: pacemaker, ICD, neurostimulator, cochlear implant, aneurysm clip, shrapnel.", "aneurysm_clip", False),
    ("MRI screening form: Pacemaker/defibrillator/neurostimulator: none. Insulin pump: none.", "mri_unsafe_implant", False),
    ("Implants / metal: none - no pacemaker, ICD, stimulator, pump; no orbital foreign body.", "mri_unsafe_implant", False),
    ("ROS: Denies fever; denies headache; denies weakness.\nImplants: pacemaker placed 2019.", "mri_unsafe_implant", True),
    ("MRI screening: no aneurysm clips; no shrapnel; ? pacemaker - patient unsure whether her device is a pacemaker.", "mri_unsafe_implant", None),
]

DEVICES = [
    ("PMH: complete heart block s/p PPM (Medtronic Azure XT DR MRI SureScan) 2019.", "mri_unsafe_implant", False),
    ("HPI: 63M s/p ICD, presenting with weakness.\nDEVICES: Boston Scientific RESONATE ICD with ImageReady MR-Conditional defibrillation system.", "mri_unsafe_implant", False),
    ("Dual-chamber pacemaker implanted 2019.\nDevice: MR Conditional system; EP clearance on file.", "mri_unsafe_implant", False),
    ("Cardiac: Abbott Assurity MRI pacemaker, will be programmed to MRI mode per protocol.", "mri_unsafe_implant", False),
    ("Devices: St. Jude pacemaker implanted 2004, NOT MR conditional, with abandoned RV lead.", "mri_unsafe_implant", True),
]

FAMILY = [
    ("FAMILY HISTORY:\nMother - multiple sclerosis (dx age 40)\nMaternal aunt - MS\nFather - HTN", "multiple_sclerosis", ABSENT),
    ("FAMILY HISTORY: Father - glioblastoma, deceased at 61.", "known_brain_tumor", ABSENT),
    ("Mother and maternal aunt with MS.", "multiple_sclerosis", ABSENT),
    ("FAMILY HISTORY: Brother - ALS. Father - Parkinson disease.", "neurodegenerative_disease", ABSENT),
    ("FAMILY HISTORY:\n- multiple sclerosis\n- type 2 diabetes", "multiple_sclerosis", ABSENT),
    ("Family History\nGlioblastoma (deceased at 58); coronary artery disease.", "known_brain_tumor", ABSENT),
]

HISTORY = [
    (
        "Visit date: 12/02/2024\nINTERVAL HISTORY: MRI brain 11/25/2024 stable; no new enhancement.\n\n"
        "---- Previous note (03/14/2023), copied forward ----\nMRI 03/2023 showed new enhancement; read as equivocal.\n"
        "Assessment 03/2023: progression vs radiation necrosis.\n---- end of copied text ----\nPLAN: MRS ordered.",
        "conventional_imaging_inconclusive",
        False,
    ),
    (
        "HPI (carried forward from 02/08/2023 visit): GBM; MRI 02/2023 equivocal, question of recurrence vs radiation necrosis.\n\n"
        "TODAY: MRI 11/11/2024 is stable. PLAN: MRS brain ordered.",
        "tumor_recurrence_vs_treatment_effect",
        False,
    ),
    ("Progress note 11/2024. Seizure-free since 2023 on lamotrigine.", "new_or_worsening_symptoms", False),
    ("PAST MEDICAL HISTORY:\n- TBI with brief LOC (MVA, 2009), full recovery\n- HTN\n\nPLAN: MRS requested.", "traumatic_brain_injury", False),
    ("Note 11/2024. MRI 02/2022 read as equivocal. MRI 10/2024 unremarkable.", "conventional_imaging_inconclusive", False),
]

DENIAL = [
    ("Indication (check all that apply):\n[ ] Known brain tumor\n[x] Metabolic / mitochondrial disorder", "known_brain_tumor", ABSENT),
    ("Indication (check all that apply):\n[ ] Known brain tumor\n[x] Metabolic / mitochondrial disorder", "mitochondrial_disorder", True),
    ("Clinical indication:\n☐ Known brain tumor\n☐ Suspected recurrence / radiation necrosis\n☑ Other: chronic headaches", "tumor_recurrence_vs_treatment_effect", ABSENT),
    ("Does the patient have a known brain tumor? No\nIs this a repeat MRS? No", "known_brain_tumor", False),
    ("Does the patient have a known brain tumor? No\nIs this a repeat MRS? No", "repeat_study", False),
    ("Pacemaker or defibrillator?  No\nAneurysm clip?  No", "aneurysm_clip", False),
    ("GBM was ruled out on stereotactic biopsy 08/22/2024; pathology showed demyelination.", "known_brain_tumor", False),
    ("Neuroradiology addendum: MRI not equivocal - the appearance is diagnostic of meningioma.", "conventional_imaging_inconclusive", False),
    ("Her roommate has GBM and was recently hospitalized.", "known_brain_tumor", ABSENT),
    ("She is accompanied by her husband, who has a pacemaker.", "mri_unsafe_implant", ABSENT),
]

ABBREVIATIONS = [
    ("Imaging: MRI 11/12/2024 with 30% increase. RANO: PD vs pseudoprogression.", "neurodegenerative_disease", ABSENT),
    ("RANO assessment: progressive disease (PD) vs pseudoprogression.", "neurodegenerative_disease", ABSENT),
    ("EEG 10/2024: intermittent L frontotemporal slowing; no epileptiform discharges.", "neurodegenerative_disease", ABSENT),
    ("Counseled re: valproate and pregnancy; she uses an IUD.", "pregnancy", ABSENT),
    ("EXAM:\nMS: A&Ox3, fluent, follows commands.", "multiple_sclerosis", ABSENT),
    ("58M with ESRD on PD via Tenckhoff catheter.", "neurodegenerative_disease", ABSENT),
    ("Parkinson disease x10 years; frontotemporal dementia suspected.", "neurodegenerative_disease", True),
]

OVER_PENDING = [
    ("Plan: MR spectroscopic imaging of the prostate (citrate/choline) to characterize the lesion.", "non_brain_mrs_requested", True),
    ("Plan: MR spectroscopy of the cervical spinal cord lesion to help distinguish tumor from inflammation.", "non_brain_mrs_requested", True),
    ("Plan: single-voxel choline MR spectroscopy of the right breast mass.", "non_brain_mrs_requested", True),
    ("MRS brain for metastatic breast cancer to the brain.", "non_brain_mrs_requested", ABSENT),
    ("A/P: Patient requests MR spectroscopy to screen for MS because of her family history.", "non_covered_reason", True),
    ("A/P: Patient requests MR spectroscopy to screen for MS because of her family history.", "multiple_sclerosis", ABSENT),
    ("Ordering provider comment: MRS requested to evaluate chronic headaches.", "non_covered_reason", True),
    ("HPI: Mrs. Jones requests reassurance about her headaches.", "non_covered_reason", ABSENT),  # "Mrs." is not MRS
    ("Impression: anoxic brain injury after cardiac arrest. Plan: MRS for prognosis.", "encephalopathy_prognosis", True),
    ("Impression: hypoxic-ischemic brain injury. Plan: MR spectroscopy to predict neurologic outcome.", "encephalopathy_prognosis", True),
    ("X-ALD. Plan: MRS to decide on hematopoietic stem cell transplant (HSCT planning).", "therapy_planning_needed", True),
    ("Plan: MR spectroscopy to select the most active region as the target for tissue sampling.", "biopsy_guidance", True),
    ("MRI: 1.3 cm R cingulate T2/FLAIR lesion, no enhancement.", "brain_mass_or_lesion", True),
]


TRAP_CLASSES = {
    "lists": LISTS,  # negation inside lists and screening lines
    "devices": DEVICES,  # device qualifiers by brand/model, in or next to the device's sentence
    "family": FAMILY,  # family history is not the patient's
    "history": HISTORY,  # copied-forward and resolved history
    "denial": DENIAL,  # ruled out, unchecked boxes, answers "No", someone else
    "abbreviations": ABBREVIATIONS,  # abbreviation collisions
    "over-pending": OVER_PENDING,  # regions, non-covered reasons and paraphrases that decide
}


@pytest.mark.parametrize(
    ("notes", "fact", "expected"),
    [pytest.param(*row, id=f"{trap}-{i}") for trap, rows in TRAP_CLASSES.items() for i, row in enumerate(rows)],
)
def test_trap_class(notes, fact, expected):
    check(notes, fact, expected)


# --- purpose logic ---------------------------------------------------------------------------
EPILEPSY = "ASSESSMENT: Intractable focal epilepsy.\nPLAN: MR spectroscopy requested to further evaluate seizures."
ENCEPHALOPATHY = "Problem list:\n1. Hepatic encephalopathy.\nNeurology suggested MR spectroscopy to evaluate the hepatic encephalopathy."


@pytest.mark.parametrize(("notes", "fact"), [(EPILEPSY, "epilepsy_presurgical"), (ENCEPHALOPATHY, "encephalopathy_prognosis")])
def test_condition_without_qualifier_is_unknown_not_false(notes, fact):
    found = extract_facts(notes)
    assert found[fact].value is None and found[fact].evidence, "the condition is documented, its qualifier unknown"


@pytest.mark.parametrize(
    ("notes", "policy", "outcome", "missing"),
    [
        (EPILEPSY, "healthhelp-mrs", "needs_more_information", ["epilepsy_presurgical"]),
        (EPILEPSY, "cohere-mrs", "does_not_meet_criteria", []),
        (EPILEPSY, "nia-brain-mrs", "does_not_meet_criteria", []),
        (ENCEPHALOPATHY, "healthhelp-mrs", "needs_more_information", ["encephalopathy_prognosis"]),
        (ENCEPHALOPATHY, "floridablue-mrs", "does_not_meet_criteria", []),
    ],
)
def test_stated_reason_without_qualifier_decides_other_policies_and_asks_one_question(services, notes, policy, outcome, missing):
    from mrs_assist.schemas import DeterminationRequest

    response = services.determine(DeterminationRequest(policy_id=policy, cpt_codes=["76390"], clinical_notes=notes))
    assert response.recommendation == outcome
    assert response.trace.missing_facts == missing


def test_unrelated_history_purpose_does_not_close_the_others(services):
    from mrs_assist.schemas import DeterminationRequest

    notes = ("PAST MEDICAL HISTORY:\n- TBI with brief LOC (MVA, 2009), full recovery\n- HTN\n\n"
             "HPI: incidental 1.1 cm R frontal lesion on MRI.\nPLAN: MR spectroscopy brain requested.")
    for policy in ("healthhelp-mrs", "nia-brain-mrs", "floridablue-mrs"):
        response = services.determine(DeterminationRequest(policy_id=policy, cpt_codes=["76390"], clinical_notes=notes))
        assert response.recommendation == "needs_more_information", policy


def test_purposes_stated_is_one_rule(catalogue):
    purposes = catalogue.names("purpose")
    stated_unknown = {"epilepsy_presurgical": FactValue(name="epilepsy_presurgical", value=None, source="notes",
                                                          evidence=[{"text": "epilepsy", "start": 0, "end": 8}])}
    caller_null = {"epilepsy_presurgical": FactValue(name="epilepsy_presurgical", value=None, source="request")}
    assert purposes_stated(stated_unknown, purposes)
    assert not purposes_stated(caller_null, purposes)
    closed = resolve_facts(stated_unknown, None, catalogue)
    assert closed["multiple_sclerosis"].value is False and closed["multiple_sclerosis"].source == "closure"
    assert closed["epilepsy_presurgical"].value is None
    open_ = resolve_facts({}, {"epilepsy_presurgical": None}, catalogue)
    assert open_["multiple_sclerosis"].value is None


def test_reason_sections_come_first():
    notes = ("HPI: 63M, DDx abscess vs high-grade glioma vs metastasis; MRI indeterminate.\n"
             "A/P: MR spectroscopy to differentiate abscess from tumor before aspiration.")
    found = extract_facts(notes)
    assert found["tumor_vs_nontumor_lesion"].value is True
    # an HPI differential is not this study's reason, yet named: asked, never closed to false (issue 18)
    other = found["tumor_vs_other_neoplasm"]
    assert other.value is None and other.source == "mention"
    assert "named outside the stated reason for the study" in other.evidence[0].modifiers


# --- evidence shows where and why ------------------------------------------------------------
def test_evidence_carries_section_and_modifiers():
    found = extract_facts("MRI SAFETY SCREENING: no pacemaker, no implanted devices, no aneurysm clips.\n"
                          "FAMILY HISTORY: Mother - MS.\nPLAN: MRS to distinguish recurrence from radiation necrosis.")
    clip = found["aneurysm_clip"].evidence[0]
    assert clip.section == "screening"
    assert any(m.startswith("negated") for m in clip.modifiers)
    purpose = found["tumor_recurrence_vs_treatment_effect"].evidence[0]
    assert purpose.section == "plan"
    dumped = found["aneurysm_clip"].model_dump()
    assert {"text", "start", "end", "section", "modifiers"} <= set(dumped["evidence"][0])


# --- layout internals ---------------------------------------------------------------------------
def test_line_cues_read_forms():
    text = "[ ] Known brain tumor\nPacemaker? No\nDenies: fever, chills, weakness\nThe pacemaker, per cardiology, is new."
    assert line_cues(text, text.index("Known"), (0, 21)).drop
    q = text.index("Pacemaker?")
    assert "negated" in line_cues(text, q, (q, q + 13)).categories
    w = text.index("weakness")
    assert "negated" in line_cues(text, w, (text.index("Denies"), len(text))).categories
    p = text.rindex("pacemaker")
    assert not line_cues(text, p, (p - 4, len(text))).categories


def test_note_dates_mark_old_statements_as_history():
    notes = "Seen 11/18/2024. GTR 02/2023 for GBM. Today MRI 11/08/2024 equivocal. Plan 2022 MRS requested."
    dates = NoteDates(notes)
    assert dates.current.isoformat() == "2024-11-18"
    gtr = notes.index("GTR")
    assert dates.prior((gtr, notes.index(" Today"))) == "2023-02"
    today = notes.index("Today")
    assert dates.prior((today, notes.index(" Plan"))) is None
    plan = notes.index("Plan")
    assert dates.prior((plan, len(notes))) is None, "a sentence about the request is current"


# --- the realistic dev split stays decided ------------------------------------------------------
def test_realistic_dev_split_is_decided(services):
    """The dev split is what the rules were chosen on: every pair as derived, and no pend
    asks for a fact the notes already give (the test split is scored by the gate only)."""
    from mrs_assist.evaluation.cases import evaluate_realistic

    result = evaluate_realistic(services, services.settings.eval_dir, "dev")
    assert result["cases"] >= 40
    assert [(f["case"], f["policy"]) for f in result["failures"]] == []
    assert result["pend_precision"] == 1.0
