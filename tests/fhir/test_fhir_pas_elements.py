"""PAS 2.2.1 must-support elements of a ClaimResponse that the server can truthfully populate
(preAuthPeriod, item trace numbers, requested service date, authorized detail and provider,
transmission identifiers, errorElement), and the PASTask that asks for documents on a pend.
Every response is checked against the published snapshots, entries against the profiles they
claim (mrs_assist.fhir.conformance)."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from support.fhir import answers, claim_response, mrs_bundle, review_action

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.fhir import conformance, pas, profiles
from mrs_assist.records import dispose_engine
from mrs_assist.service import Services

KEYS = "key-nurse=nurse-ann:reviewer,key-doctor=dr-lee:physician"
NURSE = {"Content-Type": "application/fhir+json", "X-API-Key": "key-nurse"}
MEETS = {"known_brain_tumor": True, "brain_mass_or_lesion": True,
         "conventional_imaging_inconclusive": True, "tumor_recurrence_vs_treatment_effect": True}
PUBLIC = "https://pa.example-payer.org/mrs"
PAYER = "MARYLAND CAPITAL INSURANCE COMPANY"
EXT = profiles.PAS + "extension-"


def make(tmp_path, valid_days: int | None = None):
    path = tmp_path / "payers.yaml"
    path.write_text(f"rules:\n  - payer_name: {PAYER}\n    policy_id: cohere-mrs\n"
                    + (f"authorization_valid_days: {valid_days}\n" if valid_days else ""))
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys=KEYS, fhir_notify_interval_seconds=0,
                        fhir_payer_map=path, public_url=PUBLIC)
    services = Services(settings)
    return TestClient(create_app(services=services, host="127.0.0.1"), raise_server_exceptions=False), services


@pytest.fixture()
def client(tmp_path):
    client, services = make(tmp_path)
    yield client
    dispose_engine(services.records.url)


def submit(client, bundle):
    r = client.post("/fhir/Claim/$submit", content=json.dumps(bundle), headers=NURSE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert profiles.errors(profiles.check_response_bundle(body)) == []
    assert conformance.validate(body, invariants=True).errors == []
    return body


def ext(element: dict, name: str) -> list:
    return [e for e in element.get("extension") or [] if e["url"] == EXT + name]


def dated(bundle: dict, **serviced) -> dict:
    item = bundle["entry"][0]["resource"]["item"][0]
    item.update(serviced)
    return bundle


def test_a_certified_item_carries_its_period_trace_numbers_and_what_was_authorized(client):
    period = {"start": "2026-12-14", "end": "2027-01-13"}
    body = submit(client, dated(mrs_bundle(claim_id="REQ-A1", facts_qr=answers("cohere-mrs", MEETS)),
                                servicedPeriod=period))
    cr = claim_response(body)
    item = cr["item"][0]
    assert review_action(body)[0] == "A1"
    # No validity configured: the authorization covers the service dates asked for, nothing invented.
    assert ext(item, "itemRequestedServiceDate")[0]["valuePeriod"] == period
    assert ext(item, "itemPreAuthPeriod")[0]["valuePeriod"] == period
    assert cr["preAuthPeriod"] == period
    traces = [e["valueIdentifier"] for e in ext(item, "itemTraceNumber")]
    asked = [e["valueIdentifier"] for e in ext(mrs_bundle()["entry"][0]["resource"]["item"][0], "itemTraceNumber")]
    assert asked and traces == [*asked, pas.item_trace_number(cr["id"], 1)]  # the submitter's echoed, then ours
    detail = ext(item, "itemAuthorizedDetail")[0]["extension"]
    assert detail[0]["valueCodeableConcept"]["coding"][0]["code"] == "76390"
    provider = ext(item, "itemAuthorizedProvider")[0]["extension"][0]["valueReference"]
    practitioner = next(e["resource"] for e in mrs_bundle()["entry"] if e["resource"]["resourceType"] == "Practitioner")
    assert provider == {"type": "Practitioner", "identifier": practitioner["identifier"][0]}  # the care team's, by NPI
    coverage = conformance.coverage([conformance.validate(body)])[profiles.CLAIM_RESPONSE][0]
    assert coverage >= 20


def test_a_pended_item_has_no_authorization_period_or_detail(client):
    body = submit(client, dated(mrs_bundle(claim_id="REQ-A4"), servicedDate="2026-12-14"))
    cr = claim_response(body)
    item = cr["item"][0]
    assert review_action(body)[0] == "A4"
    assert "preAuthPeriod" not in cr and not ext(item, "itemPreAuthPeriod") and not ext(item, "itemAuthorizedDetail")
    assert ext(item, "itemRequestedServiceDate")[0]["valuePeriod"] == {"start": "2026-12-14", "end": "2026-12-14"}


def test_a_configured_validity_runs_from_the_decision_date(tmp_path):
    client, services = make(tmp_path, valid_days=90)
    body = submit(client, mrs_bundle(claim_id="REQ-V", facts_qr=answers("cohere-mrs", MEETS)))
    cr = claim_response(body)
    issued = ext(cr["item"][0], "itemPreAuthIssueDate")[0]["valueDate"]
    start = date.fromisoformat(issued)
    assert cr["preAuthPeriod"] == {"start": issued, "end": (start + timedelta(days=90)).isoformat()}
    dispose_engine(services.records.url)


def test_transmission_identifiers_come_back_with_sender_and_receiver_swapped(client):
    bundle = mrs_bundle(claim_id="REQ-T")
    bundle["entry"][0]["resource"]["extension"] = [{"url": EXT + "TransmissionIdentifiers", "extension": [
        {"url": "applicationSenderCode", "valueString": "PROVIDERAPP"},
        {"url": "applicationReceiverCode", "valueString": "PAYERAPP"}]}]
    cr = claim_response(submit(client, bundle))
    subs = {e["url"]: e["valueString"] for e in ext(cr, "TransmissionIdentifiers")[0]["extension"]}
    assert subs == {"applicationSenderCode": "PAYERAPP", "applicationReceiverCode": "PROVIDERAPP"}
    assert not ext(claim_response(submit(client, mrs_bundle(claim_id="REQ-T2"))), "TransmissionIdentifiers")


def test_a_business_error_names_the_x12_element(client):
    bundle = mrs_bundle(claim_id="REQ-E")
    next(e["resource"] for e in bundle["entry"] if e["resource"].get("name") == PAYER)["name"] = "Unmapped Plan"
    error = claim_response(submit(client, bundle))["error"][0]
    assert ext(error, "errorElement")[0]["extension"] == [{"url": "error", "valueString": "2010A-NM103"}]


def test_a_pend_for_documents_carries_a_pas_task_for_the_attachment(client):
    body = submit(client, mrs_bundle(claim_id="REQ-TASK", notes="Request: MR spectroscopy of the brain."))
    tasks = [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Task"]
    assert len(tasks) == 1
    task = tasks[0]
    assert conformance.validate(task, profiles.PAS + "profile-task").errors == []
    inputs = {i["type"]["coding"][0]["code"]: i for i in task["input"]}
    assert inputs["payer-url"]["valueUrl"] == PUBLIC + "/fhir/Claim/$submit"  # the configured public URL
    assert inputs["attachments-needed"]["valueCodeableConcept"]["coding"][0]["system"] == "http://loinc.org"
    assert task["owner"]["identifier"]["value"] and "reference" not in task["owner"]  # identifier only
    assert task["reasonReference"]["identifier"]["value"] == "REQ-TASK"
    assert profiles.resolves(body, task["for"]["reference"])
    # An approval asks for nothing.
    approved = submit(client, mrs_bundle(claim_id="REQ-NOTASK", facts_qr=answers("cohere-mrs", MEETS)))
    assert not [e for e in approved["entry"] if e["resource"]["resourceType"] == "Task"]


def test_bundle_entries_are_checked_against_the_profiles_they_claim(client):
    body = submit(client, mrs_bundle(claim_id="REQ-BROKEN"))
    broken = copy.deepcopy(body)
    task = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Task")
    task["input"] = task["input"][:1]  # PASTask needs two inputs at least
    found = [i["diagnostics"] for i in conformance.validate(broken).errors]
    assert any("profile-task#Task.input: at least 2 required" in d for d in found), found


def _with_attachment(claim_id: str, attachment: dict, *, as_document: bool = False) -> dict:
    """A request carrying `attachment` in supportingInfo: inline (valueAttachment, category
    'attachment'), or as the content of a DocumentReference (the IG's additionalInformation)."""
    bundle = mrs_bundle(claim_id=claim_id)
    claim = bundle["entry"][0]["resource"]
    if not as_document:
        claim["supportingInfo"] = [{"sequence": 1, "valueAttachment": attachment, "category": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "attachment"}]}}]
        return bundle
    info = copy.deepcopy(dict(conformance.registry().examples["davinci_pas_2.2.1.tgz"])[
        "Claim-ReferralAuthorizationExample.json"]["supportingInfo"][0])  # additionalInformation with documentInformation
    info["valueReference"] = {"reference": "DocumentReference/att-1"}
    claim["supportingInfo"] = [info]
    bundle["entry"].append({"fullUrl": "https://example.org/fhir/DocumentReference/att-1", "resource": {
        "resourceType": "DocumentReference", "id": "att-1", "status": "current", "content": [{"attachment": attachment}]}})
    return bundle


@pytest.mark.parametrize("as_document", [False, True])
def test_a_pdf_attachment_becomes_documents_of_the_case_with_evidence_on_its_pages(client, as_document):
    import base64

    from mrs_assist.intake.samples import text_pdf

    pdf = text_pdf([["58 y/o M with glioblastoma s/p resection and radiation 2023."],
                    ["New enhancing lesion on MRI, equivocal for recurrence", "versus radiation necrosis."]])
    bundle = _with_attachment("REQ-PDF", {"contentType": "application/pdf", "title": "referral.pdf",
                                          "data": base64.b64encode(pdf).decode()}, as_document=as_document)
    cr = claim_response(submit(client, bundle))
    record = client.get(f"/v1/determinations/{cr['id']}", headers=NURSE).json()
    docs = record["documents"]
    assert [(d["name"], d["page"], d["method"]) for d in docs] == [("referral.pdf", 1, "pdf_text"), ("referral.pdf", 2, "pdf_text")]
    evidence = {f["name"]: f["evidence"] for f in record["facts"] if f["evidence"]}
    page_of = {name: {d["page"] for e in spans for d in docs if d["start"] <= e["start"] and e["end"] <= d["end"]}
               for name, spans in evidence.items()}
    assert page_of["known_brain_tumor"] == {1} and page_of["tumor_recurrence_vs_treatment_effect"] == {2}


def test_an_unreadable_attachment_refuses_the_whole_request(client):
    import base64

    r = client.post("/fhir/Claim/$submit", headers=NURSE, content=json.dumps(_with_attachment(
        "REQ-BAD", {"contentType": "application/pdf", "title": "broken.pdf",
                    "data": base64.b64encode(b"%PDF-1.4 not really a pdf").decode()})))
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"
    assert "broken.pdf" in r.text
    assert client.get("/v1/determinations", headers=NURSE).json() == []  # nothing stored


def test_attachments_sent_again_with_a_resubmission_are_said_to_be_unread(client):
    import base64

    from mrs_assist.intake.samples import text_pdf

    first = claim_response(submit(client, mrs_bundle(claim_id="REQ-AGAIN")))
    assert pas.UNREAD_DOCUMENTS_NOTE not in [n["text"] for n in first.get("processNote") or []]
    pdf = text_pdf([["58 y/o M with glioblastoma s/p resection and radiation 2023."]])
    again = claim_response(submit(client, _with_attachment("REQ-AGAIN", {
        "contentType": "application/pdf", "title": "late.pdf", "data": base64.b64encode(pdf).decode()})))
    assert again["id"] == first["id"]  # the same request: its case does not take documents afterwards
    assert pas.UNREAD_DOCUMENTS_NOTE in [n["text"] for n in again["processNote"]]
