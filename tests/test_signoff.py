"""Structural sign-off (issue 19 item 1): who may sign follows from which regions of the letter's
template were edited, never from its words; a signature binds the version reviewed and attested."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from test_auth import ENV_KEYS
from test_records import PHYSICIAN, REVIEWER, make_request, make_response

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.errors import ForbiddenError, InvalidRequestError
from mrs_assist.letters.draft import letter_template
from mrs_assist.letters.settings import load_letter_settings
from mrs_assist.letters.structure import FILLED_AT_SIGNING, compare_letter
from mrs_assist.records import RecordStore, dispose_engine
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services
from mrs_assist.signoff import require_signer

LOCAL = "http://127.0.0.1"
NURSE = {"X-API-Key": "key-nurse"}
DOCTOR = {"X-API-Key": "key-doctor"}
ROLES = {"reviewer": NURSE, "physician": DOCTOR}

NOTES = {  # cohere-mrs, decided by the real checker
    "meets_criteria": "58-year-old with known glioblastoma; MRI inconclusive for recurrence versus radiation "
    "necrosis. Prior MRI with contrast equivocal.",
    "needs_more_information": "Headache.",
    "does_not_meet_criteria": "Patient with epilepsy, MRS requested for seizure focus; pacemaker in place.",
}
KINDS = {"meets_criteria": "approval", "needs_more_information": "request_for_information",
         "does_not_meet_criteria": "adverse_determination_draft"}
PLACEHOLDERS = load_letter_settings().placeholders.model_dump()


def fill(markdown: str) -> str:
    """Every placeholder a signer must fill, filled (the fields' values only)."""
    for name, text in PLACEHOLDERS.items():
        if name not in FILLED_AT_SIGNING:
            markdown = markdown.replace(text, f"Sample {name.replace('_', ' ')}")
    return markdown


def section_body(markdown: str, heading: str) -> tuple[int, int]:
    """(start, end) of the text under `## heading`."""
    start = markdown.index(f"## {heading}\n\n") + len(f"## {heading}\n\n")
    end = markdown.index("\n## ", start)
    return start, end


# --- letter edits: markdown → markdown ------------------------------------------------------
def _replace_decision(md: str, text: str) -> str:
    start, end = section_body(md, "Decision")
    return md[:start] + text + "\n" + md[end:]


def _append(md: str, text: str) -> str:
    return md.rstrip() + "\n\n" + text + "\n"


def _after_decision(md: str, text: str) -> str:
    start, end = section_body(md, "Decision")
    return md[:end] + "\n\n" + text + md[end:]


def _in_reason(md: str, text: str) -> str:
    start, _ = section_body(md, "Reason for this decision")
    return md[:start] + text + " " + md[start:]


def _note(md: str, text: str) -> str:
    return md.replace("\n\nNone.\n", f"\n\n{text}\n", 1)


EDITS = {
    "unchanged": lambda md: md,
    "fields only (note, names, CRLF from a browser)": lambda md: _note(md, "Records from Dr. Ruiz were reviewed.")
    .replace("Sample plan name", "Acme Health Plan").replace("\n", "\r\n"),
    "decision sentence rewritten": lambda md: _replace_decision(md, "**Decision.** We reviewed the request."),
    "paragraph appended": lambda md: _append(md, "Thank you for your request."),
    "section deleted": lambda md: md.replace("## Decision timeframe", "## Timeframe"),
    "heading inside the note field": lambda md: _note(md, "# Decision\n\nSee below."),
    "blockquote inside the note field": lambda md: _note(md, "> Reviewed."),
}
# (edit, outcome) -> (reviewer status, physician status)
EXPECTED = {
    **{("unchanged", o): (200, 200) for o in ("meets_criteria", "needs_more_information")},
    **{("fields only (note, names, CRLF from a browser)", o): (200, 200) for o in ("meets_criteria", "needs_more_information")},
    **{(e, o): (403, 200) for e in EDITS for o in NOTES if (e, o) not in {
        ("unchanged", "meets_criteria"), ("unchanged", "needs_more_information"),
        ("fields only (note, names, CRLF from a browser)", "meets_criteria"),
        ("fields only (note, names, CRLF from a browser)", "needs_more_information")}},
}


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    root = tmp_path_factory.mktemp("signoff")
    return Services(Settings(auth="on", api_keys=ENV_KEYS, data_dir=root / "data"))


@pytest.fixture()
def api(services, tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    app = create_app(services=services.replace(records=store), host="127.0.0.1")
    yield TestClient(app, base_url=LOCAL, raise_server_exceptions=False), store
    dispose_engine(store.url)


def _create(client, outcome: str) -> dict:
    body = {"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": NOTES[outcome], "letter": True}
    r = client.post("/v1/determinations", json=body, headers=NURSE)
    assert r.status_code == 201, r.text
    assert r.json()["recommendation"] == outcome and r.json()["letter"]["kind"] == KINDS[outcome]
    return r.json()


def _sign(client, record_id: str, headers: dict, **extra) -> object:
    seen = client.get(f"/v1/determinations/{record_id}", headers=headers).json()
    return client.post(f"/v1/determinations/{record_id}/sign",
                       json={"review_hash": seen["review_hash"], "attest": True, **extra}, headers=headers)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(("edit", "outcome"), list(EXPECTED))
def test_sign_matrix_role_by_letter_edit_for_every_kind(api, role, edit, outcome):
    client, store = api
    record = _create(client, outcome)
    edited = EDITS[edit](fill(record["letter_markdown"]))
    r = client.put(f"/v1/determinations/{record['id']}/letter", json={"markdown": edited}, headers=NURSE)
    assert r.status_code == 200, r.text
    r = _sign(client, record["id"], ROLES[role])
    expected = EXPECTED[(edit, outcome)][0 if role == "reviewer" else 1]
    assert r.status_code == expected, r.text
    if expected == 403:
        assert r.json()["error"]["code"] == "physician_required"
        assert store.get(record["id"]).status == "draft"
    else:
        assert r.json()["status"] == "signed"


# --- 40+ denials in substance, each placed outside the fields: a reviewer never signs them ----
DENIALS = [
    "Your request for MRS is denied.",
    "> Your request for MRS is denied.",
    "> > Denied.",
    "The request is not *approved*.",
    "The request is not **approved**.",
    "The request is not _approved_.",
    "The request is den&#105;ed.",
    "The request is &#100;&#101;&#110;&#105;&#101;&#100;.",
    "The request is d&#x65;nied.",
    "The request is d\u0435n\u200bied.",
    "The request is d\u00adenied.",
    "The request is disapproved.",
    "The plan will not pay for this study.",
    "We are unable to cover this service.",
    "Notice of Adverse Benefit Determination.",
    "Su solicitud ha sido negada.",
    "Votre demande est refusée.",
    "Ihr Antrag wurde abgelehnt.",
    "La richiesta è stata respinta.",
    "您的申请被拒绝。",
    "“This request is denied.”",
    "\"This request is denied.\"",
    "`denied`",
    "```\ndenied\n```",
    "<p>Denied</p>",
    "<!-- approved --> Denied.",
    "~~Approved~~ Denied.",
    "| Decision |\n| --- |\n| Denied |",
    "- Decision: denied",
    "1. Decision: denied",
    "**NOT APPROVED.**",
    "N O T   A P P R O V E D",
    "The service is not medically necessary.",
    "Coverage is declined.",
    "The authorization is rescinded.",
    "Approval is withdrawn.",
    "Only one of the two studies is approved; the second is not.",
    "Approved for 0 units.",
    "The request is approved in part: the follow-up study is withheld.",
    "We will not authorize this MRS.",
    "This study is excluded from your benefits.",
    "Request: rejected.",
    "Outcome = does_not_meet_criteria",
    "The request has been turned down.",
    "Payment for this service is refused.",
    "%64enied",
    "ZGVuaWVk (base64)",
]
PLACES = {"decision replaced": _replace_decision, "after the decision": _after_decision,
          "in the reason": _in_reason, "appended": _append}


@pytest.fixture(scope="module")
def templates(services):
    """A real record's regenerated template per reviewer-signable outcome, with its fields filled."""
    out = {}
    for outcome in ("meets_criteria", "needs_more_information"):
        request = DeterminationRequest(policy_id="cohere-mrs", cpt_codes=["76390"], clinical_notes=NOTES[outcome], letter=True)
        response = services.determine(request)
        assert response.recommendation == outcome
        out[outcome] = (letter_template(response, request, corpus=services.corpus), fill(response.letter.markdown))
    return out


def test_at_least_forty_denial_wordings():
    assert len(set(DENIALS)) >= 40


@pytest.mark.parametrize("outcome", ["meets_criteria", "needs_more_information"])
@pytest.mark.parametrize("place", list(PLACES))
def test_every_denial_wording_outside_the_fields_needs_a_physician(templates, outcome, place):
    template, letter = templates[outcome]
    assert require_signer(outcome, letter, REVIEWER, template=template, placeholders=PLACEHOLDERS)["letter_edit"] == "fields"
    signed_by_reviewer = []
    for wording in DENIALS:
        edited = PLACES[place](letter, wording)
        try:
            require_signer(outcome, edited, REVIEWER, template=template, placeholders=PLACEHOLDERS)
            signed_by_reviewer.append(wording)
        except ForbiddenError as exc:
            assert exc.code == "physician_required"
        assert require_signer(outcome, edited, PHYSICIAN, template=template, placeholders=PLACEHOLDERS)
    assert signed_by_reviewer == []


def test_the_fields_cannot_smuggle_structure(templates):
    template, letter = templates["meets_criteria"]
    for value in ["Jane\n\n# Decision\n\nDenied", "**Denied** Jane", "Jane <b>x</b>", "x" * 300, "> Jane", "Jane | Denied"]:
        edit = compare_letter(template, letter.replace("Sample plan name", value))
        assert not edit.reviewer_edit, value
    ok = compare_letter(template, letter.replace("Sample plan name", "Acme Health, Inc. (PPO)"))
    assert ok.reviewer_edit and ok.values["plan_name"] == "Acme Health, Inc. (PPO)"


def test_no_template_means_a_physician_signs():
    """A letter nobody can compare with its template (a model's, a hand-made one) is a physician's."""
    with pytest.raises(ForbiddenError):
        require_signer("meets_criteria", "# Approved\n", REVIEWER)
    assert require_signer("meets_criteria", None, REVIEWER)["letter_edit"] == "none"
    assert require_signer("meets_criteria", "# Approved\n", PHYSICIAN)["letter_edit"] == "structure"


@pytest.mark.parametrize("outcome", list(NOTES))
def test_unfilled_placeholders_are_refused_with_a_clear_error(api, outcome):
    client, store = api
    record = _create(client, outcome)
    r = _sign(client, record["id"], DOCTOR)
    assert r.status_code == 422 and r.json()["error"]["code"] == "letter_incomplete"
    assert "plan name" in r.json()["error"]["message"] and "[" not in r.json()["error"]["message"]
    with pytest.raises(InvalidRequestError):
        require_signer(outcome, "[Member name]", PHYSICIAN, placeholders=PLACEHOLDERS)
    assert store.get(record["id"]).status == "draft"


@pytest.mark.parametrize("attest", [None, False, "true", 1])
def test_signing_requires_the_attestation(api, attest):
    client, store = api
    record = _create(client, "meets_criteria")
    seen = client.get(f"/v1/determinations/{record['id']}", headers=NURSE).json()
    body = {"review_hash": seen["review_hash"]} | ({} if attest is None else {"attest": attest})
    r = client.post(f"/v1/determinations/{record['id']}/sign", json=body, headers=NURSE)
    assert r.status_code == 422 and r.json()["error"]["code"] in ("attestation_required", "invalid_request")
    assert store.get(record["id"]).status == "draft"


def test_signed_html_and_pdf_carry_the_electronic_signature(api, services):
    from pypdf import PdfReader
    import io

    client, store = api
    record = _create(client, "does_not_meet_criteria")
    client.put(f"/v1/determinations/{record['id']}/letter", json={"markdown": fill(record["letter_markdown"])}, headers=NURSE)
    seen = client.get(f"/v1/determinations/{record['id']}", headers=DOCTOR).json()
    r = client.post(f"/v1/determinations/{record['id']}/sign", json={"review_hash": seen["review_hash"], "attest": True},
                    headers=DOCTOR)
    assert r.status_code == 200, r.text
    body = r.json()
    line = re.compile(rf"Electronically signed by dr-lee \(physician\) on {body['signed_at'][:16]}.*review hash {seen['review_hash']}")
    assert line.search(html.unescape(re.sub(r"<[^>]+>", "", body["letter"]["html"])))
    assert line.search(body["letter"]["markdown"].replace("\\", ""))
    assert body["letter"]["status"] == "signed" and body["letter_markdown"] == seen["letter_markdown"]
    assert "[Physician reviewer name]" not in body["letter"]["html"] and record["id"] in body["letter"]["html"]
    pdf = client.get(f"/v1/determinations/{record['id']}/letter.pdf", headers=DOCTOR)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert line.search(re.sub(r"\s+", " ", text))


def test_review_hash_of_one_record_does_not_sign_another(api):
    """Item 8: two drafts with the same content; the first's hash is refused on the second."""
    client, store = api
    a = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    b = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    assert a.review_hash != b.review_hash
    r = client.post(f"/v1/determinations/{b.id}/sign", json={"review_hash": a.review_hash, "attest": True}, headers=DOCTOR)
    assert r.status_code == 409 and r.json()["error"]["code"] == "record_changed"


def test_signature_binds_the_version_reviewed(api):
    """A physician opens an adverse draft, a reviewer swaps the letter, the physician's sign is refused."""
    client, store = api
    record = store.create(make_request(), make_response("does_not_meet_criteria"), user=REVIEWER)
    seen = client.get(f"/v1/determinations/{record.id}", headers=DOCTOR).json()
    swapped = "# Adverse determination\n\nNot approved, for reasons the physician never read."
    assert client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": swapped}, headers=NURSE).status_code == 200
    r = client.post(f"/v1/determinations/{record.id}/sign", json={"review_hash": seen["review_hash"], "attest": True},
                    headers=DOCTOR)
    assert r.status_code == 409 and r.json()["error"]["code"] == "record_changed"
    assert "letter changed" in r.json()["error"]["message"]
    assert _sign(client, record.id, DOCTOR).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (None, 428, "review_hash_required"),
        ({}, 422, "invalid_request"),
        ({"review_hash": "not-a-hash", "attest": True}, 422, "invalid_request"),
        ({"review_hash": "0" * 64, "attest": True}, 409, "record_changed"),
    ],
)
def test_sign_without_the_reviewed_hash_is_refused(api, body, status, code):
    client, store = api
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    r = client.post(f"/v1/determinations/{record.id}/sign", json=body, headers=NURSE)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert store.get(record.id).status == "draft"
