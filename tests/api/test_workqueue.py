"""The work queue, a case's history, assignment and voiding (issue 21) through the API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, text
from test_records import REVIEWER, make_request, make_response
from test_records_api import ADMIN, DOCTOR, NURSE, api  # noqa: F401 (the fixture)

from mrs_assist.records.db import utc_now
from mrs_assist.schemas import Party


def _set_due(store, id: str, hours_from_now: float) -> None:
    """Move a draft's due time (as if it had been received earlier)."""
    engine = create_engine(store.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE records SET due_at = :due WHERE id = :id"),
                     {"due": (utc_now() + timedelta(hours=hours_from_now)).replace(tzinfo=None), "id": id})
    engine.dispose()


def test_queue_sorts_by_due_time_and_filters(api):
    client, store, _ = api
    late2 = store.create(make_request(member=Party(name="Ana Lopez", id="M-2")), make_response(), user=REVIEWER)
    late6 = store.create(
        make_request(urgency="expedited", member=Party(name="Bo Chen", id="M-6"), provider=Party(name="Dr Rao")),
        make_response("does_not_meet_criteria"), user=REVIEWER,
    )
    fresh = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    _set_due(store, late2.id, -48)
    _set_due(store, late6.id, -144)
    # Newest first stays the default; sort=due puts the case overdue by 6 days on top.
    assert [r["id"] for r in client.get("/v1/determinations", headers=NURSE).json()] == [fresh.id, late6.id, late2.id]
    r = client.get("/v1/determinations?sort=due", headers=NURSE)
    assert [row["id"] for row in r.json()] == [late6.id, late2.id, fresh.id]
    assert r.headers["X-Total-Count"] == "3"
    top = r.json()[0]
    assert (top["member_name"], top["member_id"], top["provider_name"]) == ("Bo Chen", "M-6", "Dr Rao")
    assert top["clock"]["urgency"] == "expedited" and top["clock"]["overdue"] is True and top["physician_queue"] is True

    def ids(query: str) -> list[str]:
        r = client.get(f"/v1/determinations?sort=due&{query}", headers=NURSE)
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()]

    assert ids("overdue=true") == [late6.id, late2.id]
    assert ids("overdue=false") == [fresh.id]
    assert ids("urgency=expedited") == [late6.id]
    assert ids("outcome=meets_criteria") == [fresh.id]
    assert ids("physician_queue=true") == [late6.id]
    assert ids("q=chen") == [late6.id]
    assert ids("q=m-2") == [late2.id]
    assert ids("q=rao") == [late6.id]
    assert ids(f"q={fresh.id[:8]}") == [fresh.id]
    assert ids("q=glioblastoma") == []  # the notes are never searched
    assert ids("q=%25") == []  # a LIKE wildcard is a literal
    page2 = client.get("/v1/determinations?sort=due&limit=2&offset=2", headers=NURSE)
    assert [row["id"] for row in page2.json()] == [fresh.id] and page2.headers["X-Total-Count"] == "3"
    assert client.get("/v1/determinations?sort=oldest", headers=NURSE).status_code == 422


def test_assignment_routing_and_my_cases(api):
    client, store, _ = api
    pend = store.create(make_request(), make_response(), user=REVIEWER)
    other = store.create(make_request(), make_response(), user=REVIEWER)
    r = client.put(f"/v1/determinations/{pend.id}/assignment", json={"assignee": "me"}, headers=NURSE)
    assert r.status_code == 200 and r.json()["assignee"] == "nurse-ann" and r.json()["physician_queue"] is False
    assert [row["id"] for row in client.get("/v1/determinations?assignee=me", headers=NURSE).json()] == [pend.id]
    assert [row["id"] for row in client.get("/v1/determinations?assignee=", headers=NURSE).json()] == [other.id]
    routed = client.put(f"/v1/determinations/{other.id}/assignment",
                        json={"assignee": "dr-lee", "routed_to": "physician"}, headers=NURSE)
    assert routed.json()["physician_queue"] is True
    queue = client.get("/v1/determinations?physician_queue=true&assignee=me", headers=DOCTOR).json()
    assert [row["id"] for row in queue] == [other.id]
    assert client.put(f"/v1/determinations/{pend.id}/assignment", json={"assignee": "x"}, headers=ADMIN).status_code == 403
    assert client.put(f"/v1/determinations/{pend.id}/assignment", json={"routed_to": "nurse"}, headers=NURSE).status_code == 422


def test_void_keeps_the_case_out_of_lists_reports_and_signing(api):
    client, store, _ = api
    mistake = store.create(make_request(), make_response(), user=REVIEWER)
    assert client.post(f"/v1/determinations/{mistake.id}/void", json={"reason": "  "}, headers=NURSE).status_code == 422
    r = client.post(f"/v1/determinations/{mistake.id}/void", json={"reason": "wrong member"}, headers=NURSE)
    assert r.status_code == 200 and r.json()["voided_by"] == "nurse-ann" and r.json()["void_reason"] == "wrong member"
    assert client.get("/v1/determinations", headers=NURSE).json() == []
    kept = client.get("/v1/determinations?include_voided=true", headers=NURSE).json()
    assert [row["voided"] for row in kept] == [True]
    assert store.summaries() == []  # the CMS-0057-F report reads these
    sign = client.post(f"/v1/determinations/{mistake.id}/sign", json={"review_hash": r.json()["review_hash"], "attest": True}, headers=NURSE)
    assert sign.status_code == 409 and "voided" in sign.json()["error"]["message"]
    again = client.post(f"/v1/determinations/{mistake.id}/void", json={"reason": "again"}, headers=NURSE)
    assert again.status_code == 409
    assert [h["action"] for h in store.history(mistake.id)] == ["create", "void"]


def test_history_names_who_did_what_with_letter_diffs(api):
    client, store, _ = api
    record = store.create(make_request(), make_response("does_not_meet_criteria"), user=REVIEWER)
    edited = (record.letter_markdown or "") + "\nReviewed with the order form.\n"
    assert client.put(f"/v1/determinations/{record.id}/letter", json={"markdown": edited}, headers=NURSE).status_code == 200
    current = client.get(f"/v1/determinations/{record.id}", headers=DOCTOR).json()
    signed = client.post(f"/v1/determinations/{record.id}/sign", json={"review_hash": current["review_hash"], "attest": True}, headers=DOCTOR)
    assert signed.status_code == 200, signed.text
    history = client.get(f"/v1/determinations/{record.id}/history", headers=NURSE).json()
    assert [(h["action"], h["actor"], h["role"]) for h in history] == [
        ("create", "nurse-ann", "reviewer"), ("edit_letter", "nurse-ann", "reviewer"),
        ("view_documents", "dr-lee", "physician"), ("sign", "dr-lee", "physician"),
    ]
    assert history[0]["summary"].startswith("Case created: does not meet criteria under cohere-mrs")
    assert history[0]["letter_diff"].startswith("--- no letter")
    assert "+Reviewed with the order form." in history[1]["letter_diff"]
    assert history[3]["summary"].startswith("Signed: does not meet criteria, reviewed version ")
    assert history[3]["summary"].endswith(current["review_hash"][:12])
    admin = client.get(f"/v1/determinations/{record.id}/history", headers=ADMIN).json()
    assert [h["letter_diff"] for h in admin] == [None] * 4  # letter text only for the clinical roles
    assert client.get("/v1/determinations/7f0c1c0e-0000-4000-8000-000000000000/history", headers=NURSE).status_code == 404


def test_a_reading_that_cannot_be_audited_shows_no_documents(api, monkeypatch):
    from mrs_assist.errors import ServiceUnavailableError
    from mrs_assist.records import store as store_module

    client, store, _ = api
    record = store.create(make_request(), make_response(), user=REVIEWER)

    def full_disk(*args, **kwargs):
        raise ServiceUnavailableError("the records database is out of disk space")

    monkeypatch.setattr(store_module, "append_entry", full_disk)
    r = client.get(f"/v1/determinations/{record.id}", headers=NURSE)
    assert r.status_code == 200 and r.json()["id"] == record.id and r.json()["documents"] is None
