"""Intake (issue 21): PDF and image documents read into the case (text layer, else Tesseract OCR),
each page kept as a document the evidence points at; what cannot be read is refused whole."""

from __future__ import annotations

import base64

import pytest
from test_limits import corpus_services, make_client  # noqa: F401 (fixtures)

from mrs_assist.errors import InvalidRequestError
from mrs_assist.intake import read_document
from mrs_assist.intake.prepare import clean_text
from mrs_assist.intake.samples import scan_pdf, scan_png, text_pdf

HISTORY = ["58 y/o M with glioblastoma s/p resection and radiation 2023.", "No pacemaker or other implant."]
FINDINGS = [
    "New enhancing lesion on MRI, equivocal for recurrence",
    "versus radiation necrosis. MRS requested to differentiate.",
]
NURSE = {"X-API-Key": "n"}


def _upload(name: str, media_type: str, data: bytes) -> dict:
    return {"name": name, "media_type": media_type, "content_base64": base64.b64encode(data).decode()}


@pytest.mark.parametrize(
    ("name", "media_type", "data", "methods"),
    [
        ("referral.pdf", "application/pdf", text_pdf([HISTORY, FINDINGS]), ["pdf_text", "pdf_text"]),
        ("fax.pdf", "application/pdf", scan_pdf([HISTORY, FINDINGS]), ["ocr", "ocr"]),
        ("page.png", "image/png", scan_png(FINDINGS), ["ocr"]),
    ],
)
def test_documents_are_read_page_by_page(name, media_type, data, methods):
    pages = read_document(name, media_type, data)
    assert [p.method for p in pages] == methods
    assert [p.number for p in pages] == list(range(1, len(methods) + 1))
    assert "radiation necrosis" in " ".join(clean_text(p.text).replace("\n", " ") for p in pages)


@pytest.mark.parametrize(
    ("media_type", "data", "message"),
    [
        ("application/pdf", b"%PDF-1.4 not really", "not a readable PDF"),
        ("application/pdf", text_pdf([[]]), "page 1 of x has no text and no scanned image"),
        ("image/png", b"\x89PNG broken", "not a readable image"),
        ("image/png", scan_png([]), "OCR found no readable text"),
    ],
)
def test_unreadable_documents_are_refused_with_a_clear_message(media_type, data, message):
    with pytest.raises(InvalidRequestError, match=message):
        read_document("x", media_type, data)


def test_a_case_from_a_text_pdf_and_a_scan_points_its_evidence_at_the_pages(make_client):
    client = make_client(api_keys="n=nurse-ann:reviewer", auth="on")
    body = {
        "policy_id": "nia-brain-mrs", "cpt_codes": ["76390"], "patient": {"age_years": 58}, "letter": False,
        "documents": [_upload("referral.pdf", "application/pdf", text_pdf([HISTORY])),
                      _upload("fax-page.png", "image/png", scan_png(FINDINGS))],
    }
    r = client.post("/v1/determinations", json=body, headers=NURSE)
    assert r.status_code == 201, r.text
    record = r.json()
    docs = record["documents"]
    assert [(d["name"], d["page"], d["method"]) for d in docs] == [("referral.pdf", 1, "pdf_text"), ("fax-page.png", 1, "ocr")]
    assert "glioblastoma" in docs[0]["text"] and "necrosis" in docs[1]["text"]
    assert record["recommendation"] == "meets_criteria"
    spans = {f["name"]: f["evidence"] for f in record["facts"] if f["evidence"]}
    on_page = {
        name: {d["name"] for e in evidence for d in docs if d["start"] <= e["start"] and e["end"] <= d["end"]}
        for name, evidence in spans.items()
    }
    assert on_page["tumor_recurrence_vs_treatment_effect"] == {"fax-page.png"}
    assert "referral.pdf" in on_page["known_brain_tumor"]
    for e in spans["tumor_recurrence_vs_treatment_effect"]:
        page = docs[1]
        assert page["text"][e["start"] - page["start"]:e["end"] - page["start"]] == e["text"]
    # Reopened later, the case still has its pages.
    again = client.get(f"/v1/determinations/{record['id']}", headers=NURSE).json()
    assert again["documents"] == docs


def test_intake_refuses_before_anything_is_stored(make_client):
    client = make_client(api_keys="n=nurse-ann:reviewer", auth="on")
    base = {"policy_id": "nia-brain-mrs", "cpt_codes": ["76390"]}
    empty = client.post("/v1/determinations", json={**base, "clinical_notes": "  \n "}, headers=NURSE)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_request"
    blank = _upload("blank.png", "image/png", scan_png([]))
    unreadable = client.post("/v1/determinations", json={**base, "clinical_notes": "GBM", "documents": [blank]}, headers=NURSE)
    assert unreadable.status_code == 422 and unreadable.json()["error"]["code"] == "unreadable_document"
    assert "blank.png" in unreadable.json()["error"]["message"]
    not_b64 = {"name": "a.pdf", "media_type": "application/pdf", "content_base64": "%%%"}
    assert client.post("/v1/determinations", json={**base, "documents": [not_b64]}, headers=NURSE).status_code == 422
    word = {"name": "a.docx", "media_type": "application/msword", "content_base64": ""}
    assert client.post("/v1/determinations", json={**base, "documents": [word]}, headers=NURSE).status_code == 422
    assert client.get("/v1/determinations", headers=NURSE).json() == []
    # Structured facts, even none (a DTR questionnaire left blank), are something to decide on.
    assert client.post("/v1/determinations", json={**base, "facts": {}}, headers=NURSE).status_code == 201
