"""PAS 2.2.1 behaviours: $inquire (Parameters, 0..* returns, spec-53 matching and the
authorization number), item-level adjudication, the `provider` role scoped to its organization,
a signed decision staying final, QuestionnaireResponse statuses and contradictions, absolute
URLs from the configured public URL only, and 4xx (never 500) for hostile bundles. Every
response is checked against the published snapshots (mrs_assist.fhir.conformance)."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient
from support.fhir import answers, claim_response, mrs_bundle, npi, payer_map, review_action, sign

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.fhir import conformance, profiles
from mrs_assist.records import dispose_engine
from mrs_assist.service import Services

ORG = "8189991234"  # the published bundle's provider organization (NPI of UMOExample)
KEYS = ("key-nurse=nurse-ann:reviewer,key-doctor=dr-lee:physician,"
        f"key-ehr=ehr-1:provider:{ORG},key-other-ehr=ehr-2:provider:1111111111")
H = {"Content-Type": "application/fhir+json"}
NURSE, DOCTOR = {**H, "X-API-Key": "key-nurse"}, {**H, "X-API-Key": "key-doctor"}
EHR, OTHER_EHR = {**H, "X-API-Key": "key-ehr"}, {**H, "X-API-Key": "key-other-ehr"}
MEETS = {"known_brain_tumor": True, "brain_mass_or_lesion": True,
         "conventional_imaging_inconclusive": True, "tumor_recurrence_vs_treatment_effect": True}
PUBLIC = "https://pa.example-payer.org/mrs"


@pytest.fixture()
def client(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys=KEYS, fhir_notify_interval_seconds=0,
                        fhir_payer_map=payer_map(tmp_path, "cohere-mrs"), public_url=PUBLIC)
    services = Services(settings)
    yield TestClient(create_app(services=services, host="127.0.0.1"), raise_server_exceptions=False)
    dispose_engine(services.records.url)


def post(client, path, body, headers=NURSE):
    return client.post(path, content=json.dumps(body), headers=headers)


def conformant(bundle, *, inquiry=False):
    assert profiles.errors(profiles.check_response_bundle(bundle, inquiry=inquiry)) == []
    assert conformance.validate(bundle, invariants=True).errors == []  # with the FHIRPath invariants
    return bundle


def returns(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Parameters"
    return [conformant(p["resource"], inquiry=True) for p in body.get("parameter") or [] if p["name"] == "return"]


def patient(bundle):
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def test_inquire_matches_claim_member_and_provider_and_answers_zero_returns_otherwise(client):
    sent = claim_response(conformant(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-1")).json()))
    found = returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="REQ-1")))
    assert [claim_response(b)["id"] for b in found] == [sent["id"]]
    assert returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="NEVER-SENT"))) == []
    other_member = mrs_bundle(claim_id="REQ-1")
    patient(other_member)["identifier"][0]["value"] = "99999999999"
    assert returns(post(client, "/fhir/Claim/$inquire", other_member)) == []
    other_provider = mrs_bundle(claim_id="REQ-1")
    org = next(e["resource"] for e in other_provider["entry"] if e["resource"].get("id") == "UMOExample")
    org["identifier"][0]["value"], org["name"] = npi("111111111"), "ANOTHER CLINIC"  # a valid NPI (us-core-17)
    assert returns(post(client, "/fhir/Claim/$inquire", other_provider)) == []


def test_inquire_finds_a_request_by_its_authorization_number(client):
    sent = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(
        claim_id="REQ-A1", facts_qr=answers("cohere-mrs", MEETS))).json())
    assert sent["preAuthRef"] == sent["id"]
    inquiry = mrs_bundle(claim_id="SOME-OTHER-TRACE")
    inquiry["entry"][0]["resource"]["item"][0]["extension"] = [
        {"url": profiles.PAS + "extension-authorizationNumber", "valueString": sent["preAuthRef"]}]
    found = returns(post(client, "/fhir/Claim/$inquire", inquiry))
    assert [claim_response(b)["id"] for b in found] == [sent["id"]]
    assert review_action(found[0])[0] == "A1"


def test_a_reused_claim_identifier_for_another_member_is_a_conflict_not_a_rewrite(client):
    first = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-R")).json())
    other = mrs_bundle(claim_id="REQ-R", facts_qr=answers("cohere-mrs", MEETS))
    patient(other)["identifier"][0]["value"] = "99999999999"
    r = post(client, "/fhir/Claim/$submit", other)
    assert r.status_code == 409 and r.json()["resourceType"] == "OperationOutcome"
    record = client.get(f"/v1/determinations/{first['id']}", headers=NURSE).json()
    assert record["overrides"] == [] and record["recommendation"] == "needs_more_information"


def test_items_are_adjudicated_one_by_one(client):
    bundle = mrs_bundle(claim_id="REQ-ITEMS", facts_qr=answers("cohere-mrs", MEETS))
    claim = bundle["entry"][0]["resource"]
    extra = copy.deepcopy(claim["item"][0])
    extra["sequence"] = 2
    extra["productOrService"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99242"}]}
    claim["item"].append(extra)
    cr = claim_response(conformant(post(client, "/fhir/Claim/$submit", bundle).json()))
    actions = [i["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
               for i in cr["item"]]
    assert actions == ["A1", "A4"]
    issued = [[e["url"].rsplit("-", 1)[-1] for e in i.get("extension", [])] for i in cr["item"]]
    certified_only = {"itemPreAuthIssueDate", "itemAuthorizedDetail", "itemAuthorizedProvider"}
    assert certified_only <= set(issued[0]) and not certified_only & set(issued[1])  # the A1 item's only
    note = {n["number"]: n["text"] for n in cr["processNote"]}[cr["item"][1]["noteNumber"][0]]
    assert "not one the reviewed policy governs" in note


def test_a_signed_denial_stays_the_answer_until_a_new_version_is_signed(client):
    bundle = mrs_bundle(claim_id="REQ-D", facts_qr=answers("cohere-mrs", {"non_brain_mrs_requested": True}))
    cr = claim_response(post(client, "/fhir/Claim/$submit", bundle).json())
    assert sign(client, cr["id"], DOCTOR).status_code == 200
    # New information from another key (answers that would approve): a new version, not a flip.
    qr = {**answers("cohere-mrs", {"non_brain_mrs_requested": False, **MEETS}),
          "subject": {"reference": f"ClaimResponse/{cr['id']}"}}
    state = {p["name"]: p.get("valueCode") for p in post(client, "/fhir/QuestionnaireResponse", qr).json()["parameter"]}
    assert state["reviewAction"] == "A3" and state["status"] == "signed"
    found = returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="REQ-D")))
    assert [review_action(b)[0] for b in found] == ["A3"]
    assert client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()["status"] == "signed"
    versions = [r for r in client.get("/v1/determinations", headers=NURSE).json() if r["id"] != cr["id"]]
    assert len(versions) == 1  # the new version waits for review and sign-off


@pytest.mark.parametrize("status", ["entered-in-error", "stopped", "in-progress"])
def test_answers_that_are_not_final_are_not_applied(client, status):
    cr = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-S")).json())
    qr = {**answers("cohere-mrs", MEETS), "status": status, "subject": {"reference": f"ClaimResponse/{cr['id']}"}}
    state = {p["name"]: p.get("valueCode") for p in post(client, "/fhir/QuestionnaireResponse", qr).json()["parameter"]}
    assert state["reviewAction"] == "A4"
    assert client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()["overrides"] == []


def test_answers_contradicting_the_notes_pend_for_a_reviewer(client):
    notes = "MR spectroscopy of the brain requested. There is no brain mass or lesion on prior MRI."
    cr = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-C", notes=notes)).json())
    facts = {f["name"]: f for f in client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()["facts"]}
    assert facts["brain_mass_or_lesion"]["value"] is False and facts["brain_mass_or_lesion"]["evidence"]
    qr = {**answers("cohere-mrs", MEETS), "subject": {"reference": f"ClaimResponse/{cr['id']}"}}
    state = {p["name"]: p.get("valueCode") for p in post(client, "/fhir/QuestionnaireResponse", qr).json()["parameter"]}
    assert state["recommendation"] == "meets_criteria" and state["reviewAction"] == "A4"
    found = returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="REQ-C")))
    assert review_action(found[0])[0] == "A4" and "contradict" in claim_response(found[0])["disposition"]
    # Answers that only fill what the notes leave unknown still certify.
    cr2 = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-C2")).json())
    qr2 = {**answers("cohere-mrs", MEETS), "subject": {"reference": f"ClaimResponse/{cr2['id']}"}}
    state = {p["name"]: p.get("valueCode") for p in post(client, "/fhir/QuestionnaireResponse", qr2).json()["parameter"]}
    assert state["reviewAction"] == "A1"


def test_a_provider_system_sees_only_its_own_organizations_requests(client):
    r = post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-P"), headers=EHR)
    assert r.status_code == 200
    cr = claim_response(r.json())
    assert [claim_response(b)["id"] for b in returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="REQ-P"),
                                                         headers=EHR))] == [cr["id"]]
    assert returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="REQ-P"), headers=OTHER_EHR)) == []
    assert client.get(f"/fhir/ClaimResponse/{cr['id']}", headers=OTHER_EHR).status_code == 404
    assert client.get(f"/fhir/ClaimResponse/{cr['id']}", headers=EHR).json()["id"] == cr["id"]
    # Its own organization's request, submitted under someone else's key, is a conflict for the other key.
    assert post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-P"), headers=OTHER_EHR).status_code == 409
    # No /v1 records, no sign-off.
    assert client.get("/v1/determinations", headers=EHR).status_code == 403
    assert client.get(f"/v1/determinations/{cr['id']}", headers=EHR).status_code == 403
    assert client.post(f"/v1/determinations/{cr['id']}/sign", json={"review_hash": "x"},
                       headers={"X-API-Key": "key-ehr"}).status_code == 403


def test_absolute_urls_come_from_the_configured_public_url_never_the_host_header(client):
    evil = {**NURSE, "Host": "attacker.example"}
    meta = client.get("/fhir/metadata", headers=evil).json()
    assert meta["resourceType"] == "CapabilityStatement" and meta["implementation"]["url"] == PUBLIC + "/fhir"
    assert {"submit", "inquire"} <= {o["name"] for r in meta["rest"][0]["resource"] if r["type"] == "Claim"
                                     for o in r["operation"]}
    from test_cds_hooks import call, order  # the CRD tests' hook call, for the published payer

    r = client.post("/cds-services/mrs-assist-order-sign", json=call("order-sign", [order()]),
                    headers={"X-API-Key": "key-nurse", "Host": "attacker.example"})
    assert r.status_code == 200 and r.json()["cards"][0]["links"][0]["url"].startswith(PUBLIC + "/fhir/")
    assert "attacker" not in r.text


def _deep(bundle):
    ext = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(120):
        ext = {"url": "http://example.org/x", "extension": [ext]}
    bundle["entry"][0]["resource"]["extension"] = [ext]
    return json.dumps(bundle).encode()


def _unknown_type(bundle):
    bundle["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "NotAResource", "id": "x"}})
    return json.dumps(bundle).encode()


def _cesu(bundle):
    patient(bundle)["name"] = [{"text": "CESUNAME"}]
    return json.dumps(bundle).encode().replace(b"CESUNAME", b"\xed\xa0\x80\xed\xb0\x80")


def _long_identifier(bundle):
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = "9" * 400
    return json.dumps(bundle).encode()


def _missing_reference(bundle):
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Practitioner"]
    return json.dumps(bundle).encode()


def _claim_not_first(bundle):
    bundle["entry"].append(bundle["entry"].pop(0))
    return json.dumps(bundle).encode()


@pytest.mark.parametrize("route", ["/fhir/Claim/$submit", "/fhir/Claim/$inquire"])
@pytest.mark.parametrize("make", [_deep, _unknown_type, _cesu, _long_identifier, _missing_reference, _claim_not_first])
def test_hostile_or_nonconformant_bundles_are_4xx_operation_outcomes(client, route, make):
    r = client.post(route, content=make(mrs_bundle(claim_id="REQ-X")), headers=NURSE)
    assert 400 <= r.status_code < 500 and r.json()["resourceType"] == "OperationOutcome"


def _update_of(claim_id: str, *, cancel: bool, qr=None) -> dict:
    """A PASClaimUpdate bundle for `claim_id`: the update Claim first (a new trace number,
    `related` → the original), the original Claim carried after it."""
    bundle = mrs_bundle(claim_id=claim_id, facts_qr=qr)
    original = copy.deepcopy(bundle["entry"][0])
    original["fullUrl"] = "https://example.org/fhir/Claim/original-" + claim_id
    original["resource"]["id"] = "original-" + claim_id
    update = bundle["entry"][0]["resource"]
    update["meta"] = {"profile": [profiles.PAS + "profile-claim-update"]}
    update["identifier"][0]["value"] = claim_id + "-UPDATE"
    update["related"] = [{"claim": {"reference": f"Claim/original-{claim_id}"}, "relationship": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "code": "prior"}]}}]
    if cancel:
        update["item"][0]["modifierExtension"] = [{"url": profiles.PAS + "modifierextension-infoCancelled",
                                                   "valueBoolean": True}]
    bundle["entry"].append(original)
    return bundle


def test_a_claim_update_with_its_original_updates_the_request_and_cancels_items(client):
    first = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-U")).json())
    assert review_action({"entry": [{"resource": first}]})[0] == "A4"
    r = post(client, "/fhir/Claim/$submit", _update_of("REQ-U", cancel=False, qr=answers("cohere-mrs", MEETS)))
    assert r.status_code == 200, r.text
    updated = claim_response(conformant(r.json()))
    assert updated["id"] == first["id"] and review_action(r.json())[0] == "A1"
    r = post(client, "/fhir/Claim/$submit", _update_of("REQ-U", cancel=True))
    assert review_action(conformant(r.json()))[0] == "C"
    # An update of a request never submitted here is refused; a reused trace number asking for
    # other services is a conflict, not a silent merge.
    assert post(client, "/fhir/Claim/$submit", _update_of("REQ-NEVER", cancel=False)).status_code == 404
    r = post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-U", cpt="70553"))
    assert r.status_code == 409


def test_a_pend_for_documentation_carries_a_communication_request_and_the_reviewer_flag(client):
    body = conformant(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-CR")).json())
    cr = claim_response(body)
    ref = cr["communicationRequest"][0]["reference"]
    request = next(e["resource"] for e in body["entry"] if e["fullUrl"] == ref)
    assert request["resourceType"] == "CommunicationRequest"
    assert conformance.validate(request, profiles.PAS + "profile-communicationrequest").errors == []
    assert request["reasonCode"][0]["text"].startswith("Documentation needed: ")
    flag = cr["extension"][0]["extension"][0]
    assert flag == {"url": "wasHumanReviewedFlag", "valueBoolean": False}
    bundle = mrs_bundle(claim_id="REQ-CR2", facts_qr=answers("cohere-mrs", {"non_brain_mrs_requested": True}))
    denied = claim_response(post(client, "/fhir/Claim/$submit", bundle).json())
    assert "communicationRequest" not in denied  # a pend for physician review asks the provider for nothing
    assert sign(client, denied["id"], DOCTOR).status_code == 200
    after = claim_response(returns(post(client, "/fhir/Claim/$inquire", bundle))[0])
    assert after["extension"][0]["extension"][0]["valueBoolean"] is True


def _deep_ext():
    ext = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(120):
        ext = {"url": "http://example.org/x", "extension": [ext]}
    return ext


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/fhir/QuestionnaireResponse", answers("cohere-mrs", {"known_brain_tumor": True})),
    ("POST", "/fhir/Questionnaire/$questionnaire-package", {"resourceType": "Parameters", "parameter": [
        {"name": "policy", "valueString": "cohere-mrs"}]}),
    ("POST", "/fhir/Subscription", {"resourceType": "Subscription", "status": "requested", "reason": "x",
                                    "criteria": "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic",
                                    "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook"}}),
    ("POST", "/cds-services/mrs-assist-order-sign", {"hook": "order-sign", "hookInstance": "1", "context": {
        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": []}}}),
])
@pytest.mark.parametrize("probe", ["deep", "unknown-type", "cesu"])
def test_every_fhir_route_answers_hostile_json_with_a_4xx(client, method, path, body, probe):
    body = copy.deepcopy(body)
    target = body["context"]["draftOrders"] if path.startswith("/cds") else body
    if probe == "deep":
        target["extension"] = [_deep_ext()]
    elif probe == "unknown-type":
        target["contained"] = [{"resourceType": "NotAResource", "id": "x"}]
    else:
        target["id"] = "CESUNAME"
    raw = json.dumps(body).encode().replace(b"CESUNAME", b"\xed\xa0\x80\xed\xb0\x80")
    r = client.request(method, path, content=raw, headers=NURSE)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])


def test_a_provider_systems_new_information_on_a_signed_request_opens_a_new_version(client):
    bundle = mrs_bundle(claim_id="REQ-PV", facts_qr=answers("cohere-mrs", {"non_brain_mrs_requested": True}))
    cr = claim_response(post(client, "/fhir/Claim/$submit", bundle, headers=EHR).json())
    assert sign(client, cr["id"], DOCTOR).status_code == 200
    again = mrs_bundle(claim_id="REQ-PV", facts_qr=answers("cohere-mrs", {"non_brain_mrs_requested": False, **MEETS}))
    r = post(client, "/fhir/Claim/$submit", again, headers=EHR)
    assert r.status_code == 200 and review_action(r.json())[0] == "A3"  # the signed decision, until re-signed
    versions = client.get("/v1/determinations", headers=NURSE).json()
    assert len(versions) == 2 and {v["status"] for v in versions} == {"signed", "draft"}
    draft = next(v for v in versions if v["status"] == "draft")
    assert draft["clock"]["decided_at"] is None  # its A1 was never returned: it waits for sign-off


def test_claim_update_item_changes_are_stored_and_later_inquiries_reflect_them(client):
    from mrs_assist.fhir import items

    first = claim_response(post(client, "/fhir/Claim/$submit", mrs_bundle(claim_id="REQ-IT")).json())
    # An update adding a consultation line (CPT 99242) and cancelling the 76390 line.
    update = _update_of("REQ-IT", cancel=True)
    claim = update["entry"][0]["resource"]
    added = copy.deepcopy(claim["item"][0])
    added.pop("modifierExtension")
    added["sequence"] = 2
    added["productOrService"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99242"}]}
    claim["item"].append(added)
    assert post(client, "/fhir/Claim/$submit", update).status_code == 200
    # A later inquiry (the inquiry's own items say nothing of the update) answers the stored lines.
    (found,) = returns(post(client, "/fhir/Claim/$inquire", mrs_bundle(claim_id="REQ-IT")))
    cr = claim_response(found)
    assert cr["id"] == first["id"]
    actions = {i["itemSequence"]: i["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
               for i in cr["item"]}
    assert actions == {1: "C", 2: "A4"}
    # The change is an audited entry of the record: what was added and cancelled.
    history = client.get(f"/v1/determinations/{first['id']}/history", headers=NURSE)
    assert history.status_code == 200
    audit = [e for e in client.app.state.services.records.history(first["id"]) if e["action"] == items.ACTION]
    assert len(audit) == 2  # the submission's lines, then the update's
    stored = items.latest(client.app.state.services.records, first["id"])
    assert [(i["sequence"], i["cancelled"]) for i in stored] == [(1, True), (2, False)]
    # The audit chain with these entries still verifies.
    from mrs_assist.records import verify_summary

    assert verify_summary(client.app.state.services.records)[0] is True
