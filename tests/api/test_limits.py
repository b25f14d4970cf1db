"""Limits at the edge of the API: body size, field sizes, control characters, odd Unicode,
CORS and the rate limit — each a JSON 4xx, never a 5xx, a stack trace or a file path."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient
from test_api import KeywordRetriever

from mrs_assist.api import create_app
from mrs_assist.api.limits import BodyLimitMiddleware, RateLimiter
from mrs_assist.config import Settings
from mrs_assist.records import dispose_engine
from mrs_assist.schemas import MAX_NOTES_CHARS, MAX_UNBROKEN_CHARS
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

GBM = "58 y/o M, GBM s/p XRT/TMZ. MRI equivocal: recurrence vs radiation necrosis. Request MRS."


@pytest.fixture(scope="module")
def corpus_services():
    """One loaded Services (corpus, policies, extraction) shared by this module's apps."""
    services = Services(Settings())
    services._retriever = KeywordRetriever(services.corpus)
    return services


@pytest.fixture()
def make_client(corpus_services, tmp_path):
    """A TestClient over an app with these settings overrides (the corpus is loaded once)."""
    stores = []

    def make(**overrides):
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        services = Services(settings)
        for name in ("corpus", "catalogue", "policies", "vocabulary"):
            services.__dict__[name] = getattr(corpus_services, name)
        services._retriever = corpus_services.retriever
        app = create_app(services=services, host="127.0.0.1")
        stores.append(services)
        return TestClient(app, base_url=LOCAL, raise_server_exceptions=False)

    yield make
    for services in stores:
        if "records" in services.__dict__:
            dispose_engine(services.records.url)


@pytest.fixture()
def client(make_client):
    return make_client()


def determination(notes: str = GBM, **extra) -> dict:
    return {"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": notes, **extra}


def assert_json_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    for leak in ("Traceback", 'File "', "/work/", "site-packages", ".py"):
        assert leak not in r.text
    return body["error"]


# --- the body limit ----------------------------------------------------------------------------
def test_declared_oversize_body_is_413_before_it_is_read(make_client):
    client = make_client(max_body_bytes=4096, max_upload_bytes=8192)
    r = client.post("/v1/ask", json={"question": "x " * 3000})
    error = assert_json_error(r, 413, "payload_too_large")
    assert "4096 bytes" in error["message"]
    # POST /v1/determinations may carry documents: its own, larger limit (issue 21).
    assert client.post("/v1/determinations", json=determination("x " * 3000)).status_code != 413
    error = assert_json_error(client.post("/v1/determinations", json=determination("x " * 5000)), 413, "payload_too_large")
    assert "8192 bytes" in error["message"]


def test_streamed_body_without_content_length_is_cut_off(make_client):
    client = make_client(max_body_bytes=4096)
    sent = []

    def chunks():  # httpx sends a generator chunked, with no Content-Length
        for _ in range(100):
            sent.append(1)
            yield b"x" * 1000

    r = client.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_json_error(r, 413, "payload_too_large")


def _asgi_post(app, declared: str | None, chunks: list[bytes]) -> tuple[int, dict, bytes]:
    """POST /v1/ask straight through ASGI, declaring any Content-Length and sending any chunks."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", declared.encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/ask", "raw_path": b"/v1/ask", "root_path": "", "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    received, sent = [], []

    async def receive():
        received.append(1)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_a_lying_content_length_does_not_get_past_the_limit(client):
    app = BodyLimitMiddleware(client.app, max_bytes=1000)
    status, _, body = _asgi_post(app, "10", [b'{"question": "', b"a" * 2000, b'"}'])
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"


def test_a_body_under_the_limit_is_replayed_whole(client):
    app = BodyLimitMiddleware(client.app, max_bytes=1000)
    payload = json.dumps({"question": "glioma grading investigational", "top_k": 2}).encode()
    status, _, body = _asgi_post(app, str(len(payload)), [payload[:10], payload[10:20], payload[20:]])
    assert status == 200 and json.loads(body)["citations"]


def test_a_non_numeric_content_length_is_400(client):
    status, _, body = _asgi_post(client.app, "ten", [b'{"question": "x"}'])
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid_request"


def test_the_largest_valid_notes_fit_the_default_body_limit(client):
    words = ("GBM recurrence vs radiation necrosis, MRI equivocal; pt stable. " * 1000)[:MAX_NOTES_CHARS]
    r = client.post("/v1/determinations", json=determination(words, letter=True))
    assert r.status_code == 201, r.text[:300]


# --- field limits, types, unknown fields, malformed JSON ----------------------------------
@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/v1/determinations", determination("x " * (MAX_NOTES_CHARS // 2 + 1)), "clinical_notes"),
        ("/v1/ask", {"question": "x" * 2001}, "question"),
        ("/v1/ask", {"question": ""}, "question"),
        ("/v1/ask", {"question": "x", "top_k": 0}, "top_k"),
        ("/v1/ask", {"question": "x", "top_k": 21}, "top_k"),
        ("/v1/ask", {"question": "x", "top_k": 2.5}, "top_k"),
        ("/v1/ask", {"question": 7}, "question"),
        ("/v1/ask", {"question": "x", "policy_ids": "cohere-mrs"}, "policy_ids"),
        ("/v1/ask", {"question": "x", "policy_ids": ["p"] * 11}, "policy_ids"),
        # an unexpected key is the caller's text: not echoed (issue 19 item 8)
        ("/v1/ask", {"question": "x", "surprise": 1}, "<key>"),
        ("/v1/determinations", determination(patient={"age_years": -1}), "patient.age_years"),
        ("/v1/determinations", determination(patient={"age_years": "ten"}), "patient.age_years"),
        ("/v1/determinations", determination(letter="yes please"), "letter"),
        ("/v1/determinations", determination(facts={"known_brain_tumor": "yes"}), "facts.known_brain_tumor"),
        ("/v1/determinations", determination(urgency="stat"), "urgency"),
        ("/v1/determinations", {**determination(), "notes": "typo'd field"}, "<key>"),
        ("/v1/determinations", {"policy_id": "cohere-mrs"}, "cpt_codes"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, path, body, where):
    error = assert_json_error(client.post(path, json=body), 422, "invalid_request")
    assert error["message"].startswith(where), error["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"question": "x",}', b"", b"null", b"[1, 2]", b'"just a string"', b'{"question": "x"} trailing'],
)
def test_malformed_json_is_a_json_4xx(client, raw):
    r = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.json()["error"]["code"] == "invalid_request"


def test_undecodable_and_deeply_nested_bodies_are_400(client):
    for raw in (b'{"question": "\xff\xfe\xfd"}', b"[" * 50_000 + b"]" * 50_000):
        r = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})
        assert_json_error(r, 400, "invalid_request")


def test_a_callers_free_form_keys_are_not_echoed_in_errors(client):
    body = determination(facts={"Zyxwv Qwertyson MRN-CANARY-90210": "maybe"})
    error = assert_json_error(client.post("/v1/determinations", json=body), 422, "invalid_request")
    assert "Qwertyson" not in error["message"] and error["message"].startswith("facts.<key>")


# --- control characters -------------------------------------------------------------------------
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f"])
def test_control_characters_in_notes_are_422_without_echoing_the_notes(client, char):
    notes = f"Zyxwv Qwertyson, GBM{char} recurrence vs necrosis"
    error = assert_json_error(client.post("/v1/determinations", json=determination(notes)), 422, "invalid_request")
    assert f"U+{ord(char):04X}" in error["message"] and "position 20" in error["message"]
    assert "Qwertyson" not in error["message"] and "GBM" not in error["message"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters_in_a_question_are_422(client, char):
    error = assert_json_error(client.post("/v1/ask", json={"question": f"glioma{char} grading"}), 422, "invalid_request")
    assert error["message"].startswith("question: contains the control character")


def test_tabs_and_line_breaks_are_fine(client):
    notes = "58 y/o M\tGBM s/p XRT.\r\nMRI equivocal: recurrence vs radiation necrosis.\nRequest MRS."
    r = client.post("/v1/determinations", json=determination(notes))
    assert r.status_code == 201 and r.json()["recommendation"] == "meets_criteria"
    assert client.post("/v1/ask", json={"question": "glioma\tgrading\n"}).status_code == 200


def test_an_unbroken_run_longer_than_the_limit_is_422(client):
    ok = determination("GBM " + "=" * MAX_UNBROKEN_CHARS)
    assert client.post("/v1/determinations", json=ok).status_code == 201
    error = assert_json_error(
        client.post("/v1/determinations", json=determination("GBM " + "\U0001f600" * (MAX_UNBROKEN_CHARS + 1))),
        422,
        "invalid_request",
    )
    assert "without a space or line break (from position 4)" in error["message"]


def test_control_characters_in_names_and_codes_are_422(client):
    for body in (
        determination(member={"name": "Zyxwv\x00Qwertyson"}),
        {**determination(), "cpt_codes": ["76390\x00"]},
        {**determination(), "policy_id": "cohere-mrs\x1b"},
    ):
        assert_json_error(client.post("/v1/determinations", json=body), 422, "invalid_request")


# --- odd but valid Unicode: a 4xx or a normal answer, never a 5xx ---------------------------------
ODD_TEXT = {
    "astral plane": "\U0001f9e0 \U0001d4d2\U0001d4d7\U0001d4de \U00020000 " * 300,
    "combining marks": "G\u0301\u0302\u0303B\u0304\u0305M\u0306 " + "e\u0301\u0308\u0327 " * 300 + "Z\u0336" * 200,
    "RTL and bidi overrides": "\u202eGBM recurrence\u202c \u2066necrosis\u2069 \u200fמטופל\u200f عربي",
    "zero-width and BOM": "G\u200bB\u200cM\u200d recurrence\ufeff vs\u2060 necrosis",
    "noncharacters and private use": "\uffff\ufffe\U0010ffff\ue000 GBM \ufdd0",
    "line and paragraph separators": "GBM\u2028recurrence\u2029vs necrosis\x85MRI equivocal",
    "mixed scripts": "ГБМ recurrence vs 放射性壊死 ΜRI equivocal",
}


@pytest.mark.parametrize("name", list(ODD_TEXT))
def test_odd_unicode_gets_a_normal_answer(client, name):
    text = ODD_TEXT[name]
    r = client.post("/v1/determinations", json=determination(text, letter=True))
    assert r.status_code == 201, r.text[:300]
    for fact in r.json()["facts"]:
        for e in fact["evidence"]:
            assert text[e["start"] : e["end"]] == e["text"]
    r = client.post("/v1/ask", json={"question": text[:2000]})
    assert r.status_code in (200, 404), r.text[:300]


def test_escaped_lone_surrogates_are_422(client):
    for raw in (b'{"question": "tumor \\ud800 grading"}', b'{"question": "\\udfff"}'):
        r = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})
        assert_json_error(r, 422, "invalid_request")
    raw = b'{"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": "GBM \\ud83d"}'
    r = client.post("/v1/determinations", content=raw, headers={"content-type": "application/json"})
    assert_json_error(r, 422, "invalid_request")


# --- 405 tells every allowed method --------------------------------------------------------------
def test_405_lists_every_method_of_the_resource(client):
    r = client.delete("/v1/determinations")
    assert_json_error(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


# --- CORS -------------------------------------------------------------------------------------
def test_cors_is_closed_by_default(client):
    r = client.get("/v1/policies", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = client.options(
        "/v1/determinations",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers


def test_a_cross_site_form_post_cannot_make_a_determination(client):
    # A "simple" cross-origin request needs no preflight; a non-JSON content type is not parsed.
    r = client.post(
        "/v1/determinations",
        content=json.dumps(determination()),
        headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
    )
    assert_json_error(r, 403, "cross_origin")  # refused by the loopback guard before the body is read
    assert client.get("/v1/determinations").json() == []


def test_cors_allows_exactly_the_configured_origins(make_client):
    client = make_client(cors_origins=["https://um.example.org"])
    r = client.get("/v1/policies", headers={"Origin": "https://um.example.org"})
    assert r.headers["access-control-allow-origin"] == "https://um.example.org"
    assert "access-control-allow-credentials" not in r.headers
    r = client.get("/v1/policies", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key,content-type"}
    r = client.options("/v1/determinations", headers={"Origin": "https://um.example.org", **preflight})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://um.example.org"
    assert "POST" in r.headers["access-control-allow-methods"]
    r = client.options("/v1/determinations", headers={"Origin": "https://evil.example", **preflight})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers


def test_cors_origins_must_be_exact_origins():
    for bad in ("*", "https://um.example.org/path", "um.example.org", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            Settings(cors_origins=[bad])


# --- the rate limit ---------------------------------------------------------------------------
KEYS = "key-ann=nurse-ann:reviewer,key-bob=nurse-bob:reviewer"


def test_rate_limit_is_429_with_retry_after(make_client):
    client = make_client(rate_limit_per_minute=3)
    assert [client.get("/v1/policies").status_code for _ in range(3)] == [200, 200, 200]
    r = client.get("/v1/policies")
    error = assert_json_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) == 20  # 3 a minute: one token every 20 s
    assert "3 a minute" in error["message"]
    assert client.post("/v1/ask", json={"question": "x"}).status_code == 429  # every route
    assert client.get("/healthz").status_code == 200  # liveness and readiness are never limited
    assert client.get("/readyz").status_code != 429


def test_buckets_refill_with_time(make_client):
    client = make_client(rate_limit_per_minute=60)
    now = [1000.0]
    client.app.state.rate_limiter.clock = lambda: now[0]
    assert all(client.get("/v1/policies").status_code == 200 for _ in range(60))
    r = client.get("/v1/policies")
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    now[0] += 1.0
    assert client.get("/v1/policies").status_code == 200
    assert client.get("/v1/policies").status_code == 429


def test_each_valid_key_has_its_own_bucket_and_wrong_keys_share_the_address(make_client):
    client = make_client(rate_limit_per_minute=2, api_keys=KEYS)
    ann, bob = {"X-API-Key": "key-ann"}, {"Authorization": "Bearer key-bob"}
    assert [client.get("/v1/policies", headers=ann).status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/v1/policies", headers=bob).status_code for _ in range(2)] == [200, 200]
    # No key or a wrong one: the client address's bucket, whatever key is tried.
    statuses = [client.get("/v1/policies", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(3)]
    assert statuses == [401, 401, 429]
    assert client.get("/v1/policies").status_code == 429


def test_rate_limit_zero_disables_it(make_client):
    client = make_client(rate_limit_per_minute=0)
    assert client.app.state.rate_limiter is None
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_the_limiter_forgets_the_oldest_callers_first():
    limiter = RateLimiter(1, clock=lambda: 0.0, max_callers=3)
    for caller in "abcd":
        assert limiter.take(caller) == 0.0
    assert limiter.take("d") > 0  # still tracked: empty
    assert limiter.take("a") == 0.0  # forgotten: a fresh bucket
    assert len(limiter._buckets) == 3


def test_the_openapi_schema_documents_the_limits(client):
    paths = client.get("/openapi.json").json()["paths"]
    ask = paths["/v1/ask"]["post"]["responses"]
    assert {"400", "401", "404", "413", "422", "429", "500", "503"} <= set(ask)
    assert "Retry-After" in ask["429"]["headers"]
    assert "429" not in paths["/healthz"]["get"]["responses"]


def test_control_characters_in_record_edits_and_filters_are_422(client):
    r = client.post("/v1/determinations", json=determination(letter=True))
    record = r.json()["id"]
    body = {"name": "known_brain_tumor", "value": True, "reason": "per report\x00"}
    assert_json_error(client.post(f"/v1/determinations/{record}/facts", json=body), 422, "invalid_request")
    r = client.put(f"/v1/determinations/{record}/letter", json={"markdown": "# Letter\x00"})
    assert_json_error(r, 422, "invalid_request")
    assert_json_error(client.get("/v1/determinations", params={"policy_id": "cohere\x00"}), 422, "invalid_request")
    assert client.put(f"/v1/determinations/{record}/letter", json={"markdown": "# Letter\n\n\tFine."}).status_code == 200


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("the local index at /srv/mrs/data/index/chroma is damaged", "the local index at <path> is damaged"),
        ("opening: [Errno 2] No such file or directory: '/home/x/.cache/a.bin'", "opening: [Errno 2] No such file or directory: '<path>'"),
        ("the Chroma server at http://127.0.0.1:8001 is unavailable", "the Chroma server at http://127.0.0.1:8001 is unavailable"),
        ("experimental/investigational and/or not covered", "experimental/investigational and/or not covered"),
        ("no record at /v1/determinations/abc", "no record at /v1/determinations/abc"),
    ],
)
def test_file_paths_never_reach_an_error_body(message, expected):
    from mrs_assist.api.errors import error_response

    assert json.loads(error_response(503, "service_unavailable", message).body)["error"]["message"] == expected
