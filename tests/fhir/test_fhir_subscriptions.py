"""PAS rest-hook Subscriptions: a handshake on creation, an id-only notice when a subscribed
organization's request changes (a physician's signature), pushed to a real loopback receiver."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from support.fhir import answers, claim_response, fixture, mrs_bundle, payer_map, review_action, sign

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.fhir import conformance, profiles
from mrs_assist.records import dispose_engine
from mrs_assist.service import Services

KEYS = "key-nurse=nurse-ann:reviewer,key-doctor=dr-lee:physician"
NURSE = {"X-API-Key": "key-nurse", "Content-Type": "application/fhir+json"}
DOCTOR = {"X-API-Key": "key-doctor"}


class Receiver:
    """A rest-hook endpoint on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self, status: int = 200) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                received.append((self.headers.get("Authorization"), json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def make(tmp_path, interval=0.0):
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys=KEYS, fhir_notify_interval_seconds=interval,
                        fhir_payer_map=payer_map(tmp_path, "cohere-mrs"))
    services = Services(settings)
    app = create_app(services=services, host="127.0.0.1")
    return TestClient(app, raise_server_exceptions=False), app, services


def subscription(endpoint):
    """The published Inferno PAS subscription, pointed at our receiver, id-only."""
    sub = fixture("inferno/PAS_Subscription_example_v221_good.json")
    sub["channel"]["endpoint"] = endpoint
    sub["channel"]["header"] = ["Authorization: Bearer hook-token"]
    sub["channel"]["_payload"]["extension"][0]["valueCode"] = "id-only"
    return sub


def status_of(bundle):
    params = bundle["entry"][0]["resource"]["parameter"]
    return {p["name"]: p for p in params}


def test_handshake_then_a_notice_when_the_physician_signs(tmp_path, receiver):
    client, app, services = make(tmp_path)
    r = client.post("/fhir/Subscription", content=json.dumps(subscription(receiver.url)), headers=NURSE)
    assert r.status_code == 201 and r.json()["status"] == "active"
    token, handshake = receiver.received[0]
    assert token == "Bearer hook-token" and status_of(handshake)["type"]["valueCode"] == "handshake"
    assert client.get(f"/fhir/Subscription/{r.json()['id']}", headers=NURSE).json()["status"] == "active"

    bundle = mrs_bundle(claim_id="SUB-1", facts_qr=answers("cohere-mrs", {"non_brain_mrs_requested": True}))
    record_id = claim_response(client.post("/fhir/Claim/$submit", content=json.dumps(bundle), headers=NURSE).json())["id"]
    pusher = app.state.services.fhir.subscriptions
    assert pusher.dispatch() == 1  # the new pended request
    assert pusher.dispatch() == 0  # nothing changed since
    assert sign(client, record_id, DOCTOR).status_code == 200
    assert pusher.dispatch() == 1
    notice = receiver.received[-1][1]
    status = status_of(notice)
    assert status["type"]["valueCode"] == "event-notification"
    assert status["events-since-subscription-start"]["valueString"] == "2"
    focus = status["notification-event"]["part"][-1]["valueReference"]["reference"]
    assert focus.endswith(f"/fhir/ClaimResponse/{record_id}")
    inquiry = client.post("/fhir/Claim/$inquiry", content=json.dumps(bundle), headers=NURSE).json()
    assert review_action(inquiry)[0] == "A3"
    dispose_engine(services.records.url)


def test_another_organizations_requests_are_not_sent(tmp_path, receiver):
    client, app, services = make(tmp_path)
    sub = subscription(receiver.url)
    sub["_criteria"]["extension"][0]["valueString"] = "org-identifier=0000000000"
    assert client.post("/fhir/Subscription", content=json.dumps(sub), headers=NURSE).status_code == 201
    client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id="SUB-2")), headers=NURSE)
    assert app.state.services.fhir.subscriptions.dispatch() == 0
    assert len(receiver.received) == 1  # the handshake only
    dispose_engine(services.records.url)


def test_the_background_pusher_sends_without_being_asked(tmp_path, receiver):
    client, _, services = make(tmp_path, interval=0.2)
    with client:  # the lifespan starts the pusher before any subscription exists, and stops it
        client.post("/fhir/Subscription", content=json.dumps(subscription(receiver.url)), headers=NURSE)
        client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id="SUB-3")), headers=NURSE)
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert status_of(receiver.received[1][1])["type"]["valueCode"] == "event-notification"
    assert services.fhir.subscriptions._thread is None
    dispose_engine(services.records.url)


def _pushers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fhir-rest-hook"]


def test_no_request_starts_a_thread(tmp_path, receiver):
    """Subscribing (POST and PUT) and submitting start no thread: only the lifespan does."""
    client, _, services = make(tmp_path, interval=0.2)  # no `with`: no lifespan
    created = client.post("/fhir/Subscription", content=json.dumps(subscription(receiver.url)), headers=NURSE)
    assert created.status_code == 201 and created.json()["status"] == "active"
    sub = {**subscription(receiver.url), "id": created.json()["id"]}
    assert client.put(f"/fhir/Subscription/{sub['id']}", content=json.dumps(sub), headers=NURSE).status_code == 200
    client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id="SUB-4")), headers=NURSE)
    assert services.fhir.subscriptions._thread is None and _pushers() == []
    assert services.fhir.subscriptions.dispatch() == 1  # the subscription works; a sweep sends the notice
    dispose_engine(services.records.url)


@pytest.mark.parametrize("change, code", [
    (lambda s: s["channel"].update(endpoint="https://example.org/hook"), "security"),
    (lambda s: s.update(criteria="http://example.org/topic"), "value"),
    (lambda s: s["channel"].update(type="websocket"), "not-supported"),
    (lambda s: s["_criteria"]["extension"][0].update(valueString="patient=1"), "value"),
])
def test_subscriptions_we_cannot_honour_are_refused(tmp_path, receiver, change, code):
    client, _, services = make(tmp_path)
    sub = subscription(receiver.url)
    change(sub)
    r = client.post("/fhir/Subscription", content=json.dumps(sub), headers=NURSE)
    assert r.status_code == 422 and r.json()["issue"][0]["code"] == code
    assert "example.org" not in r.text and receiver.received == []
    dispose_engine(services.records.url)


def test_an_endpoint_that_fails_the_handshake_is_stored_in_error(tmp_path):
    down = Receiver(status=500)
    client, _, services = make(tmp_path)
    r = client.post("/fhir/Subscription", content=json.dumps(subscription(down.url)), headers=NURSE)
    down.close()
    assert r.status_code == 201 and r.json()["status"] == "error"
    dispose_engine(services.records.url)


def test_cli_sweep_pushes_and_says_how_many(tmp_path, receiver, monkeypatch, capsys):
    client, _, services = make(tmp_path)
    client.post("/fhir/Subscription", content=json.dumps(subscription(receiver.url)), headers=NURSE)
    client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id="SUB-CLI")), headers=NURSE)
    from mrs_assist import cli
    from mrs_assist.config import get_settings

    monkeypatch.setenv("MRS_ASSIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("sys.argv", ["mrs-assist", "fhir", "notify"])
    get_settings.cache_clear()
    try:
        cli.main()
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().out.strip() == "1 notification(s) sent"
    assert status_of(receiver.received[-1][1])["type"]["valueCode"] == "event-notification"
    dispose_engine(services.records.url)


def test_full_resource_notices_carry_the_pas_response_bundle_and_id_only_the_focus(tmp_path, receiver):
    client, app, services = make(tmp_path)
    full = subscription(receiver.url)
    full["channel"]["_payload"]["extension"][0]["valueCode"] = "full-resource"
    r = client.post("/fhir/Subscription", content=json.dumps(full), headers=NURSE)
    assert r.status_code == 201
    assert r.json()["channel"]["_payload"]["extension"][0]["valueCode"] == "full-resource"  # stored as asked
    record_id = claim_response(client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id="SUB-F")),
                                           headers=NURSE).json())["id"]
    assert app.state.services.fhir.subscriptions.dispatch() == 1
    notice = receiver.received[-1][1]
    assert len(notice["entry"]) == 2
    pas_bundle = notice["entry"][1]["resource"]
    assert profiles.errors(profiles.check_response_bundle(pas_bundle)) == []
    assert conformance.validate(pas_bundle).errors == []
    assert claim_response(pas_bundle)["id"] == record_id
    focus = status_of(notice)["notification-event"]["part"][-1]["valueReference"]["reference"]
    assert focus == notice["entry"][1]["fullUrl"]
    # The focus of an id-only notice is readable: GET ClaimResponse/{id}.
    cr = client.get(f"/fhir/ClaimResponse/{record_id}", headers=NURSE)
    assert cr.status_code == 200 and cr.json()["resourceType"] == "ClaimResponse"
    dispose_engine(services.records.url)


def test_put_status_and_delete_a_subscription(tmp_path, receiver):
    client, _, services = make(tmp_path)
    sid = client.post("/fhir/Subscription", content=json.dumps(subscription(receiver.url)), headers=NURSE).json()["id"]
    changed = {**subscription(receiver.url), "id": sid}
    changed["channel"]["_payload"]["extension"][0]["valueCode"] = "empty"
    r = client.put(f"/fhir/Subscription/{sid}", content=json.dumps(changed), headers=NURSE)
    assert r.status_code == 200 and r.json()["channel"]["_payload"]["extension"][0]["valueCode"] == "empty"
    status = {p["name"]: p for p in client.get(f"/fhir/Subscription/{sid}/$status", headers=NURSE).json()["parameter"]}
    assert status["status"]["valueCode"] == "active" and status["type"]["valueCode"] == "query-status"
    assert client.delete(f"/fhir/Subscription/{sid}", headers=NURSE).status_code == 204
    assert client.get(f"/fhir/Subscription/{sid}", headers=NURSE).status_code == 404
    dispose_engine(services.records.url)


@pytest.mark.parametrize("change", [
    lambda s: s["channel"].update(header=["X-Note: caf\u00e9"]),
    lambda s: s["channel"].update(header=["Content-Length: 0"]),
    lambda s: s["channel"].update(header=["Host: attacker.example"]),
    lambda s: s["channel"].update(header=["Transfer-Encoding: chunked"]),
    lambda s: s["channel"].update(endpoint=s["channel"]["endpoint"].replace("//", "//user\t:pw@")),
    lambda s: s["channel"].update(endpoint=s["channel"]["endpoint"].replace("//", "//user:pw@")),
    lambda s: s["channel"].update(endpoint="http://127.0.0.1:99999999/hook"),
])
def test_channel_headers_and_endpoints_the_exchange_owns_are_4xx_not_500(tmp_path, receiver, change):
    client, _, services = make(tmp_path)
    sub = subscription(receiver.url)
    change(sub)
    r = client.post("/fhir/Subscription", content=json.dumps(sub), headers=NURSE)
    assert 400 <= r.status_code < 500 and r.json()["resourceType"] == "OperationOutcome"
    assert receiver.received == []
    dispose_engine(services.records.url)


def test_a_provider_system_subscribes_to_its_own_organization_only(tmp_path, receiver):
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys=KEYS + ",key-ehr=ehr-1:provider:8189991234",
                        fhir_notify_interval_seconds=0, fhir_payer_map=payer_map(tmp_path, "cohere-mrs"))
    services = Services(settings)
    client = TestClient(create_app(services=services, host="127.0.0.1"), raise_server_exceptions=False)
    ehr = {**NURSE, "X-API-Key": "key-ehr"}
    other = subscription(receiver.url)
    other["_criteria"]["extension"][0]["valueString"] = "org-identifier=0000000000"
    assert client.post("/fhir/Subscription", content=json.dumps(other), headers=ehr).status_code == 403
    unfiltered = subscription(receiver.url)
    del unfiltered["_criteria"]
    r = client.post("/fhir/Subscription", content=json.dumps(unfiltered), headers=ehr)
    assert r.status_code == 201  # filtered to its organization all the same
    assert r.json()["_criteria"]["extension"][0]["valueString"] == "org-identifier=8189991234"
    staff = client.post("/fhir/Subscription", content=json.dumps(other), headers=NURSE).json()["id"]
    assert client.get(f"/fhir/Subscription/{staff}", headers=ehr).status_code == 404
    dispose_engine(services.records.url)
