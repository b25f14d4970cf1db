"""The Da Vinci PAS 2.2.1 profile rules this service relies on and promises, checked on plain
FHIR JSON. Each rule is one line of the profile's FSH source (HL7/davinci-pas input/fsh):
`Bundle.fsh` (PASRequestBundle, PASResponseBundle, PASInquiryResponseBundle), `Claim.fsh`
(PASClaim) and `ClaimResponse.fsh` (PASClaimResponse, PASClaimInquiryResponse, ReviewAction).
Cardinalities of base R4 (ClaimResponse.created 1..1, ...) are fhir.resources' job.

Every check returns OperationOutcome issues (an empty list means conformant).
"""

from __future__ import annotations

from typing import Any

from mrs_assist.fhir.resources import issue

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
REQUEST_BUNDLE = PAS + "profile-pas-request-bundle"
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


def _bundle_rules(bundle: dict[str, Any], name: str, *, identifier: bool) -> list[dict[str, Any]]:
    """The rules PAS bundles share: Bundle.fsh lines `identifier 1..1` (request only),
    `type = #collection`, `timestamp 1..1`, `entry 1..*`, `entry.fullUrl 1..1`,
    `entry.resource 1..1`, `entry.search/request/response 0..0`."""
    out = []
    if bundle.get("resourceType") != "Bundle":
        return [issue(f"{name}: resourceType must be Bundle", expression="resourceType", code="structure")]
    if identifier and not bundle.get("identifier"):
        out.append(issue(f"{name}: identifier 1..1", expression="Bundle.identifier", code="required"))
    if bundle.get("type") != "collection":
        out.append(issue(f"{name}: type = #collection", expression="Bundle.type", code="value"))
    if not bundle.get("timestamp"):
        out.append(issue(f"{name}: timestamp 1..1", expression="Bundle.timestamp", code="required"))
    entries = bundle.get("entry") or []
    if not entries:
        out.append(issue(f"{name}: entry 1..*", expression="Bundle.entry", code="required"))
    for i, entry in enumerate(entries):
        if not entry.get("fullUrl"):
            out.append(issue(f"{name}: entry.fullUrl 1..1", expression=f"Bundle.entry[{i}].fullUrl", code="required"))
        if not entry.get("resource"):
            out.append(issue(f"{name}: entry.resource 1..1", expression=f"Bundle.entry[{i}].resource", code="required"))
        for element in ("search", "request", "response"):
            if entry.get(element):
                out.append(issue(f"{name}: entry.{element} 0..0", expression=f"Bundle.entry[{i}].{element}",
                                 code="structure"))
    return out


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


def check_request_bundle(bundle: dict[str, Any], *, inquiry: bool = False) -> list[dict[str, Any]]:
    """PASRequestBundle with its Claim as PASClaim (Claim.fsh: `identifier 1..1`, `status =
    #active`, `use = #preauthorization`, `item 1..*`, `insurance.focal = true`); or, with
    `inquiry`, PASInquiryRequestBundle with its Claim as PASClaimInquiry (`identifier 0..1`,
    `use = #preauthorization`; no item or status rule)."""
    bundle_name, claim_name = ("PASInquiryRequestBundle", "PASClaimInquiry") if inquiry else ("PASRequestBundle", "PASClaim")
    out = _bundle_rules(bundle, bundle_name, identifier=True)
    claims = _entries(bundle, "Claim")
    if len(claims) != 1:
        out.append(issue(f"{bundle_name}: entry contains Claim 1..1", expression="Bundle.entry", code="required"))
        return out
    claim = claims[0]["resource"]
    identifiers = len(claim.get("identifier") or [])
    if identifiers > 1 or (identifiers == 0 and not inquiry):
        out.append(issue(f"{claim_name}: identifier {'0' if inquiry else '1'}..1", expression="Claim.identifier",
                         code="required"))
    if claim.get("use") != "preauthorization":
        out.append(issue(f"{claim_name}: use = #preauthorization", expression="Claim.use", code="value"))
    if not inquiry:
        if claim.get("status") != "active":
            out.append(issue("PASClaim: status = #active", expression="Claim.status", code="value"))
        if not claim.get("item"):
            out.append(issue("PASClaim: item 1..*", expression="Claim.item", code="required"))
        for i, ins in enumerate(claim.get("insurance") or []):
            if ins.get("focal") is not True:
                out.append(issue("PASClaim: insurance.focal = true", expression=f"Claim.insurance[{i}].focal",
                                 code="value"))
    for element in ("patient", "insurer", "provider"):
        ref = (claim.get(element) or {}).get("reference")
        if ref and not resolves(bundle, ref):
            out.append(issue(f"{claim_name}: {element} must be an entry of the bundle", expression=f"Claim.{element}",
                             code="not-found"))
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


def _claim_response_rules(response: dict[str, Any], name: str, profile: str) -> list[dict[str, Any]]:
    """ClaimResponse.fsh: `status = #active (exactly)`, `use = #preauthorization (exactly)`,
    `created MS` (1..1 in R4), patient/insurer/requestor MS, `item MS` with the reviewAction."""
    out = []
    if profile not in ((response.get("meta") or {}).get("profile") or []):
        out.append(issue(f"{name}: meta.profile names {profile}", expression="ClaimResponse.meta.profile",
                         code="required", severity="warning"))
    if response.get("status") != "active":
        out.append(issue(f"{name}: status = #active", expression="ClaimResponse.status", code="value"))
    if response.get("use") != "preauthorization":
        out.append(issue(f"{name}: use = #preauthorization", expression="ClaimResponse.use", code="value"))
    for element in ("created", "patient", "insurer", "outcome"):
        if not response.get(element):
            out.append(issue(f"{name}: {element} is required", expression=f"ClaimResponse.{element}", code="required"))
    if not response.get("item"):
        out.append(issue(f"{name}: item (must support) carries the decision", expression="ClaimResponse.item",
                         code="required"))
    return out + _review_action_rules(response, name)


def check_response_bundle(bundle: dict[str, Any], *, inquiry: bool = False) -> list[dict[str, Any]]:
    """PASResponseBundle (`entry contains ClaimResponse 1..1`) or PASInquiryResponseBundle
    (`0..*`), each ClaimResponse checked as PASClaimResponse / PASClaimInquiryResponse, and
    every reference inside it resolving to an entry (errors: warning-free only then)."""
    name = "PASInquiryResponseBundle" if inquiry else "PASResponseBundle"
    out = _bundle_rules(bundle, name, identifier=False)
    responses = _entries(bundle, "ClaimResponse")
    if not inquiry and len(responses) != 1:
        out.append(issue(f"{name}: entry contains ClaimResponse 1..1", expression="Bundle.entry", code="required"))
    profile = CLAIM_INQUIRY_RESPONSE if inquiry else CLAIM_RESPONSE
    cr_name = "PASClaimInquiryResponse" if inquiry else "PASClaimResponse"
    for entry in responses:
        response = entry["resource"]
        out += _claim_response_rules(response, cr_name, profile)
        for element in ("patient", "insurer", "requestor"):
            ref = (response.get(element) or {}).get("reference")
            if ref and not resolves(bundle, ref):
                out.append(issue(f"{cr_name}: {element} must be an entry of the bundle", code="not-found",
                                 expression=f"ClaimResponse.{element}"))
    return out


def errors(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issues of severity error or fatal."""
    return [i for i in issues if i.get("severity") in ("error", "fatal")]
