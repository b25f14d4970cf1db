"""DTR pre-population: a CQL Library per policy questionnaire that answers, from the EHR's own
FHIR data, the questions that data can answer, and the Questionnaire extensions that use it
(`cqf-library`, SDC `launchContext` and item `initialExpression`).

What the CQL can answer, and only that (the EHR's data decides; nothing is guessed):

- a demographic fact from `Patient.birthDate` (a neonate: 28 days old or younger);
- a fact that is a state of the patient (a diagnosis, a safety finding) from the patient's
  active `Condition` resources coded in ICD-10-CM, by the code families that name it (e.g. C71
  malignant neoplasm of brain for a known brain tumor). What the study is requested for (a
  purpose) is never inferred from a diagnosis.

Each pre-populating define returns `true` when the data shows the fact and null otherwise (an
open-world fact stays unanswered for the clinician, never a presumed "no"); the neonate define
returns false for an older patient. The CQL is not executed here (no CQL engine): its
structure follows DTR 2.0.1 (CQL 1.5, FHIR 4.0.1, FHIRHelpers 4.0.1).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from mrs_assist.criteria import Policy
from mrs_assist.fhir.resources import build

LIBRARY_URL = "http://mrs-assist.local/fhir/Library/"
CQF_LIBRARY = "http://hl7.org/fhir/StructureDefinition/cqf-library"
LAUNCH_CONTEXT = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-launchContext"
INITIAL_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
FHIR_HELPERS = "http://hl7.org/fhir/Library/FHIRHelpers|4.0.1"

DIAGNOSIS_CODES: dict[str, tuple[str, ...]] = {
    # ICD-10-CM code families (prefixes) naming each fact that is a state of the patient (a
    # condition or a safety finding). Facts about what the study is requested for are not here:
    # a coded diagnosis does not say why the MRS is ordered, so those stay for the clinician.
    "known_brain_tumor": ("C71", "C79.31", "D33.0", "D33.1", "D33.2", "D43.0", "D43.1", "D43.2", "D49.6"),
    "brain_mass_or_lesion": ("C71", "C79.31", "D33.0", "D33.1", "D33.2", "D43.0", "D43.1", "D43.2", "D49.6",
                             "R90.0"),
    "pregnancy": ("Z33.1", "Z34", "O09"),
    "claustrophobia": ("F40.240",),
    "renal_insufficiency": ("N18.4", "N18.5", "N18.6", "N17"),
}
"""Facts a coded diagnosis shows; a policy's questionnaire pre-populates those it asks."""
AGE_FACTS = {"neonate": 'if AgeInDays() is null then null else AgeInDays() <= 28'}
"""Facts `Patient.birthDate` shows (the catalogue's neonate: 28 days old or younger)."""


def library_name(policy: Policy) -> str:
    """The CQL library identifier of a policy (letters, digits, underscores)."""
    return "MRSPrepopulation_" + re.sub(r"[^A-Za-z0-9_]", "_", policy.policy_id)


def library_canonical(policy: Policy) -> str:
    return f"{LIBRARY_URL}{policy.policy_id}-prepopulation|{policy.version}"


def prepopulated(facts: set[str]) -> list[str]:
    """The facts of `facts` the CQL can pre-populate, in a stable order."""
    return [f for f in (*AGE_FACTS, *DIAGNOSIS_CODES) if f in facts]


def cql(policy: Policy, facts: set[str]) -> str:
    """The CQL text: one define per fact it can answer, named after the fact (its linkId)."""
    lines = [
        f"library {library_name(policy)} version '{policy.version}'",
        "",
        "using FHIR version '4.0.1'",
        "",
        "include FHIRHelpers version '4.0.1' called FHIRHelpers",
        "",
        "context Patient",
        "",
        "define \"Active Conditions\":",
        "  [Condition] C",
        "    where C.clinicalStatus is null",
        "      or exists (C.clinicalStatus.coding S where S.code.value in { 'active', 'recurrence', 'relapse' })",
        "",
        "define \"Active ICD-10-CM Codes\":",
        "  flatten (\"Active Conditions\" C return (C.code.coding Cd",
        f"    where Cd.system.value = '{ICD10CM}' return Cd.code.value))",
    ]
    for fact in prepopulated(facts):
        lines.append("")
        if fact in AGE_FACTS:
            lines += [f"define \"{fact}\":", f"  {AGE_FACTS[fact]}"]
            continue
        families = " or ".join(f"StartsWith(Code, '{prefix}')" for prefix in DIAGNOSIS_CODES[fact])
        lines += [f"define \"{fact}\":",
                  f"  if exists (\"Active ICD-10-CM Codes\" Code where {families}) then true else null"]
    return "\n".join(lines) + "\n"


def library(policy: Policy, facts: set[str]) -> dict[str, Any]:
    """The FHIR Library carrying the CQL (logic-library; base64 text/cql; its data requirements)."""
    url, version = library_canonical(policy).split("|")
    text = cql(policy, facts)
    requirements = [{"type": "Patient"}]
    if set(prepopulated(facts)) & set(DIAGNOSIS_CODES):
        requirements.append({"type": "Condition"})
    return build("Library", {
        "id": f"{policy.policy_id}-prepopulation",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>CQL pre-populating the '
                 f"{policy.policy_id} questionnaire from the EHR's Patient and Condition data.</p></div>"},
        "url": url,
        "version": version,
        "name": library_name(policy),
        "title": f"{policy.policy_id} questionnaire pre-population",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "relatedArtifact": [{"type": "depends-on", "resource": FHIR_HELPERS}],
        "dataRequirement": requirements,
        "content": [{"contentType": "text/cql", "data": base64.b64encode(text.encode()).decode()}],
    })


def link(questionnaire: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The questionnaire with its library (`cqf-library`), the patient launch context, and an
    `initialExpression` on each item the library pre-populates."""
    asked = set(_link_ids(questionnaire.get("item") or []))
    facts = set(prepopulated(asked))
    if not facts:
        return questionnaire
    name = library_name(policy)

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            item = dict(item)
            if item.get("item"):
                item["item"] = walk(item["item"])
            elif item.get("linkId") in facts:
                item["extension"] = [*(item.get("extension") or []), {"url": INITIAL_EXPRESSION, "valueExpression": {
                    "language": "text/cql-identifier", "expression": f'"{name}"."{item["linkId"]}"'}}]
            out.append(item)
        return out

    return build("Questionnaire", {
        **questionnaire,
        "extension": [*(questionnaire.get("extension") or []),
                      {"url": CQF_LIBRARY, "valueCanonical": library_canonical(policy)},
                      {"url": LAUNCH_CONTEXT, "extension": [
                          {"url": "name", "valueCoding": {"system": "http://hl7.org/fhir/uv/sdc/CodeSystem/launchContext",
                                                          "code": "patient"}},
                          {"url": "type", "valueCode": "Patient"},
                          {"url": "description", "valueString": "The patient the order is for"}]}],
        "item": walk(questionnaire.get("item") or []),
    })


def _link_ids(items: list[dict[str, Any]]):
    for item in items:
        yield item.get("linkId")
        yield from _link_ids(item.get("item") or [])
