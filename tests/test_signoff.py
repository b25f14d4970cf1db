"""Sign what you saw: the letter's own words decide who may sign it, and a signature binds the
version the signer reviewed (issue 11, items 1 and 3)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_auth import ENV_KEYS, build_app
from test_records import REVIEWER, make_request, make_response

from mrs_assist.config import Settings
from mrs_assist.records import dispose_engine

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

NURSE = {"X-API-Key": "key-nurse"}
DOCTOR = {"X-API-Key": "key-doctor"}
ROLES = {"reviewer": NURSE, "physician": DOCTOR}

LETTERS = {
    "approves": "# Determination\n\n**Approved.** The request for MR spectroscopy meets the medical necessity criteria.",
    "pends": "# Determination\n\n**Decision pending: more information needed.** Please send the MRI report.",
    "denies": "# Determination\n\n**Not approved.** The request is denied: it does not meet the criteria.",
    "limits": "# Determination\n\n**Approved**, limited to a single study; the follow-up study is withheld.",
    "says nothing": "# Determination\n\nReviewed with the requesting provider.",
}
OUTCOMES = ("meets_criteria", "needs_more_information", "does_not_meet_criteria")

# (letter content, recommendation) -> (reviewer's sign status, physician's sign status)
MATRIX = {
    ("approves", "meets_criteria"): (200, 200),
    ("approves", "needs_more_information"): (409, 409),
    ("approves", "does_not_meet_criteria"): (409, 409),
    ("pends", "meets_criteria"): (409, 409),
    ("pends", "needs_more_information"): (200, 200),
    ("pends", "does_not_meet_criteria"): (409, 409),
    ("denies", "meets_criteria"): (409, 409),
    ("denies", "needs_more_information"): (409, 409),
    ("denies", "does_not_meet_criteria"): (403, 200),
    ("limits", "meets_criteria"): (403, 200),
    ("limits", "needs_more_information"): (409, 409),
    ("limits", "does_not_meet_criteria"): (409, 409),
    ("says nothing", "meets_criteria"): (200, 200),
    ("says nothing", "needs_more_information"): (200, 200),
    ("says nothing", "does_not_meet_criteria"): (403, 200),
}


@pytest.fixture()
def api(tmp_path):
    app, store, services = build_app(tmp_path, Settings(auth="on", api_keys=ENV_KEYS))
    yield TestClient(app, base_url=LOCAL, raise_server_exceptions=False), store
    dispose_engine(store.url)


def _reviewed(client, record_id: str, headers: dict) -> dict:
    body = client.get(f"/v1/determinations/{record_id}", headers=headers).json()
    return {"review_hash": body.get("review_hash")}  # .get: the same test shows what main did without it


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(("content", "outcome"), list(MATRIX))
def test_role_by_letter_content_sign_matrix(api, role, content, outcome):
    client, store = api
    record = store.create(make_request(), make_response(outcome), user=REVIEWER)
    r = client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": LETTERS[content]}, headers=NURSE)
    assert r.status_code == 200
    headers = ROLES[role]
    r = client.post(f"/v1/determinations/{record.id}/sign", json=_reviewed(client, record.id, headers), headers=headers)
    expected = MATRIX[(content, outcome)][0 if role == "reviewer" else 1]
    assert r.status_code == expected, r.text
    code = r.json().get("error", {}).get("code")
    if expected == 409:
        assert code == "letter_contradicts_outcome"
    if expected == 403:
        assert code == "physician_required"
    if expected == 200:
        assert r.json()["status"] == "signed"


def test_reviewer_cannot_release_a_denial_of_an_approvable_case(api):
    """Item 1 as reported: a 'Not approved … denied' edit on a meets_criteria case, then a reviewer's sign."""
    client, store = api
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": LETTERS["denies"]}, headers=NURSE)
    r = client.post(f"/v1/determinations/{record.id}/sign", json=_reviewed(client, record.id, NURSE), headers=NURSE)
    assert r.status_code == 409 and r.json()["error"]["code"] == "letter_contradicts_outcome"
    assert store.get(record.id).status == "draft"


def test_obfuscated_denial_text_still_needs_a_physician(api):
    """The letter check reads normalized text: Cyrillic letters and zero-width spaces change nothing."""
    client, store = api
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    sneaky = "# Determination\n\nThe request is d\u0435n\u200bied (Cyrillic e, zero-width space)."
    client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": sneaky}, headers=NURSE)
    r = client.post(f"/v1/determinations/{record.id}/sign", json=_reviewed(client, record.id, NURSE), headers=NURSE)
    assert r.status_code == 409 and r.json()["error"]["code"] == "letter_contradicts_outcome"


def test_edited_letter_html_is_rendered_from_the_edited_markdown(api):
    client, store = api
    response = make_response("does_not_meet_criteria")
    original_html = "<h1>Determination</h1><p>the template's HTML</p>"
    response.letter = {**response.letter, "html": original_html}
    record = store.create(make_request(), response, user=REVIEWER)
    edited = "# Adverse determination\n\nThe study is **not approved** for <b>Jane</b>."
    body = client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": edited}, headers=NURSE).json()
    assert body["letter"]["markdown"] == body["letter_markdown"] == edited
    html = body["letter"]["html"]
    assert html != original_html and "<strong>not approved</strong>" in html
    assert "<b>Jane</b>" not in html and "&lt;b&gt;Jane&lt;/b&gt;" in html  # raw HTML escaped, not passed through


def test_signature_binds_the_version_reviewed(api):
    """Item 3: a physician opens an adverse draft, a reviewer swaps the letter, the physician's sign is refused."""
    client, store = api
    record = store.create(make_request(), make_response("does_not_meet_criteria"), user=REVIEWER)
    seen = _reviewed(client, record.id, DOCTOR)
    swapped = "# Adverse determination\n\nNot approved. Denied for reasons the physician never read."
    assert client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": swapped}, headers=NURSE).status_code == 200
    r = client.post(f"/v1/determinations/{record.id}/sign", json=seen, headers=DOCTOR)
    assert r.status_code == 409 and r.json()["error"]["code"] == "record_changed"
    assert "letter changed" in r.json()["error"]["message"] and "facts" not in r.json()["error"]["message"]
    assert store.get(record.id).status == "draft"
    # reviewed again, it signs
    r = client.post(f"/v1/determinations/{record.id}/sign", json=_reviewed(client, record.id, DOCTOR), headers=DOCTOR)
    assert r.status_code == 200 and r.json()["signed_by"] == "dr-lee"


def test_a_fact_override_since_review_is_named(api):
    client, store = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    seen = _reviewed(client, record.id, NURSE)
    body = {"name": "conventional_imaging_inconclusive", "value": True, "reason": "report says equivocal"}
    assert client.post(f"/v1/determinations/{record.id}/facts", json=body, headers=DOCTOR).status_code == 200
    r = client.post(f"/v1/determinations/{record.id}/sign", json=seen, headers=NURSE)
    assert r.status_code == 409 and r.json()["error"]["code"] == "record_changed"
    message = r.json()["error"]["message"]
    assert "outcome" in message and "facts" in message and "letter" in message


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (None, 428, "review_hash_required"),
        ({}, 422, "invalid_request"),
        ({"review_hash": "not-a-hash"}, 422, "invalid_request"),
        ({"review_hash": "0" * 64}, 409, "record_changed"),
    ],
)
def test_sign_without_the_reviewed_hash_is_refused(api, body, status, code):
    client, store = api
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    r = client.post(f"/v1/determinations/{record.id}/sign", json=body, headers=NURSE)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert store.get(record.id).status == "draft"
