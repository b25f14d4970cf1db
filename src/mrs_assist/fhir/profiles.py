"""The Da Vinci PAS 2.2.1 rules this service relies on and promises, checked on plain FHIR JSON:
the published snapshots themselves through `mrs_assist.fhir.conformance` (cardinalities,
fixed values, required bindings, slicing), plus what the packages cannot say as data: the
IG's prose request rules (the Claim first, referenced resources present, each once) and the
X12 306 review action codes (a code system the packages do not ship).

Every check returns OperationOutcome issues (an empty list means conformant).
"""

from __future__ import annotations

from typing import Any

from mrs_assist.fhir import conformance
from mrs_assist.fhir.resources import issue

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
REQUEST_BUNDLE = PAS + "profile-pas-request-bundle"
INQUIRY_REQUEST_BUNDLE = PAS + "profile-pas-inquiry-request-bundle"
RESPONSE_BUNDLE = PAS + "profile-pas-response-bundle"
INQUIRY_RESPONSE_BUNDLE = PAS + "profile-pas-inquiry-response-bundle"
CLAIM = PAS + "profile-claim"
CLAIM_RESPONSE = PAS + "profile-claimresponse"
CLAIM_INQUIRY_RESPONSE = PAS + "profile-claiminquiryresponse"
REVIEW_ACTION = PAS + "extension-reviewAction"
REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
X12_306 = "https://codesystem.x12.org/005010/306"
X12_306_CODES = {"A1", "A2", "A3", "A4", "A6", "C", "CT", "NA"}


def _entries(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e for e in bundle.get("entry") or [] if (e.get("resource") or {}).get("resourceType") == resource_type]


def references(resource: Any) -> list[str]:
    """Every `reference` string anywhere inside a resource (JSON data)."""
    found: list[str] = []
    if isinstance(resource, dict):
        for key, value in resource.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(references(value))
    elif isinstance(resource, list):
        for value in resource:
            found.extend(references(value))
    return found


def resolves(bundle: dict[str, Any], reference: str) -> bool:
    """Whether a reference names an entry of the bundle (by fullUrl, or Type/id)."""
    for entry in bundle.get("entry") or []:
        full = entry.get("fullUrl") or ""
        res = entry.get("resource") or {}
        if reference == full or full.endswith("/" + reference):
            return True
        if reference == f"{res.get('resourceType')}/{res.get('id')}":
            return True
    return False


def _entries_once(bundle: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """PAS request rules the IG states in prose (spec-13, spec-14): the Claim is the first entry,
    every resource the Claim references is an entry of the bundle, and each entry only once."""
    out = []
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    if entries and (entries[0].get("resource") or {}).get("resourceType") != "Claim":
        out.append(issue(f"{name}: the Claim must be the first entry", expression="Bundle.entry[0]", code="structure"))
    seen: dict[str, int] = {}
    for entry in entries:
        res = entry.get("resource") or {}
        for key in {entry.get("fullUrl"), f"{res.get('resourceType')}/{res.get('id')}" if res.get("id") else None} - {None}:
            seen[key] = seen.get(key, 0) + 1
    if any(n > 1 for n in seen.values()):
        out.append(issue(f"{name}: each resource may appear only once", expression="Bundle.entry", code="duplicate"))
    claim = next((e.get("resource") for e in entries if (e.get("resource") or {}).get("resourceType") == "Claim"), None)
    for ref in dict.fromkeys(references(claim or {})):
        if not ref.startswith("#") and not resolves(bundle, ref):
            out.append(issue(f"{name}: every resource the Claim references must be an entry of the bundle",
                             expression="Claim", code="not-found"))
            break
    return out


def check_request_bundle(bundle: dict[str, Any], *, inquiry: bool = False) -> list[dict[str, Any]]:
    """PASRequestBundle (or, with `inquiry`, PASInquiryRequestBundle) checked against the
    published snapshots (`conformance`: structure and FHIRPath invariants), with its Claim as
    PASClaim / PASClaimUpdate (or PASClaimInquiry), plus the IG's prose rules (`_entries_once`)."""
    name = "PASInquiryRequestBundle" if inquiry else "PASRequestBundle"
    report = conformance.validate(bundle, INQUIRY_REQUEST_BUNDLE if inquiry else REQUEST_BUNDLE, claimed=False,
                                  invariants=True)
    return report.issues + _echoed(bundle) + _entries_once(bundle, name)


def _echoed(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources a response carries back (the Claim's patient, insurer and provider: the
    ClaimResponse's patient, insurer and requestor), checked against the packaged profiles they
    claim, invariants included, so that a response echoing them conforms."""
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    claim = next((e["resource"] for e in entries if e["resource"].get("resourceType") == "Claim"), {})
    out = []
    for element in ("patient", "insurer", "provider"):
        ref = (claim.get(element) or {}).get("reference") if isinstance(claim.get(element), dict) else None
        for i, entry in enumerate(entries):
            res, full = entry["resource"], entry.get("fullUrl") or ""
            if ref and (ref == full or full.endswith("/" + ref) or ref == f"{res.get('resourceType')}/{res.get('id')}"):
                for found in conformance.validate(res, invariants=True).issues:
                    out.append({**found, "expression": [f"Bundle.entry[{i}].resource" + e.removeprefix(
                        res.get("resourceType", "")) for e in found.get("expression") or []]})
                break
    return out


def _review_action_rules(response: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """ClaimResponse.fsh `item.extension contains ReviewAction`, carried on item.adjudication
    (PAS 2.x context), with `extension contains ReviewActionCode named code 0..1` bound to X12 306."""
    out = []
    for i, item in enumerate(response.get("item") or []):
        actions = [
            ext for adj in item.get("adjudication") or [] for ext in adj.get("extension") or []
            if ext.get("url") == REVIEW_ACTION
        ]
        if len(actions) != 1:
            out.append(issue(f"{name}: item.adjudication carries one reviewAction", code="required",
                             expression=f"ClaimResponse.item[{i}].adjudication.extension"))
            continue
        codes = [
            c for sub in actions[0].get("extension") or [] if sub.get("url") == REVIEW_ACTION_CODE
            for c in (sub.get("valueCodeableConcept") or {}).get("coding") or []
        ]
        if not codes or codes[0].get("system") != X12_306 or codes[0].get("code") not in X12_306_CODES:
            out.append(issue(f"{name}: reviewAction.code from X12 306", code="code-invalid",
                             expression=f"ClaimResponse.item[{i}].adjudication.extension"))
        reasons = [sub for sub in actions[0].get("extension") or [] if sub.get("url") == "reasonCode"]
        for sub in reasons:
            if "valueCodeableConcept" not in sub:
                out.append(issue(f"{name}: reviewAction.reasonCode only CodeableConcept", code="structure",
                                 expression=f"ClaimResponse.item[{i}].adjudication.extension"))
    return out


def check_response_bundle(bundle: dict[str, Any], *, inquiry: bool = False) -> list[dict[str, Any]]:
    """PASResponseBundle or PASInquiryResponseBundle checked against the published snapshots
    (`conformance`), each ClaimResponse's review action code from X12 306 (a code system the
    packages do not ship), and every reference of a ClaimResponse resolving to an entry."""
    name = "PASInquiryResponseBundle" if inquiry else "PASResponseBundle"
    out = conformance.validate(bundle, INQUIRY_RESPONSE_BUNDLE if inquiry else RESPONSE_BUNDLE).issues
    cr_name = "PASClaimInquiryResponse" if inquiry else "PASClaimResponse"
    for entry in _entries(bundle, "ClaimResponse"):
        response = entry["resource"]
        out += _review_action_rules(response, cr_name)
        for element in ("patient", "insurer", "requestor"):
            ref = (response.get(element) or {}).get("reference")
            if ref and not resolves(bundle, ref):
                out.append(issue(f"{name}: ClaimResponse.{element} must be an entry of the bundle", code="not-found",
                                 expression=f"ClaimResponse.{element}"))
    return out


def errors(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issues of severity error or fatal."""
    return [i for i in issues if i.get("severity") in ("error", "fatal")]
