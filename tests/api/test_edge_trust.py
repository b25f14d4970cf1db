"""Loopback means loopback, and the edge takes only what it can store (issue 11, items 5 and 6)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from test_auth import ENV_KEYS, build_app
from test_records import REVIEWER, make_request, make_response

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.records import dispose_engine

CANARY = "MRN-5550199"
DETERMINATION = {
    "policy_id": "cohere-mrs",
    "cpt_codes": ["76390"],
    "clinical_notes": "Known glioblastoma; MRI inconclusive.",
    "patient": {"age_years": 58},
}


@pytest.fixture()
def keyless(tmp_path):
    """The embedded default: loopback, no keys, every caller is local-reviewer."""
    app, store, _ = build_app(tmp_path, Settings(auth="auto"), set_auth=False)
    yield app, store
    dispose_engine(store.url)


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "127.0.0.1.attacker.example", "10.0.0.5:8000"])
def test_keyless_server_refuses_a_foreign_host(keyless, host):
    """DNS rebinding: a page on attacker.example re-bound to 127.0.0.1 sends its own Host."""
    app, store = keyless
    store.create(make_request(), make_response(), user=REVIEWER)
    client = TestClient(app, base_url=f"http://{host}", raise_server_exceptions=False)
    r = client.get("/v1/determinations")
    # 400 host_not_allowed; or 401 when the test client also makes the server address non-loopback
    assert r.status_code in (400, 401) and r.json()["error"]["code"] in ("host_not_allowed", "unauthorized")
    assert "glioblastoma" not in r.text and host not in r.text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost", "localhost:8765", "[::1]:8000"])
def test_keyless_server_answers_loopback_hosts(keyless, host):
    app, store = keyless
    client = TestClient(app, base_url=f"http://{host}", raise_server_exceptions=False)
    assert client.get("/v1/determinations").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:8000"},  # another origin on the same machine
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_keyless_cross_site_post_cannot_sign(keyless, headers):
    """A cross-site form POST must not sign a record as local-reviewer."""
    app, store = keyless
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    client = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    body = {"review_hash": getattr(record, "review_hash", None)}
    r = client.post(f"/v1/determinations/{record.id}/sign", data=json.dumps(body), headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
    assert store.get(record.id).status == "draft"


def test_keyless_same_origin_post_signs(keyless):
    app, store = keyless
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    client = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    r = client.post(
        f"/v1/determinations/{record.id}/sign",
        json={"review_hash": record.review_hash, "attest": True},
        headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 200 and r.json()["signed_by"] == "local-reviewer"


def test_with_keys_the_key_decides_not_the_host(tmp_path):
    app, store, _ = build_app(tmp_path, Settings(auth="on", api_keys=ENV_KEYS))
    client = TestClient(app, base_url="http://mrs.example.org", raise_server_exceptions=False)
    assert client.get("/v1/determinations", headers={"X-API-Key": "key-nurse"}).status_code == 200
    assert client.get("/v1/determinations").status_code == 401
    dispose_engine(store.url)


# --- item 6: strict input ------------------------------------------------------------------
@pytest.fixture()
def client(tmp_path):
    app = create_app(Settings(data_dir=tmp_path))
    yield TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    app.state.services.close()


def _post_raw(client, path: str, raw: str):
    return client.post(path, content=raw.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "field",
    ['"member": {"name": "Jane \\udfff Roe"}', '"provider": {"id": "\\udfff"}', '"cpt_codes": ["7639\\ud800"]'],
)
def test_a_lone_surrogate_in_any_string_is_422(client, field):
    body = json.dumps({k: v for k, v in DETERMINATION.items() if f'"{k}"' not in field})[:-1] + ", " + field + "}"
    r = _post_raw(client, "/v1/determinations", body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert "surrogate" in r.json()["error"]["message"]


def test_a_surrogate_pair_is_one_character_and_passes_the_edge(client):
    body = json.dumps({**DETERMINATION, "member": {"name": "Jane Roe \U0001f600"}}, ensure_ascii=True)
    assert "\\ud83d\\ude00" in body
    r = _post_raw(client, "/v1/determinations", body)
    assert r.status_code != 422 or "surrogate" not in r.text


@pytest.mark.parametrize("age", [True, False, "40", "forty"])
def test_age_years_is_a_strict_number(client, age):
    r = client.post("/v1/determinations", json={**DETERMINATION, "patient": {"age_years": age}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("reason", ["\u200b", " \u200b\u200d\ufeff ", "\u00ad", "\u0301\u0301"])
def test_an_override_reason_needs_visible_characters(keyless, reason):
    app, store = keyless
    record = store.create(make_request(), make_response(), user=REVIEWER)
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    body = {"name": "conventional_imaging_inconclusive", "value": True, "reason": reason}
    r = client.post(f"/v1/determinations/{record.id}/facts", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert store.get(record.id).overrides == []


def test_docs_need_a_key_when_auth_is_on(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, auth="on", api_keys=ENV_KEYS))
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code in (401, 404), path
    assert client.get("/openapi.json", headers={"X-API-Key": "key-nurse"}).json()["paths"]
    assert client.get("/docs", headers={"X-API-Key": "key-nurse"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", f"/v1/determinations/{CANARY}", None),
        ("get", f"/v1/determinations/{CANARY}/letter.pdf", None),
        ("post", "/v1/determinations", {**DETERMINATION, "policy_id": CANARY.lower()}),
        ("get", f"/v1/determinations?status={CANARY}", None),
        ("get", f"/v1/determinations?since={CANARY}", None),
        ("get", f"/{CANARY}", None),
        ("post", "/v1/ask", {"question": "glioma?", "policy_ids": [CANARY.lower()]}),
    ],
)
def test_error_bodies_never_echo_the_callers_values(client, method, path, body):
    r = client.request(method, path, json=body)
    assert 400 <= r.status_code < 500
    assert CANARY.lower() not in r.text.lower()


def test_the_access_log_redacts_ids_and_queries(client, caplog):
    from mrs_assist.api.accesslog import ACCESS_LOGGER

    logger = logging.getLogger(ACCESS_LOGGER)
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/v1/determinations/{CANARY}/sign?mrn={CANARY}", "1.1", 404)
    assert caplog.messages == ['127.0.0.1:5000 - "GET /v1/determinations/:id/sign?… HTTP/1.1" 404']
