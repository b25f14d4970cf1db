"""A keyed, anchored audit chain (issue 19 item 4): forgeries by someone who can write to the
database — re-hashed chains, tail truncation with the head fixed, re-attribution, deletion, an
unaudited Subscription — are caught by `audit verify`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
import uuid

import pytest
from sqlalchemy import select, text
from test_audit import tamper
from test_postgres import postgres_server, postgres_url  # noqa: F401
from test_records import PHYSICIAN, REVIEWER, db_url, make_request, make_response, sign_as_drafted  # noqa: F401

from mrs_assist.config import Settings
from mrs_assist.records import RecordStore, dispose_engine, verify_chain
from mrs_assist.records.anchor import AuditAnchor, anchor_for
from mrs_assist.records.audit import append_entry, entry_hash
from mrs_assist.records.db import Database, get_engine, utc_now
from mrs_assist.records.tables import AuditHeadRow, AuditRow, RecordRow, SubscriptionRow

ATTACKER = AuditAnchor(key=b"mallory-knows-sql-not-the-key", checkpoint_file=None)


@pytest.fixture()
def chain(db_url, tmp_path):
    """An adverse draft and a signed approval (4 entries), the store anchored in tmp_path."""
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    store = RecordStore(db_url, anchor=anchor_for(db_url, settings))
    draft = store.create(make_request(), make_response("does_not_meet_criteria"), user=REVIEWER)
    signed = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    sign_as_drafted(store, signed.id, user=REVIEWER, review_hash=store.get(signed.id).review_hash)
    assert verify_chain(store).ok
    return store, draft.id, signed.id


def _rehash(store: RecordStore, key: bytes | None) -> None:
    """Recompute every entry's hash and the head, as a forger would (with `key`, or plain sha256)."""
    engine = get_engine(store.url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
    statements, params, prev = [], {}, "0" * 64
    for i, r in enumerate(rows):
        digest = entry_hash(seq=r["seq"], prev_hash=prev, actor=r["actor"], role=r["role"], action=r["action"], at=r["at"],
                            record_id=r["record_id"], details=json.loads(r["details"]), key=key)
        statements.append(f"UPDATE audit_log SET prev_hash = :p{i}, entry_hash = :h{i} WHERE seq = :s{i}")
        params |= {f"p{i}": prev, f"h{i}": digest, f"s{i}": r["seq"]}
        prev = digest
    statements.append("UPDATE audit_head SET seq = :hs, entry_hash = :hh WHERE id = 1")
    params |= {"hs": rows[-1]["seq"] if rows else 0, "hh": prev}
    tamper(store.url, *statements, **params)


def _state_of(store: RecordStore, record_id: str) -> dict:
    from mrs_assist.records.audit import record_state

    with store.db.read() as session:
        return record_state(session.get(RecordRow, record_id))


# Each forgery: what it does through SQL (and the library), then the chain re-hashed by the forger.
def _approve_the_denial_with_append_entry(store, draft, signed):
    """Issue 19 item 4 as reported: the denial flipped to an approval, then the library's own
    append_entry writes a matching entry — in a session keyed by the attacker."""
    tamper(store.url, "UPDATE records SET recommendation = 'meets_criteria' WHERE id = :d", d=draft)
    db = Database(get_engine(store.url), anchor=ATTACKER)
    with db.write() as session:
        row = session.get(RecordRow, draft)
        append_entry(session, actor="nurse-ann", role="reviewer", action="override_fact", at=utc_now(), record=row)


def _truncate_tail_with_head_fixed(store, draft, signed):
    with get_engine(store.url).connect() as conn:
        prev = conn.execute(text("SELECT seq, entry_hash FROM audit_log WHERE seq = 2")).one()
    tamper(store.url, "DELETE FROM audit_log WHERE seq > 2", "UPDATE records SET status = 'draft', signed_by = NULL, "
           "signed_role = NULL, signed_at = NULL WHERE id = :s", "UPDATE audit_head SET seq = :q, entry_hash = :h WHERE id = 1",
           s=signed, q=prev[0], h=prev[1])


def _reattribute_signature_rehashed(store, draft, signed):
    tamper(store.url, "UPDATE records SET signed_by = 'dr-lee', signed_role = 'physician' WHERE id = :s",
           "UPDATE audit_log SET actor = 'dr-lee', role = 'physician' WHERE action = 'sign'", s=signed)
    state = _state_of(store, signed)
    tamper(store.url, "UPDATE audit_log SET details = :d WHERE action = 'sign'",
           d=json.dumps({**_details(store, "sign"), "state": state}, sort_keys=True, separators=(",", ":")))
    _rehash(store, None)


def _delete_record_rehashed(store, draft, signed):
    tamper(store.url, "DELETE FROM letter_revisions WHERE record_id = :d", "DELETE FROM fact_overrides WHERE record_id = :d",
           "DELETE FROM records WHERE id = :d", "DELETE FROM audit_log WHERE record_id = :d", d=draft)
    tamper(store.url, "UPDATE audit_log SET seq = seq - 1")
    _rehash(store, ATTACKER.key)


def _rehash_whole_chain_unkeyed(store, draft, signed):
    tamper(store.url, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    _rehash(store, None)


def _rehash_whole_chain_wrong_key(store, draft, signed):
    tamper(store.url, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    _rehash(store, ATTACKER.key)


def _forge_a_checkpoint(store, draft, signed):
    path = store.db.anchor.checkpoint_file
    lines = path.read_text().splitlines()
    forged = json.loads(lines[-1]) | {"seq": 2}
    path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")


def _details(store, action: str) -> dict:
    with get_engine(store.url).connect() as conn:
        return json.loads(conn.execute(text("SELECT details FROM audit_log WHERE action = :a"), {"a": action}).scalar_one())


FORGERIES = {
    "denial approved with append_entry": _approve_the_denial_with_append_entry,
    "tail truncated, head fixed": _truncate_tail_with_head_fixed,
    "signature re-attributed, chain re-hashed (sha256)": _reattribute_signature_rehashed,
    "record deleted, chain re-hashed (own key)": _delete_record_rehashed,
    "whole chain re-hashed unkeyed": _rehash_whole_chain_unkeyed,
    "whole chain re-hashed with another key": _rehash_whole_chain_wrong_key,
    "checkpoint line edited": _forge_a_checkpoint,
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forgeries_by_a_database_writer_are_detected(chain, forgery):
    store, draft, signed = chain
    FORGERIES[forgery](store, draft, signed)
    result = verify_chain(store)
    assert not result.ok, forgery
    assert "BROKEN" in result.summary()


def test_the_key_lives_outside_the_database(chain):
    store, _, _ = chain
    key_file = store.db.anchor.checkpoint_file.parent / "audit.key"
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_bytes().strip()
    assert store.db.anchor.key == key
    with get_engine(store.url).connect() as conn:
        dump = " ".join(str(v) for t in ("audit_log", "audit_head", "records") for r in conn.execute(text(f"SELECT * FROM {t}")) for v in r)
    assert key.decode() not in dump
    # a configured key wins over the file, and the same store verifies only under its own key
    other = RecordStore(store.url, migrate=False, anchor=anchor_for(store.url, Settings(audit_key="k" * 32)))
    assert not verify_chain(other).ok


def test_each_commit_writes_a_signed_checkpoint(chain):
    store, _, _ = chain
    lines = [json.loads(line) for line in store.db.anchor.checkpoint_file.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert all(len(line["mac"]) == 64 for line in lines)
    assert verify_chain(store).checkpoints == 3


def _subscribe(store: RecordStore) -> str:
    now = utc_now()
    row = SubscriptionRow(id=str(uuid.uuid4()), status="active", org_identifier="org-1", endpoint="http://127.0.0.1:9/hook",
                          payload_content="id-only", headers_json="[]", created_at=now, created_by="nurse-ann",
                          last_event_at=now, events=0)
    with store.db.write() as session:  # what fhir/subscriptions.py does
        session.add(row)
        append_entry(session, actor="nurse-ann", role="reviewer", action="fhir_subscribe", at=now,
                     details={"subscription": row.id, "status": row.status})
    return row.id


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("UPDATE fhir_subscriptions SET endpoint = 'http://attacker.example/hook' WHERE id = :s", "endpoint"),
        ("UPDATE fhir_subscriptions SET headers_json = '[[\"Authorization\", \"x\"]]' WHERE id = :s", "headers_json"),
        ("UPDATE fhir_subscriptions SET org_identifier = 'org-2' WHERE id = :s", "org_identifier"),
        ("DELETE FROM fhir_subscriptions WHERE id = :s", "is missing"),
        ("INSERT INTO fhir_subscriptions (id, status, org_identifier, endpoint, payload_content, headers_json, created_at, "
         "created_by, last_event_at, events) VALUES ('00000000-0000-4000-8000-000000000000', 'active', NULL, "
         "'http://attacker.example/', 'full-resource', '[]', '2030-01-01 00:00:00', 'x', NULL, 0)", "has no audit entry"),
    ],
    ids=["endpoint", "headers", "organization", "deleted", "inserted"],
)
def test_subscription_writes_are_audited(chain, sql, named):
    store, _, _ = chain
    sub = _subscribe(store)
    tamper(store.url, "UPDATE fhir_subscriptions SET events = 3, last_event_at = '2031-01-01 00:00:00'")  # the notifier's cursor
    assert verify_chain(store).ok
    tamper(store.url, sql, **({"s": sub} if ":s" in sql else {}))
    result = verify_chain(store)
    assert not result.ok and "fhir_subscriptions" in result.reason and named in result.reason, result.reason


def test_a_legacy_unkeyed_prefix_still_verifies(db_url, tmp_path):
    """Entries written before this change (plain sha256) verify as a prefix; keyed ones follow."""
    store = RecordStore(db_url, anchor=AuditAnchor(key=b"k" * 32, checkpoint_file=None))
    first = store.create(make_request(), make_response(), user=REVIEWER)
    _rehash(store, None)  # as main wrote it
    store.create(make_request(), make_response(), user=REVIEWER)
    result = verify_chain(store)
    assert result.ok and result.legacy == 1 and first.id
    with store.db.read() as session:
        assert session.execute(select(AuditHeadRow)).scalar_one().seq == 2
        assert len(session.execute(select(AuditRow)).all()) == 2


def test_postgres_application_role_cannot_rewrite_the_audit_log(postgres_url):
    """Where the application connects as its own role: the audit log is append-only for it by
    privilege too, and it cannot disable the triggers (it does not own the tables)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from mrs_assist.errors import ConfigError
    from mrs_assist.records.db import grant_application_role

    RecordStore(postgres_url)  # migrated by the owner
    role = "app_" + uuid.uuid4().hex[:10]
    owner = make_url(postgres_url)
    admin_dsn = owner.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        grant_application_role(postgres_url, role)
        app_url = owner.set(username=role).render_as_string(hide_password=False)
        store = RecordStore(app_url, migrate=False, anchor=AuditAnchor(key=b"k" * 32, checkpoint_file=None))
        record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
        sign_as_drafted(store, record.id, user=REVIEWER, review_hash=store.get(record.id).review_hash)
        assert verify_chain(store).ok
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                          "ALTER TABLE audit_log DISABLE TRIGGER USER"):
            with pytest.raises(Exception, match="permission denied|must be owner"):
                with get_engine(app_url).begin() as conn:
                    conn.execute(text(statement))
        dispose_engine(app_url)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
    with pytest.raises(ConfigError):
        grant_application_role(postgres_url, "bad name; drop table records")
