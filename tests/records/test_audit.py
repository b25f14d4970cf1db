"""The hash-chained audit trail: intact chains verify; edited, deleted, reordered entries are named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from test_postgres import postgres_server, postgres_url  # noqa: F401
from test_records import HTML, NOTES, PHYSICIAN, REVIEWER, db_url, fake_recompute, make_request, make_response, override, sign_as_drafted  # noqa: F401

from mrs_assist.records import RecordStore, verify_chain, verify_summary
from mrs_assist.records.audit import canonical_json, entry_hash
from mrs_assist.records.db import get_engine

REASON = "Outside MRI report dated 3/4 calls the lesion equivocal"
LETTER = "Dear Dr. Rivera, the requested spectroscopy is approved for Jane Roe."


@pytest.fixture()
def chain(db_url):
    """A store with five audit entries over two records."""
    store = RecordStore(db_url)
    a = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)  # 1
    store.edit_letter(a.id, LETTER, user=REVIEWER, html=HTML)  # 2
    b = store.create(make_request(), make_response(), user=REVIEWER)  # 3
    override(store, b.id, "conventional_imaging_inconclusive", True, REASON, user=PHYSICIAN, recompute=fake_recompute)  # 4
    sign_as_drafted(store, a.id, user=REVIEWER, review_hash=store.get(a.id).review_hash)  # 5
    return store, a.id, b.id


def tamper(url: str, *statements: str, **params) -> None:
    """Run raw SQL with the guard triggers out of the way, as an attacker with database access would."""
    engine = get_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("audit_log", "records", "fact_overrides", "letter_revisions"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
            for name in names:
                conn.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            conn.execute(text(statement), params)
        if engine.dialect.name == "postgresql":
            for table in ("audit_log", "records", "fact_overrides", "letter_revisions"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def test_intact_chain_verifies(chain):
    store, _, _ = chain
    result = verify_chain(store)
    assert (result.ok, result.entries, result.first_broken_seq, result.reason) == (True, 5, None, None)
    ok, line = verify_summary(store.url)
    assert verify_summary(store) == (ok, line)
    assert ok and line == f"audit chain OK: 5 entries, head {result.head_hash}, 5 checkpoints outside the database match"
    assert "\n" not in line


def test_empty_database_verifies(db_url):
    store = RecordStore(db_url)
    result = verify_chain(store.db.engine)
    assert result.ok and result.entries == 0


def test_entries_hash_their_predecessor(chain):
    store, _, _ = chain
    with get_engine(store.url).connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == "0" * 64
    for prev, row in zip(rows, rows[1:]):
        assert row["prev_hash"] == prev["entry_hash"]
    first = rows[0]
    assert first["entry_hash"] == entry_hash(
        seq=1, prev_hash="0" * 64, actor=first["actor"], role=first["role"], action=first["action"],
        at=first["at"], record_id=first["record_id"], details=json.loads(first["details"]), key=store.db.anchor.key,
    )
    assert first["at"].endswith("+00:00")


def test_audit_holds_hashes_never_free_text(chain):
    store, _, _ = chain
    with get_engine(store.url).connect() as conn:
        dump = json.dumps([dict(r) for r in conn.execute(text("SELECT * FROM audit_log")).mappings()], default=str)
    for secret in (NOTES, "glioblastoma", REASON, "equivocal", LETTER, "Rivera", "Outcome:"):
        assert secret not in dump
    override = json.loads(dump)[3]
    details = json.loads(override["details"])
    assert details["fact"] == "conventional_imaging_inconclusive" and len(details["reason_sha256"]) == 64


def test_database_refuses_to_update_or_delete_entries(chain):
    store, _, _ = chain
    for statement in ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 5"):
        with pytest.raises(DBAPIError, match="mrs-assist"):
            with get_engine(store.url).begin() as conn:
                conn.execute(text(statement))
    assert verify_chain(store).ok


def test_audit_entry_is_written_in_the_same_transaction(chain, monkeypatch):
    store, _, b = chain
    import mrs_assist.records.store as store_module

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "append_entry", failing)
    with pytest.raises(RuntimeError):
        store.create(make_request(), make_response(), user=REVIEWER)
    with pytest.raises(RuntimeError):
        store.edit_letter(b, "never saved", user=REVIEWER, html=HTML)
    assert len(store.list()) == 2
    assert store.get(b).letter_markdown != "never saved"
    assert verify_chain(store).entries == 5


@pytest.mark.parametrize(
    ("statements", "broken", "reason"),
    [
        (["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"], 3, "entry hash does not match"),
        (["UPDATE audit_log SET at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 2"], 2, "entry hash does not match"),
        (["UPDATE audit_log SET details = replace(details, 'needs_more_information', 'meets_criteria') WHERE seq = 4"], 4,
         "entry hash does not match"),
        (["UPDATE audit_log SET details = 'not json' WHERE seq = 1"], 1, "not valid JSON"),
        (["DELETE FROM audit_log WHERE seq = 3"], 3, "entry 3 is missing"),
        (["DELETE FROM audit_log WHERE seq = 1"], 1, "entry 1 is missing"),
        (
            [
                "UPDATE audit_log SET seq = 1000 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 1000",
            ],
            2,
            "",
        ),
        (["DELETE FROM audit_log WHERE seq = 5"], 5, "missing"),
        (["UPDATE audit_log SET prev_hash = entry_hash WHERE seq = 4"], 4, "prev_hash"),
    ],
    ids=["edit-actor", "edit-time", "edit-details", "garble-details", "delete-middle", "delete-first", "reorder",
         "truncate-tail", "relink"],
)
def test_tampering_names_the_first_broken_entry(chain, statements, broken, reason):
    store, _, _ = chain
    tamper(store.url, *statements)
    result = verify_chain(store)
    assert not result.ok
    assert result.first_broken_seq == broken, result.summary()
    assert reason in result.reason
    assert result.summary().startswith(f"audit chain BROKEN at entry {broken}:")


def test_rehashed_forgery_is_refused_at_the_forged_entry(chain):
    """Re-hashed without the key (plain sha256, as on main), the forged entry itself fails."""
    store, _, _ = chain
    with get_engine(store.url).connect() as conn:
        row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
    forged = entry_hash(
        seq=2, prev_hash=row["prev_hash"], actor="mallory", role=row["role"], action=row["action"], at=row["at"],
        record_id=row["record_id"], details=json.loads(row["details"]),
    )
    tamper(store.url, "UPDATE audit_log SET actor = 'mallory', entry_hash = :h WHERE seq = 2", h=forged)
    result = verify_chain(store)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "under the audit key" in result.reason


def test_forged_entry_appended_behind_the_store_is_caught(chain):
    store, a, _ = chain
    with get_engine(store.url).connect() as conn:
        tip = conn.execute(text("SELECT entry_hash FROM audit_log WHERE seq = 5")).scalar_one()
    details = {"note": "forged"}
    digest = entry_hash(seq=6, prev_hash=tip, actor="mallory", role="physician", action="sign", at="x", record_id=a,
                        details=details)
    tamper(
        store.url,
        "INSERT INTO audit_log (seq, at, actor, role, action, record_id, details, prev_hash, entry_hash) "
        "VALUES (6, 'x', 'mallory', 'physician', 'sign', :a, :d, :p, :h)",
        a=a, d=canonical_json(details), p=tip, h=digest,
    )
    result = verify_chain(store)
    assert (result.ok, result.first_broken_seq) == (False, 6)


def test_record_changed_behind_the_store_is_caught(chain):
    store, a, b = chain
    tamper(store.url, "UPDATE records SET letter_markdown = 'forged letter' WHERE id = :a", a=a)
    result = verify_chain(store)
    assert (result.ok, result.first_broken_seq) == (False, 5)
    assert a in result.reason


def test_draft_response_changed_behind_the_store_is_caught(chain):
    store, _, b = chain
    # Drafts are not trigger-protected (they still change), but only through the store.
    with get_engine(store.url).begin() as conn:
        conn.execute(
            text("UPDATE records SET response_json = replace(response_json, 'meets_criteria', 'does_not_meet_criteria') "
                 "WHERE id = :b"),
            {"b": b},
        )
    result = verify_chain(store)
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_forged_override_reason_is_caught(chain):
    store, _, b = chain
    tamper(store.url, "UPDATE fact_overrides SET reason = 'a better story' WHERE record_id = :b", b=b)
    result = verify_chain(store)
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_verify_from_settings_opens_the_default_sqlite_file(tmp_path):
    from mrs_assist.config import Settings
    from mrs_assist.records import dispose_engine

    settings = Settings(data_dir=tmp_path, database_url=None)
    store = RecordStore.from_settings(settings)
    store.create(make_request(), make_response(), user=REVIEWER)
    ok, line = verify_summary(settings)
    assert ok and line.startswith("audit chain OK: 1 entries, head ")
    dispose_engine(store.url)
