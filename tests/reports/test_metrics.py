"""Decision clocks and the CMS-0057-F report: computed from seeded records and checked against
a count made by hand (the table in `HAND_COUNT`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from test_auth import ENV_KEYS, build_app
from test_records import PHYSICIAN, REVIEWER, make_request, make_response, sign_as_drafted

import mrs_assist.records.store as store_module
from mrs_assist.clocks import due_at
from mrs_assist.config import Settings
from mrs_assist.records import dispose_engine

NURSE = {"X-API-Key": "key-nurse"}
T = datetime(2025, 1, 1, tzinfo=UTC)

# Hand count of the seeded records below (year 2025):
#   standard: S1 approved 48 h, S2 denied 120 h then approved on appeal, S3 extended then approved 200 h,
#             S4 pended (undecided)                  -> 4 requests
#   expedited: E1 approved 10 h, E2 denied 70 h, E3 approval not yet signed (undecided) -> 3 requests
#   X1 (2024) and X2 (2026) are other years; S2's correction is the same request (an appeal).
HAND_COUNT = {
    "items and services under prior authorization (requests received)": ("4", "3", "7"),
    "% approved": ("50.0", "33.3", "42.9"),
    "% denied": ("25.0", "33.3", "28.6"),
    "% approved after appeal": ("25.0", "0.0", "14.3"),
    "% approved after a timeframe extension": ("25.0", "0.0", "14.3"),
    "% not yet decided": ("25.0", "33.3", "28.6"),
    "average decision time (hours)": ("122.7", "40.0", "89.6"),  # (48+120+200)/3, (10+70)/2, 448/5
    "median decision time (hours)": ("120.0", "40.0", "70.0"),
}


@pytest.fixture()
def api(tmp_path):
    app, store, _ = build_app(tmp_path, Settings(auth="on", api_keys=ENV_KEYS))
    yield TestClient(app, raise_server_exceptions=False), store
    dispose_engine(store.url)


class Clock:
    """A settable stand-in for the store's `utc_now`."""

    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(store_module, "utc_now", c)
    return c


def seed(store, clock, received, urgency, outcome, *, sign_after=None, extend=None):
    clock.now = received
    record = store.create(make_request(urgency=urgency), make_response(outcome), user=REVIEWER)
    if extend:
        clock.now = received + timedelta(hours=1)
        store.extend(record.id, extend, "waiting for the outside MRI report", user=REVIEWER)
    if sign_after is not None:
        clock.now = received + timedelta(hours=sign_after)
        sign_as_drafted(store, record.id, user=PHYSICIAN, review_hash=store.get(record.id).review_hash)
    return record


def seed_year(store, clock):
    seed(store, clock, datetime(2025, 1, 10, tzinfo=UTC), "standard", "meets_criteria", sign_after=48)
    s2 = seed(store, clock, datetime(2025, 2, 1, tzinfo=UTC), "standard", "does_not_meet_criteria", sign_after=120)
    clock.now = datetime(2025, 2, 10, tzinfo=UTC)
    appeal = store.correct(s2.id, user=PHYSICIAN, request=make_request(), response=make_response("meets_criteria"))
    clock.now = datetime(2025, 2, 11, tzinfo=UTC)
    sign_as_drafted(store, appeal.id, user=PHYSICIAN, review_hash=store.get(appeal.id).review_hash)
    seed(store, clock, datetime(2025, 3, 1, tzinfo=UTC), "standard", "meets_criteria", sign_after=200, extend=5)
    seed(store, clock, datetime(2025, 3, 5, tzinfo=UTC), "standard", "needs_more_information")
    seed(store, clock, datetime(2025, 4, 1, tzinfo=UTC), "expedited", "meets_criteria", sign_after=10)
    seed(store, clock, datetime(2025, 4, 2, tzinfo=UTC), "expedited", "does_not_meet_criteria", sign_after=70)
    seed(store, clock, datetime(2025, 4, 3, tzinfo=UTC), "expedited", "meets_criteria")
    seed(store, clock, datetime(2024, 12, 31, 23, tzinfo=UTC), "standard", "meets_criteria", sign_after=1)
    seed(store, clock, datetime(2026, 1, 1, tzinfo=UTC), "expedited", "meets_criteria", sign_after=1)


def test_report_matches_the_hand_count_as_csv_and_json(api, clock):
    client, store = api
    seed_year(store, clock)
    r = client.get("/v1/metrics/cms-0057f?year=2025&format=csv", headers=NURSE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["metric", "standard", "expedited", "all"]
    assert {row[0]: tuple(row[1:]) for row in rows[1:] if not row[0].startswith("requires")} == HAND_COUNT
    # The list of items and services under prior authorization, not just a count.
    listed = {row[0]: row[3] for row in rows[1:] if row[0].startswith("requires")}
    assert listed["requires prior authorization: CPT 76390"].split() == [
        "cohere-mrs", "floridablue-mrs", "healthhelp-mrs", "nia-brain-mrs"]
    body = client.get("/v1/metrics/cms-0057f?year=2025", headers=NURSE).json()
    assert body["counts"]["all"]["requests"] == 7 and body["counts"]["expedited"]["decided"] == 2
    html = client.get("/v1/metrics/cms-0057f?year=2025&format=html", headers=NURSE)
    assert html.headers["content-type"].startswith("text/html")
    for metric, values in HAND_COUNT.items():
        assert f"<th scope=\"row\">{metric}</th>" in html.text
        assert "".join(f"<td>{v}</td>" for v in values) in html.text


def test_report_cli_prints_the_same_csv(api, clock, monkeypatch, capsys):
    client, store = api
    seed_year(store, clock)
    from mrs_assist import cli
    from mrs_assist.config import get_settings

    monkeypatch.setenv("MRS_ASSIST_DATABASE_URL", store.url)
    get_settings.cache_clear()
    try:
        monkeypatch.setattr("sys.argv", ["mrs-assist", "report", "cms-0057f", "--year", "2025"])
        cli.main()
    finally:
        get_settings.cache_clear()
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert {row[0]: tuple(row[1:]) for row in rows[1:] if not row[0].startswith("requires")} == HAND_COUNT
    assert any(row[0] == "requires prior authorization: CPT 76390" for row in rows)


def test_an_a1_returned_through_fhir_counts_as_approved_and_stops_its_clock(api, clock):
    client, store = api
    clock.now = datetime(2025, 6, 1, tzinfo=UTC)
    a1 = store.create(make_request(urgency="expedited"), make_response("meets_criteria"), user=REVIEWER,
                      submitter_ref="urn:trace|FHIR-A1")
    json_api_draft = store.create(make_request(urgency="expedited"), make_response("meets_criteria"), user=REVIEWER)
    clock.now = datetime(2025, 6, 10, tzinfo=UTC)
    assert store.get(a1.id).clock.decided_at == datetime(2025, 6, 1, tzinfo=UTC)
    assert store.get(a1.id).clock.overdue is False  # returned to the provider at once: not late
    assert store.get(json_api_draft.id).clock.decided_at is None  # an unsent draft is not a decision
    body = client.get("/v1/metrics/cms-0057f?year=2025", headers=NURSE).json()
    assert (body["counts"]["expedited"]["approved"], body["counts"]["expedited"]["undecided"]) == (1, 1)
    assert body["counts"]["expedited"]["decided"] == 1
    items = {i["code"]: i["policies"] for i in body["items_requiring_prior_authorization"]}
    assert items["76390"] == ["cohere-mrs", "floridablue-mrs", "healthhelp-mrs", "nia-brain-mrs"]


@pytest.mark.parametrize("query", ["year=1999", "year=abc", "", "year=2025&format=pdf"])
def test_bad_report_queries_are_422(api, query):
    client, _ = api
    r = client.get(f"/v1/metrics/cms-0057f?{query}", headers=NURSE)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_clock_due_times_extension_and_overdue(api, clock):
    client, store = api
    clock.now = datetime.now(UTC) - timedelta(hours=80)
    expedited = store.create(make_request(urgency="expedited"), make_response(), user=REVIEWER)
    standard = store.create(make_request(), make_response(), user=REVIEWER)
    body = client.get(f"/v1/determinations/{expedited.id}", headers=NURSE).json()["clock"]
    assert body["urgency"] == "expedited" and body["overdue"] is True and body["seconds_left"] < 0
    assert datetime.fromisoformat(body["due_at"]) == due_at(clock.now, "expedited") == clock.now + timedelta(hours=72)
    listed = {s["id"]: s["clock"] for s in client.get("/v1/determinations", headers=NURSE).json()}
    assert listed[standard.id]["overdue"] is False and listed[standard.id]["seconds_left"] > 0
    # An extension moves the due time, keeps its reason, and is audited; only once.
    r = client.post(f"/v1/determinations/{standard.id}/extension", json={"days": 14, "reason": "outside records"},
                    headers=NURSE)
    assert r.status_code == 200
    assert datetime.fromisoformat(r.json()["clock"]["due_at"]) == clock.now + timedelta(days=21)
    assert r.json()["clock"]["extension_reason"] == "outside records"
    assert [h["action"] for h in store.history(standard.id)] == ["create", "extend"]
    again = client.post(f"/v1/determinations/{standard.id}/extension", json={"days": 1, "reason": "more"}, headers=NURSE)
    assert again.status_code == 409
    for bad in ({"days": 15, "reason": "x"}, {"days": 0, "reason": "x"}, {"days": 3, "reason": ""}, {"days": 3}):
        assert client.post(f"/v1/determinations/{expedited.id}/extension", json=bad, headers=NURSE).status_code == 422


def test_clock_columns_are_covered_by_the_audit_chain(api, clock):
    from sqlalchemy import text

    from mrs_assist.records import verify_chain

    _, store = api
    record = store.create(make_request(), make_response(), user=REVIEWER)
    store.extend(record.id, 3, "outside imaging requested", user=REVIEWER)
    assert verify_chain(store).ok
    with store.db.write() as session:  # someone moves the due time behind the audit's back
        session.execute(text("UPDATE records SET due_at = '2099-01-01 00:00:00' WHERE id = :id"), {"id": record.id})
    assert not verify_chain(store).ok
