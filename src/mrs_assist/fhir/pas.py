"""Da Vinci PAS: a Request Bundle in, the same `DeterminationRequest` the JSON API takes; a
stored record out, as a Response Bundle whose ClaimResponse carries the X12 review action.

Review actions (X12 306) from a record — never an automatic denial:

- ``meets_criteria`` → A1 certified in total;
- ``needs_more_information`` → A4 pended, the missing facts as process notes (the DTR
  questionnaire's unanswered questions);
- ``does_not_meet_criteria`` → A4 pended for physician review while a draft; A3 not certified,
  with the X12 decision-reason code, the plain-language reason and the clause, only once a
  physician has signed the record.
"""

from __future__ import annotations

import base64
import binascii
import html
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from mrs_assist.criteria.reasons import denial_reason
from mrs_assist.fhir import profiles
from mrs_assist.fhir.payers import CoverageKeys, PayerMap
from mrs_assist.fhir.resources import FhirError, build, issue, parse
from mrs_assist.intake.documents import MEDIA_TYPES
from mrs_assist.records.models import CONTRADICTION_MARK
from mrs_assist.schemas import DeterminationRequest, DocumentUpload, Party, Patient

CPT_SYSTEMS = frozenset({"http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12"})
LEVEL_OF_SERVICE = profiles.PAS + "extension-levelOfServiceCode"
EXPEDITED_LEVELS = frozenset({"U", "03"})
"""X12 1338 level-of-service codes read as expedited: U urgent, 03 emergency."""
REVIEW_ACTIONS = {
    "A1": "Certified in total",
    "A3": "Not Certified",
    "A4": "Pended",
    "C": "Cancelled",
}
MAX_NOTE_CHARS = 50_000
DTR_CONFLICT_REASON = (f"answered in the DTR questionnaire (QuestionnaireResponse), {CONTRADICTION_MARK}: "
                       "a reviewer decides")


@dataclass
class Submission:
    """A parsed PAS request: the bundle as JSON, its Claim, and what the library needs."""

    bundle: dict[str, Any]
    claim: dict[str, Any]
    submitter_ref: str | None
    policy_id: str | None = None
    request: DeterminationRequest | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)
    """QuestionnaireResponses the claim's supportingInfo carries (DTR)."""


def _resource(bundle: dict[str, Any], reference: str | None) -> dict[str, Any] | None:
    if not reference:
        return None
    for entry in bundle.get("entry") or []:
        full = entry.get("fullUrl") or ""
        res = entry.get("resource") or {}
        if reference == full or full.endswith("/" + reference) or reference == f"{res.get('resourceType')}/{res.get('id')}":
            return res
    return None


def _ref(element: Any) -> str | None:
    return element.get("reference") if isinstance(element, dict) else None


def claim_identifier(claim: dict[str, Any]) -> str | None:
    """'system|value' of the claim's first identifier."""
    for ident in claim.get("identifier") or []:
        if ident.get("value"):
            return f"{ident.get('system', '')}|{ident['value']}"
    return None


MAX_IDENTIFIER_CHARS = 300
AUTHORIZATION_NUMBER = profiles.PAS + "extension-authorizationNumber"


@dataclass
class MatchKeys:
    """What a submission or inquiry offers to match a stored request (PAS spec-53: the claim
    identifier with the member identifier and the provider; or the authorization number)."""

    claim_values: list[str]
    members: set[str]
    providers: set[str]
    authorizations: list[str]

    def matches(self, record) -> bool:
        """Whether `record` is this member's request from this provider."""
        request = record.request
        member = (request.member.id if request.member else None) or ""
        provider = request.provider
        provider_keys = {k for k in ((provider.id if provider else None), (provider.name if provider else None)) if k}
        return bool(member) and member in self.members and bool(provider_keys & self.providers)


def _identifier_values(resource: dict[str, Any] | None) -> set[str]:
    return {str(i["value"])[:100] for i in (resource or {}).get("identifier") or [] if isinstance(i, dict) and i.get("value")}


def match_keys(submission: Submission) -> MatchKeys:
    """The claim identifier values, member identifiers, provider identifiers/name and
    authorization numbers of a submission or inquiry."""
    bundle, claim = submission.bundle, submission.claim
    patient = _resource(bundle, _ref(claim.get("patient")))
    provider = _resource(bundle, _ref(claim.get("provider")))
    providers = _identifier_values(provider) | ({_name(provider)} if _name(provider) else set())
    auths = [str(ext.get("valueString"))[:100] for item in claim.get("item") or [] for ext in item.get("extension") or []
             if ext.get("url") == AUTHORIZATION_NUMBER and ext.get("valueString")]
    values = [str(i["value"]) for i in claim.get("identifier") or [] if i.get("value")]
    return MatchKeys(values, _identifier_values(patient), providers, auths)


def read_bundle(data: Any, *, inquiry: bool = False) -> Submission:
    """Validate a PAS request (or inquiry) bundle with fhir.resources and the PAS rules; raises FhirError."""
    parse(data, "Bundle")  # R4 structure and datatypes, every entry as its own resource type
    if found := profiles.errors(profiles.check_request_bundle(data, inquiry=inquiry)):
        name = "PASInquiryRequestBundle" if inquiry else "PASRequestBundle"
        raise FhirError(f"the bundle does not conform to {name}", issues=found)
    claims = [e["resource"] for e in data["entry"] if (e.get("resource") or {}).get("resourceType") == "Claim"]
    claim = claims[0]  # the first entry (a claim update may carry the original Claim after it)
    ref = claim_identifier(claim)
    if ref is not None and len(ref) > MAX_IDENTIFIER_CHARS:
        raise FhirError("the claim identifier is too long", issues=[issue(
            f"Claim.identifier system|value must be at most {MAX_IDENTIFIER_CHARS} characters", code="too-long",
            expression="Claim.identifier")])
    return Submission(bundle=data, claim=claim, submitter_ref=ref)


def _coverage_keys(bundle: dict[str, Any], claim: dict[str, Any]) -> CoverageKeys:
    keys = CoverageKeys()
    insurance = sorted(claim.get("insurance") or [], key=lambda i: not i.get("focal"))
    orgs = [_resource(bundle, _ref(claim.get("insurer")))]
    for ins in insurance[:1]:
        coverage = _resource(bundle, _ref(ins.get("coverage"))) or {}
        orgs += [_resource(bundle, _ref(p)) for p in coverage.get("payor") or []]
        for cls in coverage.get("class") or []:
            for coding in (cls.get("type") or {}).get("coding") or []:
                if coding.get("code") and cls.get("value"):
                    keys.classes.setdefault(coding["code"], set()).add(cls["value"])
    for org in orgs:
        if not org or org.get("resourceType") != "Organization":
            continue
        if org.get("name"):
            keys.payer_names.add(org["name"].casefold())
        for ident in org.get("identifier") or []:
            if ident.get("value"):
                keys.payer_identifiers.add(f"{ident.get('system', '')}|{ident['value']}")
    return keys


INFO_CANCELLED = profiles.PAS + "modifierextension-infoCancelled"


def cancelled(item: dict[str, Any]) -> bool:
    """Whether a claim update cancels this item (modifier extension infoCancelled = true)."""
    return any(e.get("url") == INFO_CANCELLED and e.get("valueBoolean") is True for e in item.get("modifierExtension") or [])


def original_claim_ref(submission: Submission) -> str | None:
    """For a PASClaimUpdate, the 'system|value' identifier of the request it updates: the
    related Claim carried in the bundle (`entry contains Claim 1..2`), else the update's second
    identifier (`identifier 1..2`); None for a new request."""
    claim = submission.claim
    for related in claim.get("related") or []:
        original = _resource(submission.bundle, _ref(related.get("claim")))
        if original is not None and original is not claim and original.get("resourceType") == "Claim":
            return claim_identifier(original)
    identifiers = [i for i in claim.get("identifier") or [] if i.get("value")]
    if len(identifiers) > 1:
        return f"{identifiers[1].get('system', '')}|{identifiers[1]['value']}"
    return None


def requested_cpts(submission: Submission) -> list[str]:
    """The CPT codes of the submission's items that are not cancelled."""
    return _cpt_codes(submission.claim)


def _cpt_codes(claim: dict[str, Any]) -> list[str]:
    codes = []
    for item in claim.get("item") or []:
        if cancelled(item):
            continue
        for coding in (item.get("productOrService") or {}).get("coding") or []:
            if coding.get("system") in CPT_SYSTEMS and coding.get("code"):
                codes.append(str(coding["code"]))
    return list(dict.fromkeys(codes))[:20]


def _urgency(claim: dict[str, Any]) -> str:
    for ext in claim.get("extension") or []:
        if ext.get("url") == LEVEL_OF_SERVICE:
            for coding in (ext.get("valueCodeableConcept") or {}).get("coding") or []:
                if coding.get("code") in EXPEDITED_LEVELS:
                    return "expedited"
    priority = [c.get("code") for c in (claim.get("priority") or {}).get("coding") or []]
    return "expedited" if "stat" in priority else "standard"


def _age(patient: dict[str, Any] | None, claim: dict[str, Any]) -> float | None:
    born = (patient or {}).get("birthDate")
    if not born or len(born) < 10:
        return None
    try:
        birth = date.fromisoformat(born[:10])
        on = date.fromisoformat(str(claim.get("created", ""))[:10]) if claim.get("created") else date.today()
    except ValueError:
        return None
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return float(years) if 0 <= years <= 130 else None


def _name(resource: dict[str, Any] | None) -> str | None:
    if not resource:
        return None
    if isinstance(resource.get("name"), str):
        return resource["name"][:200]
    for name in resource.get("name") or []:
        text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
        if text:
            return text[:200]
    return None


def _first_id(resource: dict[str, Any] | None) -> str | None:
    for ident in (resource or {}).get("identifier") or []:
        if ident.get("value"):
            return str(ident["value"])[:100]
    return None


TEXT_TYPES = ("text/plain", "text/markdown")
MAX_ATTACHMENTS = 20


def _attachment(att: dict[str, Any], where: str, notes: list[str], documents: list[DocumentUpload]) -> None:
    """One attachment with inline `data`: text becomes notes; a PDF or an image (PNG, JPEG,
    TIFF) becomes a document of the case, read by the intake (text layer, else OCR), each page
    a document that evidence points at. Other types, and URL-only attachments, are not read."""
    kind = str(att.get("contentType", "")).split(";")[0].strip().lower()
    if not att.get("data") or not isinstance(att["data"], str):
        return
    if kind in TEXT_TYPES:
        try:
            notes.append(base64.b64decode(att["data"], validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise FhirError("an attachment is not base64 UTF-8 text", issues=[issue(
                "attachment.data must be base64 of UTF-8 text", code="invalid", expression=where)]) from None
    elif kind in MEDIA_TYPES:
        if len(documents) >= MAX_ATTACHMENTS:
            raise FhirError("too many documents", issues=[issue(
                f"at most {MAX_ATTACHMENTS} PDF or image attachments per request", code="too-long", expression=where)])
        name = str(att.get("title") or f"attachment-{len(documents) + 1}")[:300]
        try:
            documents.append(DocumentUpload(name=name, media_type=kind, content_base64=att["data"]))
        except ValidationError:
            raise FhirError("an attachment cannot be read", issues=[issue(
                "attachment.data is too large or its title is not plain text", code="invalid", expression=where)]) from None


def _notes_and_answers(bundle: dict[str, Any], claim: dict[str, Any]
                       ) -> tuple[str, list[dict[str, Any]], list[DocumentUpload]]:
    """Clinical notes (text attachments, free-form messages), QuestionnaireResponses and
    documents (PDF and image attachments: `valueAttachment`, or DocumentReference content) from
    the claim's supportingInfo."""
    notes: list[str] = []
    answers: list[dict[str, Any]] = []
    documents: list[DocumentUpload] = []
    for info in claim.get("supportingInfo") or []:
        if isinstance(info.get("valueString"), str):
            notes.append(info["valueString"])
        if isinstance(info.get("valueAttachment"), dict):
            _attachment(info["valueAttachment"], "Claim.supportingInfo.valueAttachment", notes, documents)
        res = _resource(bundle, _ref(info.get("valueReference")))
        if not res:
            continue
        if res.get("resourceType") == "QuestionnaireResponse":
            answers.append(res)
        elif res.get("resourceType") == "DocumentReference":
            for content in res.get("content") or []:
                _attachment(content.get("attachment") or {}, "DocumentReference.content.attachment", notes, documents)
    return "\n\n".join(notes)[:MAX_NOTE_CHARS], answers, documents


def to_request(submission: Submission, payer_map: PayerMap, facts: dict[str, bool] | None = None) -> DeterminationRequest:
    """The `DeterminationRequest` a submission asks for: policy from the Coverage through the
    payer map, CPT codes from the items, notes from text attachments, urgency from the level
    of service; raises FhirError when no policy governs the coverage or the content is invalid."""
    bundle, claim = submission.bundle, submission.claim
    policy_id = payer_map.policy_for(_coverage_keys(bundle, claim))
    if policy_id is None:
        raise FhirError("no coverage policy is configured for this member's payer or plan", code="no_policy",
                        issues=[issue("no coverage policy is configured for this member's payer or plan "
                                      "(see the payer map)", expression="Claim.insurance.coverage", code="not-supported")])
    notes, answers, documents = _notes_and_answers(bundle, claim)
    patient = _resource(bundle, _ref(claim.get("patient")))
    provider = _resource(bundle, _ref(claim.get("provider")))
    try:
        request = DeterminationRequest(
            policy_id=policy_id,
            cpt_codes=_cpt_codes(claim),
            clinical_notes=notes,
            patient=Patient(age_years=_age(patient, claim)),
            facts=facts or None,
            letter=True,
            urgency=_urgency(claim),
            member=Party(name=_name(patient), id=_first_id(patient)),
            provider=Party(name=_name(provider), id=_first_id(provider)),
            documents=documents or None,
        )
    except ValidationError as exc:
        raise FhirError("the claim's content cannot be checked", issues=[
            issue(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}") for e in exc.errors()[:5]
        ]) from None
    submission.policy_id, submission.request, submission.answers = policy_id, request, answers
    return request


# --- the response -----------------------------------------------------------------------------

def review_action(record) -> str:
    """The X12 306 review action of a stored record (A1 / A3 / A4; see the module docstring)."""
    outcome = record.response.recommendation
    conflicted = record.status != "signed" and any(o.reason == DTR_CONFLICT_REASON for o in record.overrides)
    if outcome == "meets_criteria" and not conflicted:
        return "A1"
    if outcome == "does_not_meet_criteria" and record.status == "signed":
        return "A3"
    return "A4"


def _adjudication(record, action: str) -> dict[str, Any]:
    sub = [
        {"url": profiles.REVIEW_ACTION_CODE, "valueCodeableConcept": {"coding": [
            {"system": profiles.X12_306, "code": action, "display": REVIEW_ACTIONS[action]}]}},
        {"url": "number", "valueString": record.id},
    ]
    if action == "A3" and (reason := denial_reason(record.response)) is not None:
        sub.append({"url": "reasonCode", "valueCodeableConcept": {
            "coding": [{"system": reason.system, "code": reason.code, "display": reason.display}],
            "text": reason.text}})
    return {
        "extension": [{"url": profiles.REVIEW_ACTION, "extension": sub}],
        "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}]},
    }


def _notes(record, action: str, missing_items: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The disposition and process notes: why, in plain language, with the clause."""
    response = record.response
    if action == "A1":
        return "Certified: the request meets the policy's criteria.", []
    if action == "A3":
        reason = denial_reason(response)
        text = reason.text if reason else "The request does not meet the policy's criteria."
        clause = f" Guideline clause: {reason.clause_id}." if reason and reason.clause_id else ""
        return f"Not certified. {text}{clause}", [{"number": 1, "type": "display", "text": f"{text}{clause}"}]
    if response.recommendation == "meets_criteria":  # answers contradicting the notes
        return ("Pended for review: questionnaire answers contradict the clinical notes; a reviewer decides.",
                [{"number": 1, "type": "display", "text": "Questionnaire answers contradict the clinical notes: "
                  "pended for a reviewer; no decision has been made yet."}])
    if response.recommendation == "does_not_meet_criteria":
        return ("Pended for physician review: the criteria check does not support approval; a physician "
                "reviewer decides.", [{"number": 1, "type": "display",
                                      "text": "Pended for physician review; no decision has been made yet."}])
    notes = [
        {"number": i, "type": "display", "text": f"Missing information [{fact}]: {question}"}
        for i, (fact, question) in enumerate(
            zip(response.trace.missing_facts, response.missing_information, strict=False), start=1)
    ]
    if missing_items:
        notes.append({"number": len(notes) + 1, "type": "display",
                      "text": "Answer the DTR questionnaire " + missing_items[0] + " (its unanswered questions)."})
    return "Pended: more information is needed to decide.", notes


def _item_cpts(item: dict[str, Any]) -> set[str]:
    return {str(c.get("code")) for c in (item.get("productOrService") or {}).get("coding") or []
            if c.get("system") in CPT_SYSTEMS and c.get("code")}


ITEM_TRACE_NUMBER = profiles.PAS + "extension-itemTraceNumber"
ITEM_TRACE_SYSTEM = "http://mrs-assist.local/fhir/NamingSystem/item-trace-number"
TRANSMISSION_IDENTIFIERS = profiles.PAS + "extension-TransmissionIdentifiers"
ADMINISTRATION_REFERENCE = profiles.PAS + "extension-administrationReferenceNumber"
CLAIM_RESPONSE_REVIEWER = profiles.PAS + "extension-claimResponseReviewer"
X12_755 = "https://codesystem.x12.org/005010/755"
LOINC_HISTORY_AND_PHYSICAL = "34117-2"
"""LOINC 'History and physical note' (PAS attachment codes): where the facts a pend asks for are documented."""


def narrative(text: str) -> dict[str, str]:
    """A generated narrative (dom-6: a resource should have one) of plain `text`, escaped."""
    return {"status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(text[:2000])}</p></div>'}


def communication_request(record, id: str, claim: dict[str, Any], line: int, now: datetime) -> dict[str, Any]:
    """A PAS CommunicationRequest for a pend that needs documentation: the clinical note that
    documents the missing facts (named in plain language in `reasonCode`), for the first
    reviewed item, from the insurer to the requesting provider."""
    missing = "; ".join(record.response.missing_information)[:1000] or "the documentation the policy requires"
    data: dict[str, Any] = {
        "id": id,
        "meta": {"profile": [profiles.PAS + "profile-communicationrequest"]},
        "text": narrative(f"Documentation needed: {missing}"),
        # PAS IdentifierUnlessVO: an identifier unless the request is by voice
        "identifier": [{"system": "http://mrs-assist.local/fhir/NamingSystem/communication-request", "value": id}],
        "extension": [{"url": profiles.PAS + "extension-serviceLineNumber", "valuePositiveInt": line}],
        "status": "active",
        "category": [{"coding": [{"system": X12_755, "code": "09", "display": "Progress Report"}]}],
        "payload": [{"contentString": LOINC_HISTORY_AND_PHYSICAL}],
        "reasonCode": [{"text": f"Documentation needed: {missing}"}],
        "authoredOn": now.isoformat(timespec="seconds"),
    }
    if claim.get("insurer"):
        data["requester"] = claim["insurer"]
    if claim.get("provider"):
        data["recipient"] = [claim["provider"]]
    return build("CommunicationRequest", data)
PAS_TEMP_CODES = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes"


def _logical(resource_ref: Any, bundle: dict[str, Any]) -> dict[str, Any] | None:
    """A Reference by identifier only (PASTask: 'Provider ID - only send the identifier') for
    the resource `resource_ref` points at (in the bundle, or already an identifier)."""
    if not isinstance(resource_ref, dict):
        return None
    if isinstance(resource_ref.get("identifier"), dict) and resource_ref["identifier"].get("value"):
        return {"identifier": resource_ref["identifier"]}
    target = _resource(bundle, _ref(resource_ref))
    for ident in (target or {}).get("identifier") or []:
        if isinstance(ident, dict) and ident.get("value"):
            return {"identifier": {k: ident[k] for k in ("system", "value") if ident.get(k)}}
    return None


def attachment_task(record, id: str, submission: Submission, line: int, payer_url: str) -> dict[str, Any]:
    """A PASTask asking the provider for the documentation a pend needs (code
    attachment-request-code): the attachment wanted (LOINC history and physical note, where the
    missing facts are documented) for the reviewed item line, where to send it (payer-url), for
    the member, owned by the requesting provider (by identifier), because of this request."""
    claim = submission.claim
    data: dict[str, Any] = {
        "id": id,
        "meta": {"profile": [profiles.PAS + "profile-task"]},
        "text": narrative("Send the history and physical note documenting: "
                          + ("; ".join(record.response.missing_information) or "what the policy requires")),
        "identifier": [{"system": "http://mrs-assist.local/fhir/NamingSystem/task", "value": id}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": PAS_TEMP_CODES, "code": "attachment-request-code"}]},
        "for": claim.get("patient"),
        "reasonCode": {"coding": [{"system": PAS_TEMP_CODES, "code": "priorAuthorization"}]},
        "reasonReference": {"type": "Claim", "identifier": claim["identifier"][0]} if claim.get("identifier") else
        {"type": "Claim", "identifier": {"value": record.id}},
        "description": ("Documentation needed: " + "; ".join(record.response.missing_information))[:1000]
        if record.response.missing_information else None,
        "input": [
            {"type": {"coding": [{"system": PAS_TEMP_CODES, "code": "payer-url"}]}, "valueUrl": payer_url},
            {"extension": [{"url": profiles.PAS + "extension-serviceLineNumber", "valuePositiveInt": line}],
             "type": {"coding": [{"system": PAS_TEMP_CODES, "code": "attachments-needed"}]},
             "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": LOINC_HISTORY_AND_PHYSICAL,
                                                  "display": "History and physical note"}]}},
        ],
    }
    if requester := _logical(claim.get("insurer"), submission.bundle):
        data["requester"] = requester
    if owner := _logical(claim.get("provider"), submission.bundle):
        data["owner"] = owner
    return build("Task", {k: v for k, v in data.items() if v})


UNREAD_DOCUMENTS_NOTE = ("The PDF or image attachments sent with this update were not added to the case: a "
                         "request's documents are read when it is first submitted. Send them to the reviewer.")
NOT_REVIEWED_NOTE = ("Pended: this service is not one the reviewed policy governs; it was not reviewed "
                     "here and needs its own review.")


def _transmission(claim: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's X12 transmission identifiers (GS/ISA) answered back with sender and
    receiver swapped, as the IG's responses do; none when the request carries none."""
    swap = {"applicationSenderCode": "applicationReceiverCode", "applicationReceiverCode": "applicationSenderCode",
            "interchangeSenderID": "interchangeReceiverID", "interchangeReceiverID": "interchangeSenderID"}
    for ext in claim.get("extension") or []:
        if ext.get("url") == TRANSMISSION_IDENTIFIERS:
            subs = [{"url": swap[e["url"]], "valueString": e["valueString"]} for e in ext.get("extension") or []
                    if e.get("url") in swap and isinstance(e.get("valueString"), str)]
            if {e["url"] for e in subs} >= {"applicationSenderCode", "applicationReceiverCode"}:
                return [{"url": TRANSMISSION_IDENTIFIERS, "extension": sorted(subs, key=lambda e: list(swap).index(e["url"]))}]
    return []


def _requested_period(item: dict[str, Any]) -> dict[str, str] | None:
    """The item's requested service date or period as a Period of dates (None: not given)."""
    if isinstance(item.get("servicedPeriod"), dict):
        period = {k: str(v)[:10] for k, v in item["servicedPeriod"].items() if k in ("start", "end") and v}
        if "start" in period:
            return {"start": period["start"], "end": period.get("end", period["start"])}
    if isinstance(item.get("servicedDate"), str) and item["servicedDate"]:
        return {"start": item["servicedDate"][:10], "end": item["servicedDate"][:10]}
    return None


def _preauth_period(item: dict[str, Any], now: datetime, valid_days: int | None) -> dict[str, str] | None:
    """When a certified item's authorization is valid: the payer's configured validity
    (`authorization_valid_days` of the payer map) from the decision date, stretched to cover
    the service dates the item asked for; else the requested dates themselves (certified in
    total means as asked); None when neither is known (nothing is invented)."""
    requested = _requested_period(item)
    if valid_days is None:
        return requested
    start, end = now.date(), now.date() + timedelta(days=valid_days)
    if requested:
        end = max(end, date.fromisoformat(requested["end"])) if _is_date(requested["end"]) else end
    return {"start": start.isoformat(), "end": end.isoformat()}


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def item_trace_number(record_id: str, sequence: Any) -> dict[str, str]:
    """The trace number this UMO assigns to a response item (X12 278 2000F TRN, UMO-assigned)."""
    return {"system": ITEM_TRACE_SYSTEM, "value": f"{record_id}-{sequence}"}


def _item_extensions(record, bundle: dict[str, Any], claim: dict[str, Any], item: dict[str, Any], action: str,
                     sequence: Any, now: datetime, valid_days: int | None) -> list[dict[str, Any]]:
    """A response item's PAS extensions, each from what the request or the decision holds: the
    submitter's item trace numbers and this UMO's own, the requested service date, the
    authorization number and administrative reference number the request cites; for a
    certified item its issue date, validity period and what was authorized (the requested
    service and quantity and the care-team provider the item names, certified in total); for a not-certified item this UMO's
    administrative reference number."""
    ext = [e for e in item.get("extension") or [] if e.get("url") == ITEM_TRACE_NUMBER]
    ext.append({"url": ITEM_TRACE_NUMBER, "valueIdentifier": item_trace_number(record.id, sequence)})
    if requested := _requested_period(item):
        ext.append({"url": profiles.PAS + "extension-itemRequestedServiceDate", "valuePeriod": requested})
    previous = [e.get("valueString") for e in item.get("extension") or []
                if e.get("url") == AUTHORIZATION_NUMBER and isinstance(e.get("valueString"), str)]
    if previous:
        ext.append({"url": AUTHORIZATION_NUMBER, "valueString": previous[0][:100]})
    if action == "A1":
        ext.append({"url": profiles.PAS + "extension-itemPreAuthIssueDate", "valueDate": now.date().isoformat()})
        if period := _preauth_period(item, now, valid_days):
            ext.append({"url": profiles.PAS + "extension-itemPreAuthPeriod", "valuePeriod": period})
        for team in item.get("careTeamSequence") or []:  # the provider the request names for this service
            member = next((t for t in claim.get("careTeam") or [] if t.get("sequence") == team), None)
            provider = (member or {}).get("provider")
            target = _resource(bundle, _ref(provider)) or {}
            if target.get("resourceType") == "PractitionerRole" and not _logical(provider, bundle):
                provider = target.get("practitioner")  # the role's practitioner carries the NPI
                target = _resource(bundle, _ref(provider)) or {}
            if who := _logical(provider, bundle):  # by identifier (NPI)
                kind = target.get("resourceType")
                ext.append({"url": profiles.PAS + "extension-itemAuthorizedProvider", "extension": [
                    {"url": "provider", "valueReference": {**({"type": kind} if kind else {}), **who}}]})
        detail = []
        if item.get("productOrService"):
            detail.append({"url": "productOrServiceCode", "valueCodeableConcept": item["productOrService"]})
        if isinstance(item.get("quantity"), dict):
            detail.append({"url": "quantity", "valueQuantity": item["quantity"]})
        if detail:
            ext.append({"url": profiles.PAS + "extension-itemAuthorizedDetail", "extension": detail})
    administration = [e.get("valueString") for e in item.get("extension") or []
                      if e.get("url") == ADMINISTRATION_REFERENCE and isinstance(e.get("valueString"), str)]
    if action == "A3":  # this UMO's number for the disallowed outcome
        ext.append({"url": ADMINISTRATION_REFERENCE, "valueString": record.id})
    elif administration:  # the earlier one the request cites
        ext.append({"url": ADMINISTRATION_REFERENCE, "valueString": administration[0][:100]})
    return ext


def response_bundle(record, submission: Submission, *, inquiry: bool = False, questionnaire: str | None = None,
                    now: datetime | None = None, governed: set[str] | frozenset[str] = frozenset({"76390"}),
                    valid_days: int | None = None, payer_url: str | None = None,
                    stored_items: list[dict[str, Any]] | None = None, unread_documents: bool = False,
                    ) -> dict[str, Any]:
    """The PAS Response Bundle (or Inquiry Response Bundle) for a stored record; every resource
    is validated by fhir.resources and the references resolve inside the bundle.

    Items are adjudicated one by one: an item whose CPT code the reviewed policy governs gets
    the record's review action; any other item (another service type, another code) is
    pended A4 with its own note, never given the record's decision. An inquiry reports the
    items as last submitted or updated (`stored_items`; else the stored CPT codes), not the
    inquiry's: a line a claim update cancelled is answered C, one it added is there."""
    now = now or datetime.now(UTC)
    bundle, claim = submission.bundle, submission.claim
    action = review_action(record)
    disposition, notes = _notes(record, action, [questionnaire] if questionnaire else [])
    submitted = claim.get("item") or []
    if inquiry:  # the lines as last submitted or updated (stored), else the stored CPT codes
        submitted = stored_items or [{"sequence": i, "productOrService": {"coding": [
            {"system": "http://www.ama-assn.org/go/cpt", "code": code}]}}
            for i, code in enumerate(record.request.cpt_codes, start=1)] or submitted
    other_note = None
    approved_periods: list[dict[str, str]] = []
    clock = getattr(record, "clock", None)
    issued = clock.decided_at if clock is not None and clock.decided_at is not None else now  # when certified
    items: list[dict[str, Any]] = []
    reviewed_lines: list[int] = []
    for i, item in enumerate(submitted or [{"sequence": 1}], start=1):
        reviewed = bool(_item_cpts(item) & set(governed)) and not cancelled(item)
        item_action = "C" if cancelled(item) else action if reviewed else "A4"
        out: dict[str, Any] = {"itemSequence": item.get("sequence", i)}
        if reviewed:
            reviewed_lines.append(out["itemSequence"])
        ext = _item_extensions(record, bundle, claim, item, item_action, out["itemSequence"], issued, valid_days)
        if item_action == "A1" and (period := _preauth_period(item, issued, valid_days)):
            approved_periods.append(period)
        if ext:
            out["extension"] = ext
        if reviewed and notes:
            out["noteNumber"] = [n["number"] for n in notes]
        elif not reviewed and item_action != "C":
            if other_note is None:
                other_note = len(notes) + 1
                notes = [*notes, {"number": other_note, "type": "display", "text": NOT_REVIEWED_NOTE}]
            out["noteNumber"] = [other_note]
        out["adjudication"] = [_adjudication(record, item_action)]
        items.append(out)
    if not any(_item_cpts(item) & set(governed) for item in submitted) and action != "A4":
        disposition = NOT_REVIEWED_NOTE
    profile = profiles.CLAIM_INQUIRY_RESPONSE if inquiry else profiles.CLAIM_RESPONSE
    claim_response: dict[str, Any] = {
        "id": record.id,
        "meta": {"profile": [profile]},
        "identifier": [i for i in claim.get("identifier") or []][:1],
        "status": "active",
        "type": claim.get("type") or {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                                   "code": "professional"}]},
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": now.isoformat(timespec="seconds"),
        "insurer": claim.get("insurer"),
        "outcome": "complete",  # PAS binds outcome to complete | error | partial: a pend is complete + A4
        "text": narrative(disposition),
        "disposition": disposition,
        "item": items,
    }
    if claim.get("provider"):
        claim_response["requestor"] = claim["provider"]
    if claim.get("identifier"):
        claim_response["request"] = {"identifier": claim["identifier"][0]}
    elif record.submitter_ref:
        system, _, value = record.submitter_ref.partition("|")
        claim_response["request"] = {"identifier": {**({"system": system} if system else {}), "value": value}}
    if any(a["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "A1"
           for a in items):
        claim_response["preAuthRef"] = record.id
    if approved_periods:  # the span every certified item's preauthorization period covers
        claim_response["preAuthPeriod"] = {"start": min(p["start"] for p in approved_periods),
                                           "end": max(p["end"] for p in approved_periods)}
    if unread_documents:  # said, never silently dropped
        notes = [*notes, {"number": len(notes) + 1, "type": "display", "text": UNREAD_DOCUMENTS_NOTE}]
    if notes:
        claim_response["processNote"] = notes
    # Whether a person reviewed this decision (PAS claimResponseReviewer): a signature, nothing less.
    claim_response["extension"] = [{"url": CLAIM_RESPONSE_REVIEWER, "extension": [
        {"url": "wasHumanReviewedFlag", "valueBoolean": record.status == "signed"}]}, *_transmission(claim)]
    extra = []
    if record.response.recommendation == "needs_more_information" and action == "A4" and record.status != "signed":
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mrs-assist:communication-request:{record.id}"))
        extra.append({"fullUrl": f"urn:uuid:{request_id}",
                      "resource": communication_request(record, request_id, claim, (reviewed_lines or [1])[0], now)})
        claim_response["communicationRequest"] = [{"reference": f"urn:uuid:{request_id}"}]
        if payer_url and claim.get("patient"):
            task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mrs-assist:task:{record.id}"))
            extra.append({"fullUrl": f"urn:uuid:{task_id}", "resource": attachment_task(
                record, task_id, submission, (reviewed_lines or [1])[0], payer_url)})
    claim_response = build("ClaimResponse", {k: v for k, v in claim_response.items() if v})
    entries = [{"fullUrl": f"urn:uuid:{record.id}", "resource": claim_response}, *extra]
    for ref in dict.fromkeys(profiles.references({k: claim_response.get(k) for k in ("patient", "insurer", "requestor")})):
        res = _resource(bundle, ref)
        full = next((e.get("fullUrl") for e in bundle.get("entry") or [] if e.get("resource") is res), None)
        if res is not None and full and all(e["fullUrl"] != full for e in entries):
            entries.append({"fullUrl": full, "resource": res})
    profile_bundle = profiles.INQUIRY_RESPONSE_BUNDLE if inquiry else profiles.RESPONSE_BUNDLE
    return build("Bundle", {
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profile_bundle]},
        "identifier": bundle.get("identifier") or {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": entries,
    })


X12_901 = "https://codesystem.x12.org/005010/901"
X12_889 = "https://codesystem.x12.org/005010/889"


def error_bundle(submission: Submission, *, code: str, path: str, followup: str = "C", element: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """A business rejection as PAS answers it (the IG's Bundle-ErrorResponseBundleExample): a
    ClaimResponse with outcome `error` and `error` coded in X12 901 (AAA03 reject reason), the
    failing element's path and the X12 889 follow-up action (C = correct and resubmit). Kept for
    requests that were read but cannot be decided (e.g. no policy for the member's payer or
    plan); bundles that cannot be processed stay a 4xx OperationOutcome. `element` names the
    X12 loop-segment-element at fault (errorElement, e.g. 2010A-NM103 for the UMO's name)."""
    now = now or datetime.now(UTC)
    bundle, claim = submission.bundle, submission.claim
    located = [{"url": profiles.PAS + "extension-errorElement", "extension": [{"url": "error", "valueString": element}]}
               ] if element else []
    response: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profiles.CLAIM_RESPONSE]},
        "extension": _transmission(claim),
        "identifier": [i for i in claim.get("identifier") or []][:1],
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": now.isoformat(timespec="seconds"),
        "insurer": claim.get("insurer"),
        "requestor": claim.get("provider"),
        "request": {"identifier": claim["identifier"][0]} if claim.get("identifier") else None,
        "outcome": "error",
        "text": narrative(f"Rejected: X12 reject reason {code} at {path}; correct and resubmit."
                          if followup == "C" else f"Rejected: X12 reject reason {code} at {path}."),
        "error": [{
            "extension": [
                *located,
                {"url": profiles.PAS + "extension-errorPath", "valueString": path},
                {"url": profiles.PAS + "extension-errorFollowupAction",
                 "valueCodeableConcept": {"coding": [{"system": X12_889, "code": followup}]}},
            ],
            "code": {"coding": [{"system": X12_901, "code": code}]},
        }],
    }
    response = build("ClaimResponse", {k: v for k, v in response.items() if v})
    entries = [{"fullUrl": f"urn:uuid:{response['id']}", "resource": response}]
    for ref in dict.fromkeys(profiles.references({k: response.get(k) for k in ("patient", "insurer", "requestor")})):
        res = _resource(bundle, ref)
        full = next((e.get("fullUrl") for e in bundle.get("entry") or [] if e.get("resource") is res), None)
        if res is not None and full and all(e["fullUrl"] != full for e in entries):
            entries.append({"fullUrl": full, "resource": res})
    return build("Bundle", {
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profiles.RESPONSE_BUNDLE]},
        "identifier": bundle.get("identifier") or {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": entries,
    })
