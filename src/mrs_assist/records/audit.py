"""The tamper-evident audit trail: an append-only table whose entries hash their predecessor.

Each entry's hash is sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of
``{seq, prev_hash, actor, role, action, at, record_id, details}``. ``details`` holds ids,
outcomes and *hashes* of content — never clinical notes, letter text, override reasons or
any other free text. Each entry for a record also carries the record's state after the
change (``details.state``): a hash of every column of the record's row and of each of its
fact-override and letter-revision rows, the columns read from the table definitions, so a
column added later is covered too. `verify_chain` therefore notices any stored byte changed
behind the store's back, and names the first differing row and column, as well as an
edited, deleted or reordered entry. ``details.review`` holds what a signer reviews
(`mrs_assist.records.review`).

Entries are written in the same transaction as the change they record, after locking the
one-row ``audit_head`` table, so concurrent writers append in order. Database triggers
(created by the migration) refuse UPDATE, DELETE and TRUNCATE on the log.

The hash is an HMAC under a key kept outside the database, and each commit appends a signed
checkpoint of the head to a file outside it (`mrs_assist.records.anchor`): someone who can
write to the database, and even run this module's `append_entry`, can neither re-hash a
forged chain nor truncate its tail without `verify_chain` noticing. Entries written before
the key existed (plain sha256) verify as a legacy prefix only. FHIR Subscriptions are
audited too: an entry naming ``details.subscription`` keeps the hash of the row's settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from mrs_assist.config import Settings
from mrs_assist.records.db import Database, get_engine
from mrs_assist.records.review import review_hash, review_parts
from mrs_assist.records.tables import (
    GENESIS_HASH,
    AuditHeadRow,
    AuditRow,
    Base,
    LetterRow,
    OverrideRow,
    RecordRow,
    SubscriptionRow,
)

HEAD_ID = 1


def canonical_json(value: Any) -> str:
    """`value` as canonical JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_text(text: str | None) -> str | None:
    """Hex sha256 of `text` encoded as UTF-8 (None stays None)."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(
    *,
    seq: int,
    prev_hash: str,
    actor: str,
    role: str,
    action: str,
    at: str,
    record_id: str | None,
    details: dict,
    key: bytes | None = None,
) -> str:
    """The hash an audit entry with these fields must carry: HMAC-SHA256 under `key`
    (plain sha256 without one: entries written before the chain was keyed)."""
    payload = {
        "seq": seq,
        "prev_hash": prev_hash,
        "actor": actor,
        "role": role,
        "action": action,
        "at": at,
        "record_id": record_id,
        "details": details,
    }
    text = canonical_json(payload).encode("utf-8")
    if key is not None:
        return hmac.new(key, text, hashlib.sha256).hexdigest()
    return hashlib.sha256(text).hexdigest()


SUBSCRIPTION_CURSOR = frozenset({"last_event_at", "events"})
"""Columns of a Subscription the notifier moves on every sweep (not audited); the rest is."""


def subscription_state(row: SubscriptionRow) -> dict[str, str]:
    """Hashes of a Subscription's settings columns (endpoint, headers, status, organization, …)."""
    return {k: v for k, v in column_hashes(row).items() if k not in SUBSCRIPTION_CURSOR}


STATE_VERSION = 2
"""``details.state["v"]``: 2 hashes every column of every row (below); entries without it hold
the first version's fewer hashes (`legacy_state`) and are checked against those."""

_ROW_TABLES = ("records", "fact_overrides", "letter_revisions")


def _plain(value: Any) -> Any:
    """A column value as JSON: timestamps as UTC ISO 8601 to the microsecond, the rest as is."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return _iso(aware.astimezone(UTC))
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def row_columns(row: Base) -> dict[str, Any]:
    """Every column the row's table defines, by column name, as JSON values.

    Read from the table definition, so a column a later migration adds (and the table class
    declares) is covered without touching this module.
    """
    mapper = sa_inspect(type(row))
    return {attr.columns[0].name: _plain(getattr(row, attr.key)) for attr in mapper.column_attrs}


def column_hashes(row: Base) -> dict[str, str]:
    """sha256 of each column's canonical JSON value, keyed by column name (what the audit keeps)."""
    return {name: sha256_text(canonical_json(value)) for name, value in row_columns(row).items()}


def record_state(row: RecordRow) -> dict[str, Any]:
    """What the audit trail remembers of a record: a hash of every column of the record's row,
    of each of its fact-override rows and of each of its letter-revision rows (by row id)."""
    return {
        "v": STATE_VERSION,
        "records": column_hashes(row),
        "fact_overrides": {str(o.id): column_hashes(o) for o in row.overrides},
        "letter_revisions": {str(lr.id): column_hashes(lr) for lr in row.letters},
    }


def legacy_state(row: RecordRow) -> dict[str, Any]:
    """The first version's state (hashes of request, response, letter, overrides; status,
    signer, correction): what entries written before migration 0002 hold."""
    overrides = [
        {
            "name": o.name,
            "value": o.value,
            "previous_value": o.previous_value,
            "reason_sha256": sha256_text(o.reason),
            "actor": o.actor,
            "role": o.role,
            "at": _iso(o.at),
        }
        for o in row.overrides
    ]
    return {
        "status": row.status,
        "request_sha256": sha256_text(row.request_json),
        "response_sha256": sha256_text(row.response_json),
        "letter_sha256": sha256_text(row.letter_markdown),
        "overrides_sha256": sha256_text(canonical_json(overrides)),
        "signed_by": row.signed_by,
        "corrects_id": row.corrects_id,
    }


def state_differences(row: RecordRow, state: dict[str, Any]) -> list[str]:
    """Where the record's stored rows differ from an audit entry's `state`, first row first:
    ``"records.recommendation"``, ``"letter_revisions row 7 is missing"``, … (empty: they match)."""
    if state.get("v") != STATE_VERSION:
        return [] if legacy_state(row) == state else ["records (first-version state)"]
    out = [f"records.{c}" for c in _differing(column_hashes(row), state.get("records") or {})]
    for table, rows in (("fact_overrides", row.overrides), ("letter_revisions", row.letters)):
        expected: dict[str, dict] = dict(state.get(table) or {})
        for child in rows:
            seen = expected.pop(str(child.id), None)
            if seen is None:
                out.append(f"{table} row {child.id} is not in the audit trail")
                continue
            out += [f"{table} row {child.id}.{c}" for c in _differing(column_hashes(child), seen)]
        out += [f"{table} row {key} is missing" for key in sorted(expected, key=_as_int)]
    return out


def _differing(actual: dict[str, str], expected: dict[str, str]) -> list[str]:
    return [c for c in dict.fromkeys([*expected, *actual]) if actual.get(c) != expected.get(c)]


def _as_int(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (0, key)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def append_entry(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    at: datetime,
    record: RecordRow | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRow:
    """Add the next entry of the chain inside `session`'s transaction; returns it (flushed)."""
    details = dict(details or {})
    if record is not None:
        session.flush()
        details["state"] = record_state(record)
        parts = review_parts(record)
        details["review"] = {**parts, "hash": review_hash(parts, record.id)}
    if isinstance(details.get("subscription"), str):  # a FHIR Subscription written in this session
        session.flush()
        subscription = session.get(SubscriptionRow, details["subscription"])
        if subscription is not None:
            details["subscription_state"] = subscription_state(subscription)
    details = json.loads(canonical_json(details))  # exactly what verify will re-read
    anchor = session.info.get("audit_anchor")
    if anchor is None:
        raise RuntimeError("audit entries are written through Database.write() (it supplies the chain's key)")
    head = session.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    fields = {
        "seq": head.seq + 1,
        "prev_hash": head.entry_hash,
        "actor": actor,
        "role": role,
        "action": action,
        "at": _iso(at),
        "record_id": record.id if record is not None else None,
    }
    digest = entry_hash(**fields, details=details, key=anchor.key)
    row = AuditRow(**fields, details=canonical_json(details), entry_hash=digest)
    session.add(row)
    head.seq, head.entry_hash = row.seq, digest
    session.flush()
    if not session.info.get("audit_listening"):
        session.info["audit_listening"] = True
        event.listen(session, "after_commit", _checkpoint_after_commit)
    session.info["audit_head"] = (row.seq, digest)
    return row


def _checkpoint_after_commit(session: Session) -> None:
    """Once the change is committed, record the chain's new head outside the database."""
    head = session.info.pop("audit_head", None)
    anchor = session.info.get("audit_anchor")
    if head is not None and anchor is not None:
        anchor.write_checkpoint(*head)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify_chain`: whether the trail is intact and, if not, where it first breaks."""

    ok: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None
    checkpoints: int = 0
    """Checkpoints outside the database that matched the chain."""
    legacy: int = 0
    """Entries from before the chain was keyed (plain sha256; a prefix only)."""

    def summary(self) -> str:
        """One line for `mrs-assist audit verify`."""
        if self.ok:
            extra = f"; {self.legacy} legacy unkeyed entries" if self.legacy else ""
            return (
                f"audit chain OK: {self.entries} entries, head {self.head_hash}, "
                f"{self.checkpoints} checkpoints outside the database match{extra}"
            )
        return f"audit chain BROKEN at entry {self.first_broken_seq}: {self.reason} ({self.entries} entries read)"


def verify_chain(target) -> VerifyResult:
    """Recompute the chain from the first entry; names the first broken entry.

    `target` is a RecordStore, Settings, Database, Engine or URL. Raises ServiceUnavailableError
    when the database cannot be read.
    """
    db = _database(target)
    with db.read() as session:
        if db.dialect == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return _verify(session, db.anchor)


def verify_summary(target) -> tuple[bool, str]:
    """(ok, one-line summary) of `verify_chain(target)`: what the CLI prints and its exit status."""
    result = verify_chain(target)
    return result.ok, result.summary()


def _database(target) -> Database:
    if isinstance(target, Database):
        return target
    if isinstance(target, Engine):
        return Database(target)
    if isinstance(target, str):
        return Database(get_engine(target))
    if isinstance(target, Settings):
        from mrs_assist.records.store import RecordStore

        return RecordStore.from_settings(target).db
    db = getattr(target, "db", None)
    if isinstance(db, Database):
        return db
    raise TypeError(f"cannot verify an audit chain from {type(target).__name__}")


def _verify(session: Session, anchor) -> VerifyResult:
    checkpoints, bad_checkpoints = anchor.checkpoints()
    if bad_checkpoints:
        return VerifyResult(False, 0, None, f"{bad_checkpoints[0]} (the checkpoint file outside the database was altered)")
    wanted = {cp.seq for cp in checkpoints}
    hashes: dict[int, str] = {}
    expected_seq, prev_hash, count, legacy, keyed = 1, GENESIS_HASH, 0, 0, False
    last_state: dict[str, tuple[int, dict]] = {}
    last_subscription: dict[str, tuple[int, dict]] = {}
    rows = session.execute(select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=1000)).scalars()
    for row in rows:
        count += 1

        def broken(seq: int, reason: str) -> VerifyResult:
            return VerifyResult(False, count, seq, reason)

        if row.seq != expected_seq:
            if row.seq > expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing (the next entry is {row.seq})")
            return broken(row.seq, f"entry {row.seq} is out of order (expected {expected_seq})")
        if row.prev_hash != prev_hash:
            return broken(row.seq, "prev_hash does not match the previous entry's hash")
        try:
            details = json.loads(row.details)
        except ValueError:
            return broken(row.seq, "details are not valid JSON")
        if not isinstance(details, dict):
            return broken(row.seq, "details are not a JSON object")
        fields = dict(
            seq=row.seq, prev_hash=row.prev_hash, actor=row.actor, role=row.role, action=row.action,
            at=row.at, record_id=row.record_id, details=details,
        )
        if hmac.compare_digest(entry_hash(**fields, key=anchor.key), row.entry_hash):
            keyed = True
        elif not keyed and entry_hash(**fields) == row.entry_hash:
            legacy += 1  # written before the chain was keyed: only ever a prefix
        else:
            return broken(row.seq, "entry hash does not match its content under the audit key")
        if row.seq in wanted:
            hashes[row.seq] = row.entry_hash
        if row.record_id is not None and isinstance(details.get("state"), dict):
            last_state[row.record_id] = (row.seq, details["state"])
        if isinstance(details.get("subscription"), str) and isinstance(details.get("subscription_state"), dict):
            last_subscription[details["subscription"]] = (row.seq, details["subscription_state"])
        expected_seq, prev_hash = row.seq + 1, row.entry_hash

    last = expected_seq - 1
    # The heads recorded outside the database: a truncated or rewritten chain no longer has them.
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        if cp.seq > last:
            return VerifyResult(
                False, count, last + 1,
                f"entries {last + 1}..{cp.seq} are missing: a checkpoint outside the database records head {cp.seq}",
            )
        if hashes.get(cp.seq) != cp.entry_hash:
            return VerifyResult(False, count, cp.seq, f"entry {cp.seq} differs from its checkpoint outside the database")

    head = session.get(AuditHeadRow, HEAD_ID)
    if head is None:
        return VerifyResult(False, count, expected_seq, "the audit head row is missing")
    if head.seq < last:
        return VerifyResult(False, count, head.seq + 1, f"entries after {head.seq} were not appended by the store")
    if head.seq > last:
        return VerifyResult(False, count, last + 1, f"entries {last + 1}..{head.seq} are missing from the end")
    if head.entry_hash != prev_hash:
        return VerifyResult(False, count, last, "the last entry's hash differs from the one the head records")

    # Every stored row against the state its record's last entry remembers, oldest record first.
    records = select(RecordRow).order_by(RecordRow.created_at, RecordRow.id).execution_options(yield_per=500)
    for record in session.execute(records).scalars():
        seen = last_state.pop(record.id, None)
        if seen is None:
            return VerifyResult(False, count, None, f"records row {record.id} has no audit entry")
        seq, state = seen
        if differences := state_differences(record, state):
            return VerifyResult(
                False,
                count,
                seq,
                f"record {record.id}: {differences[0]} differs from audit entry {seq}"
                + (f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""),
            )
    if last_state:
        record_id, (seq, _) = min(last_state.items(), key=lambda item: item[1][0])
        return VerifyResult(False, count, seq, f"records row {record_id} named by entry {seq} is missing")
    for table in (OverrideRow, LetterRow):
        orphan = session.execute(
            select(table.id).where(table.record_id.not_in(select(RecordRow.id))).order_by(table.id).limit(1)
        ).scalar()
        if orphan is not None:
            return VerifyResult(False, count, None, f"{table.__tablename__} row {orphan} belongs to no record")
    for subscription in session.execute(select(SubscriptionRow).order_by(SubscriptionRow.created_at)).scalars():
        seen = last_subscription.pop(subscription.id, None)
        if seen is None:
            return VerifyResult(False, count, None, f"fhir_subscriptions row {subscription.id} has no audit entry")
        if differing := _differing(subscription_state(subscription), seen[1]):
            return VerifyResult(
                False, count, seen[0],
                f"fhir_subscriptions row {subscription.id}: {differing[0]} differs from audit entry {seen[0]}",
            )
    if last_subscription:
        sub_id, (seq, _) = min(last_subscription.items(), key=lambda item: item[1][0])
        return VerifyResult(False, count, seq, f"fhir_subscriptions row {sub_id} named by entry {seq} is missing")
    return VerifyResult(True, count, None, None, head_hash=prev_hash, checkpoints=len(checkpoints), legacy=legacy)
