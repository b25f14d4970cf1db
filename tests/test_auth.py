"""API keys, roles and when a key is required; the role matrix of every records endpoint."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from test_records import ADMIN, PHYSICIAN, REVIEWER, StoreServices, make_request, make_response

from mrs_assist.api.app import create_app
from mrs_assist.auth import (
    LOCAL_USER,
    Authenticator,
    Role,
    User,
    auth_required,
    generate_api_key,
    hash_api_key,
    is_loopback,
    load_api_keys,
)
from mrs_assist.config import Settings
from mrs_assist.errors import ConfigError, UnauthorizedError
from mrs_assist.records import RecordStore, dispose_engine

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

KEYS = {"reviewer": "key-nurse", "physician": "key-doctor", "admin": "key-ops"}
ENV_KEYS = "key-nurse=nurse-ann:reviewer,key-doctor=dr-lee:physician,key-ops=ops-sam:admin"
PDF = b"%PDF-1.4\n% fake\n"


class FakeServices(StoreServices):
    """The real record workflows over a fake checker (recompute) and PDF renderer."""

    def __init__(self, settings: Settings, *, records=None) -> None:
        super().__init__(settings, records=records)
        self.rendered: list = []

    def render_letter_pdf(self, record) -> bytes:
        self.rendered.append(record.id)
        return PDF


def build_app(tmp_path, settings: Settings, *, set_auth: bool = True):
    store = RecordStore(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    services = FakeServices(settings, records=store)
    app = create_app(services=services, host="127.0.0.1" if set_auth else None)
    return app, store, services


@pytest.fixture()
def secured(tmp_path):
    app, store, services = build_app(tmp_path, Settings(auth="on", api_keys=ENV_KEYS))
    yield TestClient(app, base_url=LOCAL, raise_server_exceptions=False), store, services
    dispose_engine(store.url)


# --- when a key is required ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "host", "keys", "required"),
    [
        ("auto", "127.0.0.1", None, False),
        ("auto", "127.0.0.2", None, False),
        ("auto", "localhost", None, False),
        ("auto", "::1", None, False),
        ("auto", "[::1]", None, False),
        ("auto", "0.0.0.0", None, True),
        ("auto", "::", None, True),
        ("auto", "192.168.1.20", None, True),
        ("auto", "reviews.example.org", None, True),
        ("auto", "127.0.0.1", ENV_KEYS, True),
        ("on", "127.0.0.1", None, True),
        ("off", "127.0.0.1", ENV_KEYS, False),
    ],
)
def test_auth_required(mode, host, keys, required):
    assert auth_required(Settings(auth=mode, api_keys=keys), host) is required


def test_auth_off_is_refused_beyond_loopback():
    with pytest.raises(ConfigError, match="only on loopback"):
        auth_required(Settings(auth="off"), "0.0.0.0")


def test_required_auth_without_keys_fails_at_start_up():
    with pytest.raises(ConfigError, match="no.*configured|none is configured"):
        Authenticator.from_settings(Settings(auth="auto"), host="0.0.0.0")
    with pytest.raises(ConfigError):
        Authenticator.from_settings(Settings(auth="on"))


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback(None) and not is_loopback("10.0.0.1")


# --- keys ------------------------------------------------------------------------------------
def test_keys_file_yaml_and_json(tmp_path):
    key, digest = generate_api_key()
    assert digest == hash_api_key(key) and len(digest) == 64 and key.startswith("mrs_")
    yaml_file = tmp_path / "keys.yaml"
    yaml_file.write_text(f"# who holds which key\n{digest}: {{user: dr-lee, role: physician}}\n")
    assert load_api_keys(Settings(api_keys_file=yaml_file)) == {digest: User("dr-lee", Role.physician)}
    json_file = tmp_path / "keys.json"
    json_file.write_text(json.dumps({digest.upper(): {"user": "nurse-ann", "role": "reviewer"}}))
    assert load_api_keys(Settings(api_keys_file=json_file)) == {digest: User("nurse-ann", Role.reviewer)}


@pytest.mark.parametrize(
    "content",
    ["not-a-digest: {user: a, role: reviewer}\n", "%s: {user: a, role: superuser}\n" % ("a" * 64),
     "%s: {user: a, role: reviewer, extra: 1}\n" % ("a" * 64), "- just a list\n", "{unclosed: [\n"],
)
def test_bad_keys_file_is_a_config_error(tmp_path, content):
    path = tmp_path / "keys.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="keys.yaml"):
        load_api_keys(Settings(api_keys_file=path))


def test_missing_keys_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_api_keys(Settings(api_keys_file=tmp_path / "nope.yaml"))


def test_env_keys_plain_and_hashed():
    keys = load_api_keys(Settings(api_keys=f"plain=a:reviewer, sha256:{hash_api_key('secret')}=b:admin"))
    assert keys == {hash_api_key("plain"): User("a", Role.reviewer), hash_api_key("secret"): User("b", Role.admin)}
    for bad in ("nokey", "k=user", "k=user:king", "sha256:abc=u:admin"):
        with pytest.raises(ConfigError, match="MRS_ASSIST_API_KEYS"):
            load_api_keys(Settings(api_keys=bad))


def test_authenticate_rules():
    keys = {hash_api_key("k"): User("dr-lee", Role.physician)}
    local = Authenticator({}, mode="auto", required=False)
    assert local.authenticate(None) == LOCAL_USER == User("local-reviewer", Role.reviewer)
    with pytest.raises(UnauthorizedError):
        local.authenticate("wrong")  # a wrong key is an error even where none is needed
    with pytest.raises(UnauthorizedError):
        local.authenticate(None, remote=True)
    strict = Authenticator(keys, mode="on")
    assert strict.authenticate("k") == User("dr-lee", Role.physician)
    with pytest.raises(UnauthorizedError):
        strict.authenticate(None)
    off = Authenticator(keys, mode="off", required=False)
    assert off.authenticate("k") == LOCAL_USER and off.authenticate(None) == LOCAL_USER
    with pytest.raises(UnauthorizedError):
        off.authenticate(None, remote=True)


# --- the HTTP side -------------------------------------------------------------------------
def test_openapi_declares_both_schemes_and_healthz_is_open(secured):
    client, _, _ = secured
    assert client.get("/openapi.json").status_code == 401  # with auth on, the docs need a key too
    assert client.get("/docs").status_code == 401
    spec = client.get("/openapi.json", headers={"X-API-Key": KEYS["reviewer"]}).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                 "description": "An API key issued to a user."}
    assert schemes["Bearer"]["scheme"] == "bearer"
    assert {"ApiKey": []} in spec["paths"]["/v1/determinations"]["get"]["security"]
    assert client.get("/healthz").status_code == 200


def test_bearer_token_and_bad_keys(secured):
    client, store, _ = secured
    store.create(make_request(), make_response(), user=REVIEWER)
    assert client.get("/v1/determinations", headers={"Authorization": "Bearer key-doctor"}).status_code == 200
    r = client.get("/v1/determinations", headers={"X-API-Key": "guess"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = client.get("/v1/determinations")
    assert r.status_code == 401 and r.json() == {
        "error": {"code": "unauthorized", "message": "an API key is required: send X-API-Key or Authorization: Bearer"}
    }


def test_loopback_defaults_act_as_the_local_reviewer(tmp_path):
    app, store, _ = build_app(tmp_path, Settings(auth="auto"), set_auth=False)  # authenticator built on first use
    client = TestClient(app, base_url=LOCAL, raise_server_exceptions=False)
    adverse = store.create(make_request(), make_response("does_not_meet_criteria"), user=REVIEWER)
    approval = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    assert client.get("/v1/determinations").status_code == 200
    r = client.post(f"/v1/determinations/{approval.id}/sign", json={"review_hash": approval.review_hash, "attest": True})
    assert r.status_code == 200 and r.json()["signed_by"] == "local-reviewer"
    r = client.post(f"/v1/determinations/{adverse.id}/sign", json={"review_hash": adverse.review_hash, "attest": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "physician_required"
    # through a proxy, or from another machine, a key is required whatever the mode
    assert client.get("/v1/determinations", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    remote = TestClient(app, base_url=LOCAL, raise_server_exceptions=False, client=("203.0.113.9", 40000))
    assert remote.get("/v1/determinations").status_code == 401
    assert remote.get("/healthz").status_code == 200
    dispose_engine(store.url)


# --- role matrix: every records endpoint × no key / reviewer / physician / admin -------------------
CALLERS = {"none": None, **KEYS}

MATRIX = {
    # endpoint: expected status for none, reviewer, physician, admin
    "list": (401, 200, 200, 200),
    "get": (401, 200, 200, 200),
    "override": (401, 200, 200, 403),
    "letter": (401, 200, 200, 403),
    "sign-approval": (401, 200, 200, 403),
    "sign-pend": (401, 200, 200, 403),
    "sign-adverse": (401, 403, 200, 403),
    "pdf": (401, 200, 200, 200),
}


def _call(client, endpoint: str, record_id: str, headers: dict):
    base = f"/v1/determinations/{record_id}"
    if endpoint == "list":
        return client.get("/v1/determinations", headers=headers)
    if endpoint == "get":
        return client.get(base, headers=headers)
    if endpoint == "override":
        body = {"name": "conventional_imaging_inconclusive", "value": True, "reason": "report says equivocal"}
        return client.post(f"{base}/facts", json=body, headers=headers)
    if endpoint == "letter":
        return client.put(f"{base}/letter", json={"markdown": "# Edited"}, headers=headers)
    if endpoint.startswith("sign"):
        reviewed = client.get(base, headers={"X-API-Key": KEYS["physician"]}).json()["review_hash"]
        return client.post(f"{base}/sign", json={"review_hash": reviewed, "attest": True}, headers=headers)
    return client.get(f"{base}/letter.pdf", headers=headers)


@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("caller", list(CALLERS))
def test_role_matrix(secured, endpoint, caller):
    client, store, _ = secured
    outcome = {"sign-approval": "meets_criteria", "sign-adverse": "does_not_meet_criteria"}.get(
        endpoint, "needs_more_information"
    )
    record = store.create(make_request(), make_response(outcome), user=REVIEWER)
    key = CALLERS[caller]
    r = _call(client, endpoint, record.id, {"X-API-Key": key} if key else {})
    expected = MATRIX[endpoint][list(CALLERS).index(caller)]
    assert r.status_code == expected, r.text
    if expected >= 400:
        assert set(r.json()["error"]) == {"code", "message"}
        assert store.get(record.id) == record  # nothing changed
    elif endpoint.startswith("sign"):
        assert r.json()["signed_by"] == {"reviewer": "nurse-ann", "physician": "dr-lee"}[caller]


def test_admin_and_physician_names_are_recorded(secured):
    client, store, _ = secured
    record = store.create(make_request(), make_response("does_not_meet_criteria"), user=PHYSICIAN)
    r = client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": "x"}, headers={"X-API-Key": "key-doctor"})
    assert r.json()["letter_markdown"] == "x"
    assert [h["actor"] for h in store.history(record.id)] == ["dr-lee", "dr-lee"]
    assert ADMIN.role is Role.admin
