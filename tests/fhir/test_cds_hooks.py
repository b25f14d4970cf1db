"""CRD, light: CDS Hooks discovery and an order-sign / order-select card that says prior
authorization is required for CPT 76390 under the member's coverage and cites the clauses."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support.fhir import PAYER, payer_map

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.records import dispose_engine
from mrs_assist.service import Services

NURSE = {"X-API-Key": "key-nurse"}


@pytest.fixture()
def client(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys="key-nurse=nurse-ann:reviewer", fhir_notify_interval_seconds=0,
                        fhir_payer_map=payer_map(tmp_path, "healthhelp-mrs"))
    services = Services(settings)
    yield TestClient(create_app(services=services, host="127.0.0.1"), raise_server_exceptions=False), services
    dispose_engine(services.records.url)


def order(code="76390", id_="sr-1"):
    return {"resourceType": "ServiceRequest", "id": id_, "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]}}


def call(hook, orders, payer=PAYER, selections=None):
    context = {"userId": "Practitioner/dr", "patientId": "p1",
               "draftOrders": {"resourceType": "Bundle", "type": "collection",
                               "entry": [{"resource": o} for o in orders]}}
    if selections is not None:
        context["selections"] = selections
    coverage = {"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": {"reference": "Patient/p1"},
                "payor": [{"reference": "#payer"}],
                "contained": [{"resourceType": "Organization", "id": "payer", "name": payer}]}
    return {"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "context": context,
            "prefetch": {"coverage": coverage}}


def test_discovery_lists_the_four_hooks(client):
    c, _ = client
    services = c.get("/cds-services", headers=NURSE).json()["services"]
    assert {s["hook"] for s in services} == {"order-select", "order-sign", "order-dispatch", "appointment-book"}
    assert all("coverage" in s["prefetch"] for s in services)


def appointment(basis=None, code=None):
    appt = {"resourceType": "Appointment", "id": "ap-1", "status": "proposed",
            "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}]}
    if basis:
        appt["basedOn"] = [{"reference": basis}]
    if code:
        appt["serviceType"] = [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]}]
    return appt


@pytest.mark.parametrize("hook, change, carded", [
    # order-dispatch: the dispatched orders, prefetched, as order-sign reads draft orders
    ("order-dispatch", lambda b: b["context"].update(dispatchedOrders=["ServiceRequest/sr-1"], performer="Organization/o1")
     or b["prefetch"].update(orders=b["context"].pop("draftOrders")), True),
    ("order-dispatch", lambda b: b["context"].update(dispatchedOrders=["ServiceRequest/other"])
     or b["prefetch"].update(orders=b["context"].pop("draftOrders")), False),
    # appointment-book: an appointment based on the 76390 order, or naming CPT 76390 itself
    ("appointment-book", lambda b: b["context"].update(appointments={"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": appointment("ServiceRequest/sr-1")}]}) or b["prefetch"].update(orders=b["context"].pop("draftOrders")),
     True),
    ("appointment-book", lambda b: b["context"].update(appointments={"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": appointment(code="76390")}]}) or b["context"].pop("draftOrders"), True),
    ("appointment-book", lambda b: b["context"].update(appointments={"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": appointment(code="99213")}]}) or b["context"].pop("draftOrders"), False),
])
def test_order_dispatch_and_appointment_book_use_the_same_card_logic(client, hook, change, carded):
    c, _ = client
    body = call(hook, [order()])
    change(body)
    r = c.post(f"/cds-services/mrs-assist-{hook}", json=body, headers=NURSE)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert bool(cards) is carded
    if carded:
        assert cards[0]["summary"].startswith("Prior authorization required for CPT 76390 (healthhelp-mrs)")
        (action,) = r.json()["systemActions"]
        assert action["resource"]["resourceType"] == ("Appointment" if hook == "appointment-book" else "ServiceRequest")


def test_order_dispatch_needs_its_dispatched_orders(client):
    c, _ = client
    body = call("order-dispatch", [order()])
    r = c.post("/cds-services/mrs-assist-order-dispatch", json=body, headers=NURSE)
    assert r.status_code == 422 and "dispatchedOrders" in r.text


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_a_76390_order_gets_a_card_citing_the_policy_clauses(client, hook):
    c, services = client
    selections = ["ServiceRequest/sr-1"] if hook == "order-select" else None
    r = c.post(f"/cds-services/mrs-assist-{hook}", json=call(hook, [order()], selections=selections), headers=NURSE)
    assert r.status_code == 200
    (card,) = r.json()["cards"]
    assert card["summary"].startswith("Prior authorization required for CPT 76390 (healthhelp-mrs)")
    policy = services.policies["healthhelp-mrs"]
    assert f"[{policy.scope.cpt_clause}]" in card["detail"]
    for node in policy.indications.children:
        assert f"[{node.clause}]" in card["detail"] and services.corpus.clause(node.clause) is not None
    assert card["links"][0]["url"].endswith("/fhir/Questionnaire/healthhelp-mrs")


def test_no_card_for_other_orders_or_unselected_ones_and_an_info_card_for_unmapped_plans(client):
    c, _ = client
    assert c.post("/cds-services/mrs-assist-order-sign", json=call("order-sign", [order("70553")]),
                  headers=NURSE).json() == {"cards": []}
    unselected = call("order-select", [order(), order("70553", "sr-2")], selections=["ServiceRequest/sr-2"])
    assert c.post("/cds-services/mrs-assist-order-select", json=unselected, headers=NURSE).json() == {"cards": []}
    (card,) = c.post("/cds-services/mrs-assist-order-sign", json=call("order-sign", [order()], payer="Other Plan"),
                     headers=NURSE).json()["cards"]
    assert card["indicator"] == "info" and "no coverage policy" in card["summary"]


@pytest.mark.parametrize("body, status", [
    ({}, 422), ({"hook": "order-sign", "context": []}, 422),
    # a FHIR resource that does not validate (CRD: 400), or names no FHIR type
    ({"hook": "order-sign", "context": {"draftOrders": {"resourceType": "Bundle", "entry": 3}}}, 400),
    ({"hook": "order-sign", "context": {"draftOrders": {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "NotAResource"}}]}}}, 400),
])
def test_malformed_hook_calls_are_4xx_json_errors(client, body, status):
    c, _ = client
    r = c.post("/cds-services/mrs-assist-order-sign", json=body, headers=NURSE)
    assert r.status_code == status and r.json()["error"]["code"] == "invalid_request"
    assert c.post("/cds-services/nope", json=call("order-sign", [order()]), headers=NURSE).status_code == 404


def test_crd_card_source_discovery_version_and_coverage_information_system_action(client):
    from mrs_assist.fhir import conformance, crd

    c, _ = client
    services = c.get("/cds-services", headers=NURSE).json()["services"]
    assert {s["extension"]["davinci-crd.version"] for s in services} == {"2.0.1"}
    body = c.post("/cds-services/mrs-assist-order-sign", json=call("order-sign", [order(), order("70553", "sr-2")]),
                  headers=NURSE).json()
    (card,) = body["cards"]
    assert card["source"]["label"] == PAYER  # the payer's name, as the coverage names it
    assert card["source"]["topic"]["code"] == "coverage-info"
    reg = conformance.registry()
    card_types = {c["code"] for c in next(x for x in reg.code_systems[crd.CRD_TEMP]["concept"]
                                          if x["code"] == "_cardType")["concept"]}
    assert card["source"]["topic"]["code"] in card_types
    assert "[None]" not in card["detail"]
    (action,) = body["systemActions"]  # the governed order only
    assert action["type"] == "update" and action["resource"]["id"] == "sr-1"
    info = next(e for e in action["resource"]["extension"] if e["url"] == crd.COVERAGE_INFORMATION)
    assert conformance.validate(info, crd.COVERAGE_INFORMATION).errors == []
    assert {e["url"]: e.get("valueCode") for e in info["extension"]}["pa-needed"] == "auth-needed"


# --- CDS Hooks security: a client's JWT bearer, verified against a configured JWKS ------------
def _keypair():
    import json as _json

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP384R1())
    jwk = _json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return private, {**jwk, "kid": "ehr-key-1", "alg": "ES384", "use": "sig"}


def _token(private, aud, **claims):
    import time

    import jwt

    body = {"iss": "https://ehr.example.org", "aud": aud, "exp": int(time.time()) + 300, "iat": int(time.time()),
            "jti": "a1b2c3"} | claims
    return jwt.encode(body, private, algorithm="ES384", headers={"kid": "ehr-key-1", "jku": "https://ehr.example.org/jwks"})


def test_a_cds_client_jwt_is_verified_against_the_configured_jwks(tmp_path):
    import json as _json

    private, jwk = _keypair()
    other, _ = _keypair()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(_json.dumps({"keys": [jwk]}))
    public = "https://payer.example.org/mrs"
    settings = Settings(data_dir=tmp_path / "data", auth="on", api_keys="key-nurse=nurse-ann:reviewer",
                        fhir_notify_interval_seconds=0, fhir_payer_map=payer_map(tmp_path, "healthhelp-mrs"),
                        public_url=public, cds_jwks_file=jwks, cds_issuers=["https://ehr.example.org"])
    services = Services(settings)
    c = TestClient(create_app(services=services, host="127.0.0.1"), raise_server_exceptions=False)
    aud = public + "/cds-services/mrs-assist-order-sign"
    body = call("order-sign", [order()])

    def status(token):
        return c.post("/cds-services/mrs-assist-order-sign", json=body,
                      headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(_token(private, aud)) == 200
    assert status(_token(private, public + "/cds-services/other")) == 401  # another service's audience
    assert status(_token(private, aud, exp=1)) == 401  # expired
    assert status(_token(other, aud)) == 401  # signed by a key the JWKS does not hold
    assert status(_token(private, aud, iss="https://intruder.example")) == 401
    assert status("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.") == 401  # alg none
    dispose_engine(services.records.url)


def test_without_a_jwks_a_jwt_is_accepted_only_where_no_key_is_required(tmp_path):
    private, _ = _keypair()
    token = _token(private, "http://127.0.0.1:8000/cds-services/mrs-assist-order-sign")
    body = call("order-sign", [order()])
    for auth, expected in (("auto", 200), ("on", 401)):
        settings = Settings(data_dir=tmp_path / auth, auth=auth, fhir_notify_interval_seconds=0,
                            api_keys="key-nurse=nurse-ann:reviewer" if auth == "on" else None,
                            fhir_payer_map=payer_map(tmp_path, "healthhelp-mrs"))
        services = Services(settings)
        c = TestClient(create_app(services=services, host="127.0.0.1"), base_url="http://127.0.0.1",
                       raise_server_exceptions=False)
        r = c.post("/cds-services/mrs-assist-order-sign", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == expected, r.text
        dispose_engine(services.records.url)
