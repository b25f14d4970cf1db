"""Hand-built determinations for letter, validator and LLM tests, from real corpus clauses.

Each case pairs a DeterminationRequest with the DeterminationResponse the checker would
give (trace shape as documented on DeterminationResponse.trace), and a model draft the
validator must accept. (The guard against real model calls is autouse in conftest.py.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache


from mrs_assist.config import Settings
from mrs_assist.corpus import Corpus, load_corpus
from mrs_assist.letters import Signature
from mrs_assist.schemas import (
    Citation,
    DeterminationRequest,
    DeterminationResponse,
    EvidenceOut,
    FactOut,
    Party,
    Patient,
)


SIGNATURE = Signature(name="A. Physician, MD", role="physician", at=datetime(2026, 1, 2, 9, 30, tzinfo=UTC),
                      review_hash="0" * 64, case_number="case-1")
"""A physician's sign-off, for signing a fixture letter (``letters.signed_letter``)."""


@lru_cache(maxsize=1)
def corpus() -> Corpus:
    return load_corpus(Settings().corpus_dir)


def text(clause_id: str) -> str:
    clause = corpus().clause(clause_id)
    assert clause is not None, clause_id
    return clause.text


def node(id_, label, kind, *, fact=None, value=None, clause_id=None, evidence=(), children=()):
    return {
        "id": id_,
        "label": label,
        "kind": kind,
        "fact": fact,
        "value": value,
        "clause_id": clause_id,
        "evidence": list(evidence),
        "children": list(children),
    }


def citation(clause_id: str) -> Citation:
    c = corpus().clause(clause_id)
    return Citation(clause_id=c.id, policy_id=c.policy_id, section=c.section, text=c.text, score=1.0)


def facts(notes: str, values: dict[str, bool | None], spans: dict[str, str] | None = None) -> list[FactOut]:
    out = []
    for name, value in values.items():
        ev = []
        if spans and name in spans:
            start = notes.index(spans[name])
            ev.append(EvidenceOut(text=spans[name], start=start, end=start + len(spans[name])))
        out.append(FactOut(name=name, value=value, evidence=ev))
    return out


@dataclass
class Case:
    name: str
    request: DeterminationRequest
    determination: DeterminationResponse
    good_draft: dict = field(default_factory=dict)

    @property
    def notes(self) -> str:
        return self.request.clinical_notes

    @property
    def kind(self) -> str:
        return {
            "meets_criteria": "approval",
            "needs_more_information": "request_for_information",
            "does_not_meet_criteria": "adverse_determination_draft",
        }[self.determination.recommendation]

    def good_reply(self) -> str:
        return json.dumps(self.good_draft)

    def reply(self, **changes) -> str:
        """The good draft with some fields replaced, as a model reply."""
        return json.dumps({**self.good_draft, **changes})


_ROOT_VALUE = {"meets_criteria": True, "does_not_meet_criteria": False, "needs_more_information": None}


def _root(outcome: str, scope: dict, indications: dict, exclusions: dict | list) -> dict:
    """The checker's root (scope ∧ indications ∧ no exclusion) over a case's sections; the
    exclusions, written as the ANY node (or [] for none), go under the NOT node the checker adds."""
    scope = {**scope, "kind": "all"}
    children = [scope, indications]
    if exclusions:
        children.append(node("exclusions", "no exclusion applies", "not", value=not exclusions["value"],
                             children=[{**exclusions, "id": "exclusions/0"}]))
    return node("criteria", f"{outcome} criteria", "all", value=_ROOT_VALUE[outcome], children=children)


def _response(policy_id, outcome, *, facts_, trace, missing=(), citations=()) -> DeterminationResponse:
    doc = corpus().documents[policy_id]
    trace = {**trace, "root": _root(outcome, trace.pop("scope"), trace.pop("indications"), trace.pop("exclusions"))}
    return DeterminationResponse(
        recommendation=outcome,
        requires_physician_review=outcome != "meets_criteria",
        policy_id=policy_id,
        policy_version=doc.meta.version,
        facts=facts_,
        trace={"outcome": outcome, "missing_facts": list(missing), "notices": [], **trace},
        missing_information=list(missing),
        citations=[citation(c) for c in citations],
        safety_flags=[],
    )


def _rights(urgency: str) -> dict:
    limit = "72 hours" if urgency == "expedited" else "7 calendar days"
    return {
        "decision_timeframe": f"We decide {urgency} requests within {limit} of receiving them.",
        "appeal_rights": "If you disagree, you may appeal within 180 days of the date of this notice.",
        "peer_to_peer": "Your provider may ask for a peer-to-peer discussion with the physician reviewer.",
    }


# --- approvals --------------------------------------------------------------------------------
def nia_recurrence_approval() -> Case:
    notes = (
        "58-year-old man with glioblastoma, status post resection and chemoradiation. "
        "New enhancing lesion at the resection margin on MRI brain 03/02/2025. "
        "Question recurrent tumor versus radiation necrosis. Requesting MRS to distinguish."
    )
    f = facts(
        notes,
        {"known_brain_tumor": True, "brain_mass_or_lesion": True, "tumor_recurrence_vs_treatment_effect": True},
        {"known_brain_tumor": "glioblastoma", "brain_mass_or_lesion": "enhancing lesion",
         "tumor_recurrence_vs_treatment_effect": "recurrent tumor versus radiation necrosis"},
    )
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node(
            "indications", "any indication", "any", value=True,
            children=[
                node("indications.1", "recurrence vs treatment effect", "fact", fact="tumor_recurrence_vs_treatment_effect",
                     value=True, clause_id="nia-brain-mrs#indications.1"),
                node("indications.2", "tumor vs non-tumor", "fact", fact="tumor_vs_nontumor_lesion",
                     value=False, clause_id="nia-brain-mrs#indications.2"),
            ],
        ),
        "exclusions": [],
        "investigational": [],
        "safety": [],
        "deciding_clauses": ["nia-brain-mrs#indications.1"],
    }
    request = DeterminationRequest(
        policy_id="nia-brain-mrs", cpt_codes=["76390"], clinical_notes=notes, patient=Patient(age_years=58),
        member=Party(name="Alex Rivera", id="M1234567"), provider=Party(name="Dr. Dana Okafor", id="1234567893"),
    )
    det = _response("nia-brain-mrs", "meets_criteria", facts_=f, trace=trace, citations=["nia-brain-mrs#indications.1"])
    draft = {
        "outcome": "meets_criteria",
        "decision": "Your request for magnetic resonance spectroscopy (MRS) has been approved.",
        "reason": (
            "The records show a known brain tumor and ask whether a new lesion is recurrent tumor or "
            "radiation necrosis. The guideline covers MRS for exactly this question [nia-brain-mrs#indications.1]."
        ),
        "quotes": [{"clause_id": "nia-brain-mrs#indications.1", "quote": text("nia-brain-mrs#indications.1")}],
        "information_requested": [],
        **_rights("standard"),
    }
    return Case("nia_recurrence_approval", request, det, draft)


def cohere_expedited_approval() -> Case:
    notes = (
        "Adult with treated high-grade glioma. Conventional MRI with contrast is inconclusive for "
        "recurrence versus radiation necrosis. MRS requested for treatment planning."
    )
    f = facts(notes, {"conventional_imaging_inconclusive": True, "tumor_recurrence_vs_treatment_effect": True,
                      "known_brain_tumor": True, "repeat_study": False},
              {"conventional_imaging_inconclusive": "inconclusive",
               "tumor_recurrence_vs_treatment_effect": "recurrence versus radiation necrosis",
               "known_brain_tumor": "high-grade glioma"})
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node(
            "indications", "ALL", "all", value=True, clause_id="cohere-mrs#indications",
            children=[
                node("c1", "imaging inconclusive", "fact", fact="conventional_imaging_inconclusive", value=True,
                     clause_id="cohere-mrs#indications.1"),
                node("c2", "ANY", "any", value=True, clause_id="cohere-mrs#indications.2", children=[
                    node("c2a2", "recurrence vs necrosis", "fact", fact="tumor_recurrence_vs_treatment_effect",
                         value=True, clause_id="cohere-mrs#indications.2.a.2"),
                ]),
            ],
        ),
        "exclusions": node("exclusions", "ANY exclusion", "any", value=False, clause_id="cohere-mrs#non-indications"),
        "investigational": [],
        "safety": [],
        "deciding_clauses": ["cohere-mrs#indications.1", "cohere-mrs#indications.2.a.2"],
    }
    request = DeterminationRequest(policy_id="cohere-mrs", cpt_codes=["76390"], clinical_notes=notes, urgency="expedited")
    det = _response("cohere-mrs", "meets_criteria", facts_=f, trace=trace,
                    citations=["cohere-mrs#indications.1", "cohere-mrs#indications.2.a.2"])
    draft = {
        "outcome": "meets_criteria",
        "decision": "The request is approved.",
        "reason": (
            "Conventional magnetic resonance imaging (MRI) was inconclusive, and the spectroscopy is wanted to "
            "tell tumor recurrence from radiation necrosis, which the guideline covers."
        ),
        "quotes": [
            {"clause_id": "cohere-mrs#indications.1", "quote": "Conventional imaging by magnetic resonance imaging (MRI) or computed tomography (CT) is inconclusive"},
            {"clause_id": "cohere-mrs#indications.2.a.2", "quote": "Evaluation of brain tumors, including differentiation between tumor recurrence and radiation necrosis"},
        ],
        "information_requested": [],
        **_rights("expedited"),
    }
    return Case("cohere_expedited_approval", request, det, draft)


# --- requests for information -----------------------------------------------------------------
def cohere_pend() -> Case:
    notes = (
        "45-year-old woman with a ring-enhancing left frontal lesion. Differential includes abscess "
        "versus tumor. Requesting MR spectroscopy."
    )
    f = facts(notes, {"tumor_vs_nontumor_lesion": True, "brain_mass_or_lesion": True,
                      "conventional_imaging_inconclusive": None},
              {"tumor_vs_nontumor_lesion": "abscess versus tumor", "brain_mass_or_lesion": "lesion"})
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node(
            "indications", "ALL", "all", value=None, clause_id="cohere-mrs#indications",
            children=[
                node("c1", "imaging inconclusive", "fact", fact="conventional_imaging_inconclusive", value=None,
                     clause_id="cohere-mrs#indications.1"),
                node("c2a", "neoplastic conditions", "fact", fact="brain_mass_or_lesion", value=True,
                     clause_id="cohere-mrs#indications.2.a"),
            ],
        ),
        "exclusions": [],
        "investigational": [],
        "safety": [],
        "deciding_clauses": ["cohere-mrs#indications.1"],
    }
    request = DeterminationRequest(policy_id="cohere-mrs", cpt_codes=["76390"], clinical_notes=notes,
                                   patient=Patient(age_years=45), member=Party(id="W998877"))
    det = _response("cohere-mrs", "needs_more_information", facts_=f, trace=trace,
                    missing=["conventional_imaging_inconclusive"], citations=["cohere-mrs#indications.1"])
    draft = {
        "outcome": "needs_more_information",
        "decision": "We need more information before we can decide on this request.",
        "reason": (
            "The records describe a brain lesion, but they do not say whether conventional magnetic resonance "
            "imaging (MRI) or computed tomography (CT) was done and was inconclusive, which the guideline requires."
        ),
        "quotes": [{"clause_id": "cohere-mrs#indications.1", "quote": text("cohere-mrs#indications.1").removesuffix("; AND")}],
        "information_requested": [
            {"fact": "conventional_imaging_inconclusive",
             "question": "Has conventional MRI or CT been performed, and was it inconclusive? Please send the report."},
        ],
        **_rights("standard"),
    }
    return Case("cohere_pend", request, det, draft)


def healthhelp_pend_two_facts() -> Case:
    notes = (
        "7-year-old with developmental regression and seizures. MRI brain non-diagnostic. "
        "Neurology requests MRS as part of the work-up."
    )
    f = facts(notes, {"metabolic_disorder": None, "epilepsy_presurgical": None})
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node(
            "indications", "ANY", "any", value=None, clause_id="healthhelp-mrs#indications",
            children=[
                node("h2", "epilepsy pre-surgical", "fact", fact="epilepsy_presurgical", value=None,
                     clause_id="healthhelp-mrs#indications.2"),
                node("h5", "metabolic disorders", "fact", fact="metabolic_disorder", value=None,
                     clause_id="healthhelp-mrs#indications.5"),
            ],
        ),
        "exclusions": [],
        "investigational": [],
        "safety": [],
        "deciding_clauses": ["healthhelp-mrs#indications.2", "healthhelp-mrs#indications.5"],
    }
    request = DeterminationRequest(policy_id="healthhelp-mrs", cpt_codes=["76390", "0698T"], clinical_notes=notes,
                                   urgency="expedited", patient=Patient(age_years=7))
    det = _response("healthhelp-mrs", "needs_more_information", facts_=f, trace=trace,
                    missing=["epilepsy_presurgical", "metabolic_disorder"],
                    citations=["healthhelp-mrs#indications.2", "healthhelp-mrs#indications.5"])
    draft = {
        "outcome": "needs_more_information",
        "decision": "Additional information is needed before a decision can be made.",
        "reason": "The records do not say why the spectroscopy is requested in terms the guideline lists.",
        "quotes": [
            {"clause_id": "healthhelp-mrs#indications.2", "quote": "Epilepsy for pre-surgical evaluation"},
            {"clause_id": "healthhelp-mrs#indications.5", "quote": "Metabolic disorders"},
        ],
        "information_requested": [
            {"fact": "epilepsy_presurgical", "question": "Is the MRS requested as part of a pre-surgical evaluation for epilepsy?"},
            {"fact": "metabolic_disorder", "question": "Is the MRS requested to diagnose or monitor an inherited metabolic disorder, and which one?"},
        ],
        **_rights("expedited"),
    }
    return Case("healthhelp_pend_two_facts", request, det, draft)


# --- adverse determinations -------------------------------------------------------------------
def cohere_implant_denial() -> Case:
    notes = (
        "62-year-old man with a known meningioma, prior MRI inconclusive for progression. "
        "Has a non-MRI-compatible pacemaker placed years ago. Requesting MRS."
    )
    f = facts(notes, {"mri_unsafe_implant": True, "known_brain_tumor": True, "conventional_imaging_inconclusive": True},
              {"mri_unsafe_implant": "non-MRI-compatible pacemaker"})
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node("indications", "ALL", "all", value=True, clause_id="cohere-mrs#indications", children=[
            node("c1", "imaging inconclusive", "fact", fact="conventional_imaging_inconclusive", value=True,
                 clause_id="cohere-mrs#indications.1"),
        ]),
        "exclusions": node(
            "exclusions", "ANY exclusion", "any", value=True, clause_id="cohere-mrs#non-indications",
            children=[
                node("n3", "incompatible implant", "fact", fact="mri_unsafe_implant", value=True,
                     clause_id="cohere-mrs#non-indications.3",
                     evidence=[{"text": "non-MRI-compatible pacemaker", "start": 0, "end": 0}]),
                node("n2", "aneurysm clips", "fact", fact="aneurysm_clip", value=False,
                     clause_id="cohere-mrs#non-indications.2"),
            ],
        ),
        "investigational": [],
        "safety": [],
        "deciding_clauses": ["cohere-mrs#non-indications.3"],
    }
    request = DeterminationRequest(
        policy_id="cohere-mrs", cpt_codes=["76390"], clinical_notes=notes, patient=Patient(age_years=62),
        member=Party(name="Morgan Ellis", id="C-448812"), provider=Party(name="Riverside Neurology"),
    )
    det = _response("cohere-mrs", "does_not_meet_criteria", facts_=f, trace=trace,
                    citations=["cohere-mrs#non-indications.3", "cohere-mrs#indications.1"])
    draft = {
        "outcome": "does_not_meet_criteria",
        "decision": "The request for magnetic resonance spectroscopy (MRS) is not approved.",
        "reason": (
            "The records document an implanted pacemaker that is not compatible with magnetic resonance imaging "
            "(MRI). The guideline lists incompatible implantable devices as a reason MRS is not appropriate "
            "[cohere-mrs#non-indications.3]."
        ),
        "quotes": [{"clause_id": "cohere-mrs#non-indications.3",
                    "quote": "Incompatible implantable devices (e.g., pacemakers, defibrillators, cardiac valves)"}],
        "information_requested": [
            {"fact": "mri_unsafe_implant",
             "question": "Is the implanted device MRI-conditional or MRI-safe? Please send the device information."},
        ],
        **_rights("standard"),
    }
    return Case("cohere_implant_denial", request, det, draft)


def nia_glioma_grading_denial() -> Case:
    notes = "34-year-old with a newly found non-enhancing glioma. MRS requested for grading of the glioma (low vs high grade)."
    f = facts(notes, {"glioma_grading": True, "glioma": True, "known_brain_tumor": True, "brain_mass_or_lesion": True,
                      "tumor_recurrence_vs_treatment_effect": False, "tumor_vs_nontumor_lesion": False},
              {"glioma_grading": "grading of the glioma", "glioma": "glioma", "known_brain_tumor": "glioma",
               "brain_mass_or_lesion": "glioma"})
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node("indications", "ANY", "any", value=False, children=[
            node("i1", "recurrence", "fact", fact="tumor_recurrence_vs_treatment_effect", value=False,
                 clause_id="nia-brain-mrs#indications.1"),
            node("i2", "tumor vs non-tumor", "fact", fact="tumor_vs_nontumor_lesion", value=False,
                 clause_id="nia-brain-mrs#indications.2"),
        ]),
        "exclusions": [],
        "investigational": [  # findings, as the checker reports them
            {"fact": "glioma_grading", "label": "glioma grading", "clause_id": "nia-brain-mrs#background.glioma"},
        ],
        "safety": [],
        "deciding_clauses": ["nia-brain-mrs#background.glioma"],
    }
    request = DeterminationRequest(policy_id="nia-brain-mrs", cpt_codes=["76390"], clinical_notes=notes)
    det = _response("nia-brain-mrs", "does_not_meet_criteria", facts_=f, trace=trace,
                    citations=["nia-brain-mrs#background.glioma", "nia-brain-mrs#indications.1", "nia-brain-mrs#indications.2"])
    draft = {
        "outcome": "does_not_meet_criteria",
        "decision": "This request does not meet the guideline's criteria and is not approved.",
        "reason": (
            "The spectroscopy is requested to grade a glioma. The guideline considers that use "
            "\"experimental/investigational\" [nia-brain-mrs#background.glioma]."
        ),
        "quotes": [{"clause_id": "nia-brain-mrs#background.glioma",
                    "quote": "Therefore, it remains experimental/investigational (Abrigo, 2018; Wang, 2016)."}],
        "information_requested": [
            {"fact": "tumor_recurrence_vs_treatment_effect",
             "question": "Is the MRS requested to distinguish recurrent or residual brain tumor from post-treatment changes such as radiation necrosis?"},
        ],
        **_rights("standard"),
    }
    return Case("nia_glioma_grading_denial", request, det, draft)


def floridablue_ms_denial() -> Case:
    notes = "29-year-old woman with relapsing multiple sclerosis. MRS requested to follow disease activity."
    f = facts(notes, {"multiple_sclerosis": True, "tumor_recurrence_vs_treatment_effect": False,
                      "tumor_vs_nontumor_lesion": False}, {"multiple_sclerosis": "relapsing multiple sclerosis"})
    trace = {
        "scope": node("scope", "brain MRS", "scope", value=True),
        "indications": node("indications", "ANY", "any", value=False, clause_id="floridablue-mrs#position", children=[
            node("p1", "recurrence", "fact", fact="tumor_recurrence_vs_treatment_effect", value=False,
                 clause_id="floridablue-mrs#position.1"),
            node("p2", "tumor vs non-tumor", "fact", fact="tumor_vs_nontumor_lesion", value=False,
                 clause_id="floridablue-mrs#position.2"),
        ]),
        "exclusions": [],
        "investigational": [],
        "safety": [],
        "deciding_clauses": ["floridablue-mrs#position", "floridablue-mrs#position.1", "floridablue-mrs#position.2"],
    }
    request = DeterminationRequest(policy_id="floridablue-mrs", cpt_codes=["76390"], clinical_notes=notes,
                                   member=Party(name="Sam O'Neil"))
    det = _response("floridablue-mrs", "does_not_meet_criteria", facts_=f, trace=trace,
                    citations=["floridablue-mrs#position", "floridablue-mrs#position.1", "floridablue-mrs#position.2"])
    draft = {
        "outcome": "does_not_meet_criteria",
        "decision": "The request is denied as not medically necessary under this guideline.",
        "reason": "The records describe multiple sclerosis. The guideline covers only the two uses it lists, and this is not one of them.",
        "quotes": [
            {"clause_id": "floridablue-mrs#position", "quote": text("floridablue-mrs#position")},
            {"clause_id": "floridablue-mrs#position.1", "quote": text("floridablue-mrs#position.1")},
            {"clause_id": "floridablue-mrs#position.2", "quote": text("floridablue-mrs#position.2")},
        ],
        "information_requested": [
            {"fact": "tumor_vs_nontumor_lesion",
             "question": "Is the MRS requested to distinguish a brain lesion as tumor versus a non-tumor process?"},
        ],
        **_rights("standard"),
    }
    return Case("floridablue_ms_denial", request, det, draft)


CASE_BUILDERS = [
    nia_recurrence_approval,
    cohere_expedited_approval,
    cohere_pend,
    healthhelp_pend_two_facts,
    cohere_implant_denial,
    nia_glioma_grading_denial,
    floridablue_ms_denial,
]


@lru_cache(maxsize=1)
def all_cases() -> dict[str, Case]:
    return {b.__name__: b() for b in CASE_BUILDERS}


def case(name: str) -> Case:
    return all_cases()[name]
