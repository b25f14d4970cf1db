"""Issue 18: a packet's documents disagree about a fact — the API names, for every span, the document
it sits in, and for a fact the documents disagree about, the document that governs (the page shows
both sides from these fields)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from support.packets import PACKET

from mrs_assist.api import create_app
from mrs_assist.config import Settings
from mrs_assist.records import RecordStore, dispose_engine
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"

ONE_NOTE = "58M with glioblastoma s/p resection 2023. No pacemaker.\nPlan: MRS. Implants: pacemaker placed 2019.\n"


@pytest.fixture()
def client(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    app = create_app(services=Services(Settings(), records=store), host="127.0.0.1")
    yield TestClient(app, base_url=LOCAL, raise_server_exceptions=False)
    dispose_engine(store.url)


def _facts(body: dict) -> dict[str, dict]:
    return {f["name"]: f for f in body["facts"]}


def test_a_packet_names_each_spans_document_and_the_one_that_governs(client):
    created = client.post("/v1/determinations", json={"policy_id": "cohere-mrs", "cpt_codes": ["76390"],
                                                      "clinical_notes": PACKET, "patient": {"age_years": 58}})
    assert created.status_code == 201, created.text
    stored = client.get(f"/v1/determinations/{created.json()['id']}")
    assert stored.status_code == 200
    for body in (created.json(), stored.json()):  # the stored record carries the same fields
        facts = _facts(body)
        tumor = facts["known_brain_tumor"]
        newer = {"index": 1, "header": "DOCUMENT B - NEUROLOGY NOTE 02/20/2025", "date": "2025-02-20"}
        older = {"index": 0, "header": "DOCUMENT A - ORDER FORM 01/10/2025", "date": "2025-01-10"}
        assert tumor["value"] is False and tumor["governing_document"] == newer
        assert {e["document"]["index"] for e in tumor["evidence"]} == {1}
        assert tumor["contrary"] and all(e["document"] == older for e in tumor["contrary"])
        assert "known brain tumor" in [e["text"] for e in tumor["contrary"]]
        # Contested inside one document: both sides in document B, no document governs it.
        implant = facts["mri_unsafe_implant"]
        assert implant["value"] is None and implant["governing_document"] is None
        assert {e["document"]["index"] for e in implant["evidence"] + implant["contrary"]} == {1}


def test_one_note_has_no_documents_and_a_contested_fact_is_unknown(client):
    body = client.post("/v1/determinations", json={"policy_id": "cohere-mrs", "cpt_codes": ["76390"],
                                                   "clinical_notes": ONE_NOTE}).json()
    implant = _facts(body)["mri_unsafe_implant"]
    assert implant["value"] is None and implant["governing_document"] is None
    assert implant["evidence"] and implant["contrary"]
    assert all(e["document"] is None for e in implant["evidence"] + implant["contrary"])
