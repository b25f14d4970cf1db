"""Da Vinci PAS through the API: published example bundles in, validated PAS responses out,
OperationOutcome for bad input, and never an automatic denial."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from support.fhir import answers, claim_response, fixture, mrs_bundle, payer_map, review_action, sign, valid_npis

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.fhir import conformance, profiles
from mrs_assist.records import dispose_engine
from mrs_assist.service import Services

KEYS = "key-nurse=nurse-ann:reviewer,key-doctor=dr-lee:physician,key-ops=ops-sam:admin"
NURSE = {"X-API-Key": "key-nurse", "Content-Type": "application/fhir+json"}
DOCTOR = {"X-API-Key": "key-doctor", "Content-Type": "application/fhir+json"}
OPS = {"X-API-Key": "key-ops", "Content-Type": "application/fhir+json"}
MEETS = {  # gold case gc-001's facts (eval/cases.yaml) that Cohere's questionnaire asks: meets its criteria
    "known_brain_tumor": True, "brain_mass_or_lesion": True,
    "conventional_imaging_inconclusive": True, "tumor_recurrence_vs_treatment_effect": True,
}


def make_client(tmp_path, policy_id: str = "cohere-mrs"):
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys=KEYS, fhir_notify_interval_seconds=0,
                        fhir_payer_map=payer_map(tmp_path, policy_id))
    services = Services(settings)
    app = create_app(services=services, host="127.0.0.1")
    return TestClient(app, raise_server_exceptions=False), services


@pytest.fixture()
def client(tmp_path):
    client, services = make_client(tmp_path)
    yield client
    dispose_engine(services.records.url)


def submit(client, bundle, headers=NURSE):
    return client.post("/fhir/Claim/$submit", content=json.dumps(bundle), headers=headers)


def assert_conformant(body, *, inquiry=False):
    """The response validates with fhir.resources and meets the PAS profile rules (no errors)."""
    Bundle.model_validate(body)
    assert profiles.errors(profiles.check_response_bundle(body, inquiry=inquiry)) == []
    assert conformance.validate(body, invariants=True).errors == []  # the profiles it names and their invariants


# --- the published examples ---------------------------------------------------------------
def test_the_inferno_v110_bundle_is_answered_with_a_conformant_pas_response_once_221_conformant(client):
    r = submit(client, fixture("inferno/conformant_pas_bundle_v110.json"))
    # A PAS 1.1.0 bundle: 2.2.1 made Claim.item.category 1..1, and the snapshot says so.
    assert r.status_code == 422
    assert any("profile-claim#Claim.item.category" in i["diagnostics"] for i in r.json()["issue"])
    # ... and its insurer's NPI (6 digits) breaks the insurer profile's invariant us-core-16.
    assert any(i["diagnostics"].startswith("us-core-16") for i in r.json()["issue"])
    bundle = valid_npis(fixture("inferno/conformant_pas_bundle_v110.json"))
    bundle["entry"][0]["resource"]["item"][0]["category"] = mrs_bundle()["entry"][0]["resource"]["item"][0]["category"]
    r = submit(client, bundle)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert_conformant(body)
    cr = claim_response(body)
    # The example asks for an X12 service type, not CPT 76390: nothing certifies it, it is pended
    # (PAS binds outcome to complete | error | partial: a pend is complete with review action A4).
    action, _ = review_action(body)
    assert action == "A4" and cr["outcome"] == "complete"
    assert cr["identifier"][0]["value"] == "111099"  # the submitter's trace number comes back
    kept = {e["fullUrl"] for e in body["entry"][1:]}
    assert {
        "https://prior-auth.davinci.hl7.org/fhir/Patient/SubscriberExample",
        "https://prior-auth.davinci.hl7.org/fhir/Organization/InsurerExample",
        "https://prior-auth.davinci.hl7.org/fhir/Organization/UMOExample",
    } <= kept
    # The same record the JSON API shows, with the level of service read as expedited (U = urgent).
    record = client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()
    assert record["id"] == cr["id"] and record["clock"]["urgency"] == "expedited"


@pytest.mark.parametrize("name, rule", [
    ("inferno/nonconformant_pas_bundle.json", "profile-pas-request-bundle#Bundle.entry:Claim: at least 1 required"),
    ("prior-auth/bundle-request.json", "profile-claim#Claim.item: at least 1 required"),
])
def test_published_nonconformant_bundles_get_an_operation_outcome(client, name, rule):
    r = submit(client, fixture(name))
    assert r.status_code == 422
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert any(rule in i["diagnostics"] for i in body["issue"])
    assert client.get("/v1/determinations", headers=NURSE).json() == []  # nothing stored


def test_the_profile_check_rejects_the_published_responses_missing_elements():
    found = {i["diagnostics"] for i in profiles.check_response_bundle(
        fixture("inferno/pa_response_bundle_missing_elements.json"))}
    assert {f"{profiles.RESPONSE_BUNDLE}#Bundle.timestamp: at least 1 required, 0 present",
            f"{profiles.CLAIM_RESPONSE}#ClaimResponse.created: at least 1 required, 0 present"} <= found
    # Inferno's "valid" response fixture predates 2.2.1: it lacks Bundle.identifier and
    # ClaimResponse.request, both 1..1 in the 2.2.1 snapshots.
    found = {i["diagnostics"].split(":")[0] + ":" + i["diagnostics"].split(":")[1] for i in profiles.errors(
        profiles.check_response_bundle(fixture("inferno/valid_pa_response_bundle.json")))}
    assert found == {f"{profiles.RESPONSE_BUNDLE}#Bundle.identifier", f"{profiles.CLAIM_RESPONSE}#ClaimResponse.request"}


@pytest.mark.parametrize("mutate, status", [
    (lambda b: "not json", 400),
    (lambda b: [b], 400),
    (lambda b: {**b, "resourceType": "Parameters"}, 422),
    (lambda b: {**b, "entry": [{**b["entry"][0], "resource": {**b["entry"][0]["resource"], "status": 7}}]}, 422),
    (lambda b: {**b, "timestamp": "not a time"}, 422),
])
def test_malformed_bundles_are_4xx_operation_outcomes_that_echo_nothing(client, mutate, status):
    bundle = mutate(mrs_bundle(notes="SECRET-NOTE-TEXT"))
    r = client.post("/fhir/Claim/$submit", content=bundle if isinstance(bundle, str) else json.dumps(bundle),
                    headers=NURSE)
    assert r.status_code == status
    assert r.json()["resourceType"] == "OperationOutcome" and "SECRET" not in r.text
    assert "not a time" not in r.text


def test_auth_and_roles_are_the_json_apis(client):
    assert client.post("/fhir/Claim/$submit", content="{}", headers={}).json()["issue"][0]["code"] == "login"
    r = submit(client, mrs_bundle(), headers=OPS)  # admin makes no clinical change
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"


def test_a_coverage_without_a_mapped_policy_is_a_claim_response_with_an_x12_error(tmp_path):
    client, services = make_client(tmp_path)
    bundle = mrs_bundle()
    org = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == "InsurerExample")
    org["name"] = "Some Other Plan"
    r = submit(client, bundle)
    assert r.status_code == 200  # a business rejection, as the IG's ErrorResponseBundleExample
    body = r.json()
    assert_conformant(body)
    cr = claim_response(body)
    assert cr["outcome"] == "error" and "item" not in cr
    assert cr["error"][0]["code"]["coding"][0] == {"system": "https://codesystem.x12.org/005010/901", "code": "T4"}
    assert client.get("/v1/determinations", headers=NURSE).json() == []  # nothing stored
    dispose_engine(services.records.url)


# --- outcomes -----------------------------------------------------------------------------
def test_meets_criteria_is_certified_a1(client):
    body = submit(client, mrs_bundle(facts_qr=answers("cohere-mrs", MEETS))).json()
    assert_conformant(body)
    action, _ = review_action(body)
    cr = claim_response(body)
    assert action == "A1" and cr["outcome"] == "complete" and cr["preAuthRef"] == cr["id"]


def test_missing_information_is_pended_a4_with_each_missing_question(client):
    body = submit(client, mrs_bundle(notes="Request: MR spectroscopy of the brain.")).json()
    assert_conformant(body)
    action, _ = review_action(body)
    cr = claim_response(body)
    record = client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()
    assert action == "A4" and record["recommendation"] == "needs_more_information"
    notes = [n["text"] for n in cr["processNote"]]
    for fact, question in zip(record["trace"]["missing_facts"], record["missing_information"], strict=True):
        assert f"Missing information [{fact}]: {question}" in notes
    assert any("Questionnaire/cohere-mrs" in n for n in notes)


def test_does_not_meet_is_pended_until_a_physician_signs_then_a3_with_the_coded_reason(client):
    bundle = mrs_bundle(claim_id="REQ-DENY", facts_qr=answers("cohere-mrs", {"non_brain_mrs_requested": True}))
    body = submit(client, bundle).json()
    assert_conformant(body)
    cr = claim_response(body)
    assert review_action(body)[0] == "A4"  # never an automatic denial
    assert "physician review" in cr["disposition"]
    inquiry = bundle
    # A reviewer cannot sign an adverse determination: still pended.
    assert sign(client, cr["id"], NURSE).status_code == 403
    assert review_action(client.post("/fhir/Claim/$inquiry", content=json.dumps(inquiry), headers=NURSE).json())[0] == "A4"
    assert sign(client, cr["id"], DOCTOR).status_code == 200
    r = client.post("/fhir/Claim/$inquiry", content=json.dumps(inquiry), headers=NURSE)
    assert r.status_code == 200
    answer = r.json()
    assert_conformant(answer, inquiry=True)
    action, ext = review_action(answer)
    assert action == "A3"
    reason = next(e["valueCodeableConcept"] for e in ext if e["url"] == "reasonCode")
    assert reason["coding"][0]["system"] == "https://codesystem.x12.org/external/886"
    letter = client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()["letter_markdown"]
    # The same code, reason and clause in the letter and in the ClaimResponse.
    assert f"Decision reason code {reason['coding'][0]['code']}" in letter
    assert reason["text"] in letter and reason["text"] in claim_response(answer)["disposition"]
    assert "cohere-mrs#" in claim_response(answer)["disposition"]


def test_inquiry_for_an_unknown_claim_is_a_404_operation_outcome(client):
    r = client.post("/fhir/Claim/$inquiry", content=json.dumps(mrs_bundle(claim_id="NEVER-SENT")), headers=NURSE)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_resubmitting_with_dtr_answers_updates_the_same_record_with_audited_overrides(client):
    first = claim_response(submit(client, mrs_bundle(claim_id="REQ-2")).json())
    again = submit(client, mrs_bundle(claim_id="REQ-2", facts_qr=answers("cohere-mrs", MEETS))).json()
    assert review_action(again)[0] == "A1" and claim_response(again)["id"] == first["id"]
    record = client.get(f"/v1/determinations/{first['id']}", headers=NURSE).json()
    assert {o["name"] for o in record["overrides"]} <= set(MEETS) and record["overrides"]
    assert all(o["reason"].startswith("answered in the DTR questionnaire") for o in record["overrides"])


def test_an_inquiry_claim_needs_no_items_but_a_submission_does(client):
    submit(client, mrs_bundle(claim_id="REQ-INQ"))
    inquiry = mrs_bundle(claim_id="REQ-INQ")
    claim = inquiry["entry"][0]["resource"]
    del claim["item"]  # PASClaimInquiry needs no items (its snapshot still fixes status = active)
    r = client.post("/fhir/Claim/$inquiry", content=json.dumps(inquiry), headers=NURSE)
    assert r.status_code == 200 and review_action(r.json())[0] == "A4"
    assert submit(client, inquiry).status_code == 422
