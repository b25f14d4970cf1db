"""Issue 19 item 8, the record-side items: errors never echo a caller's fact names or keys, a
letter flag is a real boolean, and text a reader cannot see is not a reason or a letter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_auth import ENV_KEYS
from test_records import REVIEWER, make_request, make_response

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.records import RecordStore, dispose_engine
from mrs_assist.records.models import has_visible_text
from mrs_assist.service import Services

NURSE = {"X-API-Key": "key-nurse"}
CANARY = "zz_canary_name"
NOTES = {"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": "Headache."}
BLANKS = ["\u200b", "\u3164", "\u3164\u115f\u1160", "\uffa0", "\u2800\u2800", "\u200b\u3164\u2800", "\ufe0f", "\U000e0041"]


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    return Services(Settings(auth="on", api_keys=ENV_KEYS, data_dir=tmp_path_factory.mktemp("hygiene")))


@pytest.fixture()
def api(services, tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    app = create_app(services=services.replace(records=store), host="127.0.0.1")
    yield TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False), store
    dispose_engine(store.url)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/determinations", {**NOTES, "facts": {CANARY: True}}),
        ("/v1/determinations", {**NOTES, CANARY: 1}),
        ("/v1/determinations", {**NOTES, "patient": {"age_years": 3, CANARY: 1}}),
        ("{record}/facts", {"name": CANARY, "value": True, "reason": "seen"}),
        ("{record}/facts", {"name": "known_brain_tumor", "value": True, "reason": "seen", CANARY: 1}),
        ("{record}/letter", {"markdown": "# Letter", CANARY: 1}),
        ("{record}/sign", {"review_hash": "0" * 64, "attest": True, CANARY: 1}),
    ],
)
def test_errors_never_echo_a_callers_names_or_keys(api, path, body):
    client, store = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    url = path.replace("{record}", f"/v1/determinations/{record.id}")
    r = (client.put if url.endswith("/letter") else client.post)(url, json=body, headers=NURSE)
    assert r.status_code == 422, r.text
    assert CANARY not in r.text and r.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1", None])
def test_the_letter_flag_is_a_boolean(api, value):
    client, _ = api
    r = client.post("/v1/determinations", json={**NOTES, "letter": value}, headers=NURSE)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("blank", BLANKS)
def test_blank_looking_text_is_not_a_reason_or_a_letter(api, blank):
    client, store = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    assert not has_visible_text(blank) and has_visible_text(blank + "x")
    r = client.post(f"/v1/determinations/{record.id}/facts",
                    json={"name": "known_brain_tumor", "value": True, "reason": blank}, headers=NURSE)
    assert r.status_code == 422
    r = client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": blank}, headers=NURSE)
    assert r.status_code == 422
    assert store.get(record.id).letter_markdown == make_response().letter.markdown
