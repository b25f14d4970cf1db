"""The DTR round trip against a real server on 127.0.0.1: a PAS request is pended, the
questionnaire package comes pre-filled, the answered QuestionnaireResponse approves it, and
$inquiry says so — one record, audited, the same the JSON API shows."""

from __future__ import annotations

import os
import sys

import httpx
import pytest
from support.fhir import claim_response, mrs_bundle, payer_map, review_action
from support.servers import free_port, running_server

from mrs_assist.fhir import dtr, profiles

pytestmark = pytest.mark.integration
NURSE = {"X-API-Key": "nurse-key", "Content-Type": "application/fhir+json"}
ANSWERS = {  # what the provider answers: Cohere's criteria 1 and 2.a.2
    "conventional_imaging_inconclusive": True, "known_brain_tumor": True,
    "tumor_recurrence_vs_treatment_effect": True,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("fhir-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MRS_ASSIST_", "OPENAI_"))}
    env.update(MRS_ASSIST_DATA_DIR=str(data), MRS_ASSIST_API_KEYS="nurse-key=nurse-kim:reviewer",
               MRS_ASSIST_FHIR_PAYER_MAP=str(payer_map(data, "cohere-mrs")), HF_HUB_OFFLINE="1")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "mrs_assist.api.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    with running_server(argv, probe=f"{url}/healthz", log_path=data / "server.log", env=env, cwd=data):
        yield url


def test_pend_questionnaire_response_approval_round_trip(server):
    with httpx.Client(base_url=server, headers=NURSE, timeout=60) as client:
        bundle = mrs_bundle(claim_id="RT-1", notes="58 y/o M. Request: MR spectroscopy of the brain.")
        pended = client.post("/fhir/Claim/$submit", json=bundle)
        assert pended.status_code == 200, pended.text
        assert review_action(pended.json())[0] == "A4"
        record_id = claim_response(pended.json())["id"]

        package = client.post("/fhir/Questionnaire/$questionnaire-package", json={
            "resourceType": "Parameters", "parameter": [{"name": "context", "valueString": record_id}]})
        assert package.status_code == 200, package.text
        entries = package.json()["parameter"][0]["resource"]["entry"]
        by_type = {e["resource"]["resourceType"]: e["resource"] for e in entries}
        questionnaire, prefilled = by_type["Questionnaire"], by_type["QuestionnaireResponse"]
        assert questionnaire["url"].endswith("/cohere-mrs") and prefilled["status"] == "in-progress"
        record = client.get(f"/v1/determinations/{record_id}").json()
        facts = {f["name"]: f["value"] for f in record["facts"]}
        # The pend asks exactly for facts the questionnaire shows unanswered.
        assert set(record["trace"]["missing_facts"]) <= set(dtr.unanswered(questionnaire, facts))

        response = {**prefilled, "status": "completed", "item": [
            *prefilled.get("item", []),
            *({"linkId": k, "answer": [{"valueBoolean": v}]} for k, v in ANSWERS.items()),
        ]}
        applied = client.post("/fhir/QuestionnaireResponse", json=response)
        assert applied.status_code == 200, applied.text
        state = {p["name"]: p.get("valueCode") or p.get("valueString") for p in applied.json()["parameter"]}
        assert state == {"request": record_id, "reviewAction": "A1", "recommendation": "meets_criteria",
                         "status": "draft"}

        inquiry = client.post("/fhir/Claim/$inquiry", json=mrs_bundle(claim_id="RT-1"))
        assert inquiry.status_code == 200
        assert profiles.errors(profiles.check_response_bundle(inquiry.json(), inquiry=True)) == []
        assert review_action(inquiry.json())[0] == "A1" and claim_response(inquiry.json())["id"] == record_id

        record = client.get(f"/v1/determinations/{record_id}").json()
        assert record["recommendation"] == "meets_criteria"
        assert {o["name"] for o in record["overrides"]} <= set(ANSWERS) and record["overrides"]
        assert client.get("/v1/determinations").json()[0]["id"] == record_id  # one record, not two
