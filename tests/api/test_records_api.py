"""The /v1/determinations routes through TestClient: bodies, errors, and the services they call."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_auth import ENV_KEYS, PDF, build_app
from test_records import NOTES, REVIEWER, make_request, make_response, sign_as_drafted

from mrs_assist.api import create_app
from mrs_assist.api.deps import get_records
from mrs_assist.config import Settings
from mrs_assist.records import RecordStore, dispose_engine

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

NURSE = {"X-API-Key": "key-nurse"}
DOCTOR = {"X-API-Key": "key-doctor"}
ADMIN = {"X-API-Key": "key-ops"}


@pytest.fixture()
def api(tmp_path):
    app, store, services = build_app(tmp_path, Settings(auth="on", api_keys=ENV_KEYS))
    yield TestClient(app, base_url=LOCAL, raise_server_exceptions=False), store, services
    dispose_engine(store.url)


def test_get_returns_the_response_plus_record_fields(api):
    client, store, _ = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    r = client.get(f"/v1/determinations/{record.id}", headers=NURSE)
    assert r.status_code == 200
    body = r.json()
    for field in make_response().model_dump():
        assert body[field] == make_response().model_dump(mode="json")[field]
    assert body["id"] == record.id and body["status"] == "draft" and body["created_by"] == "nurse-ann"
    assert body["signed_by"] is None and body["signed_at"] is None and body["corrects_id"] is None
    assert body["letter_markdown"].startswith("# Determination") and body["overrides"] == []
    # The documents of the case come with it for a clinical role, and that reading is audited.
    assert body["documents"] == [
        {"name": "Clinical notes", "media_type": "text/plain", "page": None, "method": "typed",
         "start": 0, "end": len(NOTES), "text": NOTES}
    ]
    assert [h["action"] for h in store.history(record.id)] == ["create", "view_documents"]
    assert store.history(record.id)[-1]["actor"] == "nurse-ann"
    admin = client.get(f"/v1/determinations/{record.id}", headers=ADMIN)
    assert admin.status_code == 200 and admin.json()["documents"] is None and NOTES not in admin.text
    assert len(store.history(record.id)) == 2


@pytest.mark.parametrize("path", ["", "/letter.pdf", "/sign", "/facts", "/letter"])
def test_unknown_id_is_a_404_json_error(api, path):
    client, _, _ = api
    url = f"/v1/determinations/7f0c1c0e-0000-4000-8000-000000000000{path}"
    method = {"/sign": "post", "/facts": "post", "/letter": "put"}.get(path, "get")
    body = {"/facts": {"name": "known_brain_tumor", "value": True, "reason": "r"}, "/letter": {"markdown": "x"}}.get(path)
    r = client.request(method, url, json=body, headers=DOCTOR)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get("/v1/determinations/not-a-uuid", headers=DOCTOR).status_code == 404


def test_override_sign_and_then_409(api):
    client, store, _ = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    body = {"name": "conventional_imaging_inconclusive", "value": True, "reason": "report says equivocal"}
    r = client.post(f"/v1/determinations/{record.id}/facts", json=body, headers=NURSE)
    assert r.status_code == 200
    assert r.json()["recommendation"] == "meets_criteria"
    assert r.json()["overrides"][0]["reason"] == "report says equivocal"
    assert r.json()["overrides"][0]["user"] == "nurse-ann"
    r = client.post(f"/v1/determinations/{record.id}/sign", json={"review_hash": r.json()["review_hash"], "attest": True}, headers=NURSE)
    assert r.status_code == 200 and r.json()["status"] == "signed" and r.json()["signed_at"]
    for method, path, payload in [
        ("put", "/letter", {"markdown": "changed"}),
        ("post", "/facts", body),
        ("post", "/sign", None),
    ]:
        r = client.request(method, f"/v1/determinations/{record.id}{path}", json=payload, headers=DOCTOR)
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", path


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Known Tumor", "value": True, "reason": "r"},
        {"name": "known_brain_tumor", "value": "yes", "reason": "r"},
        {"name": "known_brain_tumor", "value": True, "reason": ""},
        {"name": "known_brain_tumor", "value": True},
        {"name": "known_brain_tumor", "reason": "value is required; null means unknown"},
        {"name": "known_brain_tumor", "value": True, "reason": "r", "extra": 1},
    ],
)
def test_bad_override_bodies_are_422(api, body):
    client, store, _ = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    r = client.post(f"/v1/determinations/{record.id}/facts", json=body, headers=NURSE)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_list_filters_through_query(api):
    client, store, _ = api
    a = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    sign_as_drafted(store, a.id, user=REVIEWER, review_hash=store.get(a.id).review_hash)
    b = store.create(make_request(), make_response(), user=REVIEWER)
    ids = lambda r: [s["id"] for s in r.json()]  # noqa: E731
    assert ids(client.get("/v1/determinations", headers=NURSE)) == [b.id, a.id]
    assert ids(client.get("/v1/determinations?status=signed", headers=NURSE)) == [a.id]
    assert ids(client.get("/v1/determinations?policy_id=nia-brain-mrs", headers=NURSE)) == []
    since = store.get(b.id).created_at.isoformat()
    assert ids(client.get("/v1/determinations", params={"since": since}, headers=NURSE)) == [b.id]
    assert ids(client.get("/v1/determinations", params={"until": since}, headers=NURSE)) == [a.id]
    assert client.get("/v1/determinations?status=lost", headers=NURSE).status_code == 422
    assert client.get("/v1/determinations?since=yesterday", headers=NURSE).status_code == 422
    assert client.get("/v1/determinations?limit=0", headers=NURSE).status_code == 422
    summary = client.get("/v1/determinations", headers=NURSE).json()[1]
    assert summary["signed_by"] == "nurse-ann" and summary["recommendation"] == "meets_criteria"


def test_letter_pdf_calls_the_services_renderer(api):
    client, store, services = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    r = client.get(f"/v1/determinations/{record.id}/letter.pdf", headers=NURSE)
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert f"determination-{record.id}-draft.pdf" in r.headers["content-disposition"]
    assert services.rendered == [record.id]
    without = store.create(make_request(letter=False), make_response().model_copy(update={"letter": None}), user=REVIEWER)
    r = client.get(f"/v1/determinations/{without.id}/letter.pdf", headers=NURSE)
    assert r.status_code == 404 and "no letter" in r.json()["error"]["message"]


def test_letter_edit_then_pdf_of_signed_record(api):
    client, store, _ = api
    record = store.create(make_request(), make_response("does_not_meet_criteria"), user=REVIEWER)
    r = client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": "# Adverse\n\nReviewed."}, headers=NURSE)
    assert r.status_code == 200 and r.json()["letter_markdown"] == "# Adverse\n\nReviewed."
    assert client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": ""}, headers=NURSE).status_code == 422
    reviewed = {"review_hash": r.json()["review_hash"], "attest": True}
    assert client.post(f"/v1/determinations/{record.id}/sign", json=reviewed, headers=DOCTOR).status_code == 200
    r = client.get(f"/v1/determinations/{record.id}/letter.pdf", headers=NURSE)
    assert f"determination-{record.id}.pdf" in r.headers["content-disposition"]


def test_the_store_is_opened_from_the_settings_on_first_use(tmp_path):
    settings = Settings(auth="on", api_keys=ENV_KEYS, data_dir=tmp_path / "data", database_url=None)
    app = create_app(settings, host="127.0.0.1")
    client = TestClient(app, base_url=LOCAL, raise_server_exceptions=False)
    assert client.get("/v1/determinations").status_code == 401  # auth before anything else
    assert not (tmp_path / "data" / "records.sqlite3").exists()  # nothing opened before it is needed
    r = client.get("/v1/determinations", headers=NURSE)
    assert r.status_code == 200 and r.json() == []
    assert (tmp_path / "data" / "records.sqlite3").exists()
    app.state.services.close()


def test_a_database_that_is_down_is_503_for_each_request(tmp_path):
    settings = Settings(auth="on", api_keys=ENV_KEYS, data_dir=tmp_path, backend_timeout_seconds=1,
                        database_url="postgresql+psycopg://mrs@127.0.0.1:9/records")  # nothing listens there
    client = TestClient(create_app(settings, host="127.0.0.1"), base_url=LOCAL, raise_server_exceptions=False)
    for _ in range(2):  # nothing is cached: each request tries the database again
        r = client.get("/v1/determinations", headers=NURSE)
        assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"


def test_a_test_swaps_the_store_with_dependency_overrides(api, tmp_path):
    client, _, _ = api
    other = RecordStore(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    record = other.create(make_request(), make_response(), user=REVIEWER)
    assert client.get(f"/v1/determinations/{record.id}/history", headers=NURSE).status_code == 404
    client.app.dependency_overrides[get_records] = lambda: other
    assert [e["action"] for e in client.get(f"/v1/determinations/{record.id}/history", headers=NURSE).json()] == ["create"]
    assert [r["id"] for r in client.get("/v1/determinations", headers=NURSE).json()] == [record.id]
    dispose_engine(other.url)


def test_override_back_to_unknown(api):
    client, store, _ = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    body = {"name": "known_brain_tumor", "value": None, "reason": "the tumor is not documented after all"}
    r = client.post(f"/v1/determinations/{record.id}/facts", json=body, headers=NURSE)
    assert r.status_code == 200
    (override,) = r.json()["overrides"]
    assert (override["value"], override["previous_value"]) == (None, True)
