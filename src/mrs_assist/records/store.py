"""The record store: stored determinations, their reviewer edits and sign-off, with an audit entry per change.

Status flow: ``draft`` → ``signed``. The store persists and audits, nothing more: who may do
what, which input is valid, the re-run checker behind a fact override and the sign-off rule
are the workflows' (`mrs_assist.service.Services`), which hand the store their results. What
the store itself enforces is integrity: a signature bound to the reviewed version
(`review_hash`), a change applied to the version it was computed from, signed rows that never
change, and rows that still match their audit trail.

A signed record and its letter never change (ConflictError 409; database triggers back this
up). A correction is a new draft record whose ``corrects_id`` names the signed one.

This package never imports the criteria engine or the letter checks.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select

from mrs_assist.users import User
from mrs_assist.clocks import due_at
from mrs_assist.config import Settings
from mrs_assist.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PreconditionRequiredError,
    ServiceUnavailableError,
)
from mrs_assist.records.audit import append_entry, canonical_json, sha256_text, state_differences
from mrs_assist.records.db import Database, database_url, get_engine, upgrade_database, utc_now
from mrs_assist.records.history import history_events
from mrs_assist.records.models import DocumentIndex, HistoryEvent, Record, RecordSummary
from mrs_assist.records.queue import QueueFilter, counted, filtered, ordered
from mrs_assist.records.rows import aware, document_index_json, row_clock, row_summary, to_record
from mrs_assist.records.review import changed_parts, review_hash, review_parts
from mrs_assist.records.tables import AuditRow, LetterRow, OverrideRow, RecordRow
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse

_STATUSES = ("draft", "signed")
MAX_LIST = 1000


def letter_markdown_of(response: DeterminationResponse) -> str | None:
    """The letter text a response carries (``response.letter.markdown``), if any."""
    letter = response.letter
    if letter is not None and letter.markdown.strip():
        return letter.markdown
    return None


def _to_json(model) -> str:
    return canonical_json(model.model_dump(mode="json"))


class RecordStore:
    """Stored determinations over one SQLAlchemy engine; every method is one transaction."""

    def __init__(self, url: str, *, migrate: bool = True, timeout: float | None = None, anchor=None) -> None:
        self.url = url
        if migrate:
            upgrade_database(url, timeout=timeout)
        self.db = Database(get_engine(url, timeout=timeout), anchor=anchor)

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordStore:
        """The store at settings.database_url (default: data_dir/records.sqlite3), migrated if allowed.

        Raises ServiceUnavailableError when the database is down (retry later: nothing is cached).
        """
        from mrs_assist.records.anchor import anchor_for

        url = database_url(settings)
        return cls(
            url,
            migrate=settings.records_auto_migrate,
            timeout=settings.backend_timeout_seconds,
            anchor=anchor_for(url, settings),
        )

    def ping(self) -> None:
        """Raise ServiceUnavailableError unless the database answers ``SELECT 1`` (readiness)."""
        self.db.ping()

    # --- reading ---------------------------------------------------------------------------
    def get(self, id: str) -> Record:
        """The record `id` (raises NotFoundError)."""
        with self.db.read() as session:
            return self._record(session, self._row(session, id))

    def list(
        self,
        status: str | None = None,
        policy_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        *,
        offset: int = 0,
        queue: QueueFilter | None = None,
    ) -> builtins.list[RecordSummary]:
        """Summaries, newest first (or as `queue` sorts), filtered by status, policy, creation time
        [since, until) and `queue`'s work-queue filters; voided cases only when it asks for them."""
        f = self._filter(status, policy_id, since, until, limit, queue)
        if offset < 0:
            raise InvalidRequestError("offset must be 0 or more")
        query = ordered(filtered(select(RecordRow), f, aware=aware), f.sort).limit(limit).offset(offset)
        with self.db.read() as session:
            rows = session.execute(query.execution_options(populate_existing=True)).scalars().all()
            return [row_summary(row) for row in rows]

    def count(
        self, status: str | None = None, policy_id: str | None = None, since: datetime | None = None,
        until: datetime | None = None, *, queue: QueueFilter | None = None,
    ) -> int:
        """How many records `list` would show without a limit."""
        f = self._filter(status, policy_id, since, until, 1, queue)
        with self.db.read() as session:
            return int(session.execute(counted(f, aware=aware)).scalar_one())

    @staticmethod
    def _filter(status, policy_id, since, until, limit, queue: QueueFilter | None) -> QueueFilter:
        if status is not None and status not in _STATUSES:
            raise InvalidRequestError(f"status must be one of {', '.join(_STATUSES)}")
        if not 1 <= limit <= MAX_LIST:
            raise InvalidRequestError(f"limit must be between 1 and {MAX_LIST}")
        base = queue or QueueFilter()
        return dataclasses.replace(base, status=status, policy_id=policy_id, since=since, until=until)

    def open_documents(self, id: str, *, user: User) -> tuple[Record, bool]:
        """The record `id` with `user`'s reading of its documents audited (`view_documents`), and
        True; when that entry cannot be written (a full disk), the record without that audit entry,
        and False: the documents must not be shown. Raises NotFoundError."""
        try:
            with self.db.write() as session:
                row = self._row(session, id)
                append_entry(session, actor=user.name, role=user.role.value, action="view_documents", at=utc_now(), record=row)
                return self._record(session, row), True
        except ServiceUnavailableError:
            return self.get(id), False

    def history_events(self, id: str, *, with_diffs: bool) -> builtins.list[HistoryEvent]:
        """Record `id`'s history in words, oldest first; `with_diffs` adds the letter diffs (raises NotFoundError)."""
        with self.db.read() as session:
            row = self._row(session, id)
            entries = session.execute(select(AuditRow).where(AuditRow.record_id == row.id).order_by(AuditRow.seq)).scalars().all()
            return history_events(list(entries), list(row.letters), with_diffs=with_diffs, aware=aware)

    def history(self, id: str) -> builtins.list[dict[str, Any]]:
        """The audit entries of record `id`, oldest first (raises NotFoundError)."""
        with self.db.read() as session:
            self._row(session, id)
            rows = session.execute(select(AuditRow).where(AuditRow.record_id == id).order_by(AuditRow.seq)).scalars()
            return [
                {"seq": r.seq, "at": r.at, "actor": r.actor, "role": r.role, "action": r.action, "entry_hash": r.entry_hash}
                for r in rows
            ]

    # --- writing ---------------------------------------------------------------------------
    def create(
        self, request: DeterminationRequest, response: DeterminationResponse, *, user: User,
        submitter_ref: str | None = None, documents: builtins.list[DocumentIndex] | None = None,
    ) -> Record:
        """Store a new draft determination.

        ``submitter_ref`` is the 'system|value' of a FHIR PAS Claim.identifier, found again by `find_submitted`.
        ``documents`` say where each document (a PDF page, a scan) sits in the request's notes;
        without them the notes are one typed document.
        """
        index = document_index_json(request.clinical_notes, documents)
        with self.db.write() as session:
            row = self._new_row(
                session, request, response, user=user, corrects_id=None, submitter_ref=submitter_ref, documents=index
            )
            return self._record(session, row)

    def assign(self, id: str, assignee: str | None, routed_to: str | None, *, user: User) -> Record:
        """Assign draft `id` to `assignee` (None: nobody) and route it (``'physician'``) or not;
        audited. Raises ConflictError once signed or voided."""
        with self.db.write() as session:
            row = self._row(session, id, lock=True)
            _require_draft(row, "its assignment")
            now = utc_now()
            row.assignee, row.routed_to, row.updated_at = assignee, routed_to, now
            append_entry(
                session, actor=user.name, role=user.role.value, action="assign", at=now, record=row,
                details={"assignee": assignee, "routed_to": routed_to},
            )
            return self._record(session, row)

    def void(self, id: str, reason: str, *, user: User) -> Record:
        """Mark draft `id` as a mistake: kept, excluded from lists and reports, never signed;
        audited. Raises ConflictError once signed (correct it instead) or already voided."""
        with self.db.write() as session:
            row = self._row(session, id, lock=True)
            _require_draft(row, "its status")
            now = utc_now()
            row.voided_at, row.voided_by, row.void_reason, row.updated_at = now, user.name, reason, now
            append_entry(
                session, actor=user.name, role=user.role.value, action="void", at=now, record=row,
                details={"reason_sha256": sha256_text(reason)},
            )
            return self._record(session, row)

    def find_submitted(self, submitter_ref: str) -> Record:
        """The newest record stored for the PAS claim identifier `submitter_ref` (raises NotFoundError)."""
        with self.db.read() as session:
            row = session.execute(
                select(RecordRow).where(RecordRow.submitter_ref == submitter_ref)
                .order_by(RecordRow.created_at.desc()).limit(1)
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError("no prior-authorization request with that claim identifier")
            return self._record(session, row)

    def find_claims(self, values: builtins.list[str]) -> builtins.list[Record]:
        """Every record stored for a PAS claim identifier whose value is one of `values` (any
        system), newest first; the FHIR layer decides which of them the caller may match."""
        values = [v for v in values if v and len(v) <= 300][:10]
        if not values:
            return []

        def escaped(v: str) -> str:
            return v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        with self.db.read() as session:
            rows = session.execute(
                select(RecordRow).where(or_(*(RecordRow.submitter_ref.like(f"%|{escaped(v)}", escape="\\") for v in values)))
                .order_by(RecordRow.created_at.desc()).limit(200)
            ).scalars().all()
            return [self._record(session, row) for row in rows if row.submitter_ref.split("|", 1)[-1] in values]

    def changed_submissions(self, since: datetime | None, until: datetime) -> builtins.list[Record]:
        """Records of FHIR PAS requests changed in (since, until], oldest change first (for rest-hook notices)."""
        query: Select = select(RecordRow).where(RecordRow.submitter_ref.is_not(None), RecordRow.updated_at <= aware(until))
        if since is not None:
            query = query.where(RecordRow.updated_at > aware(since))
        with self.db.read() as session:
            rows = session.execute(query.order_by(RecordRow.updated_at, RecordRow.id)).scalars().all()
            return [self._record(session, row) for row in rows]

    def summaries(self, since: datetime | None = None, until: datetime | None = None) -> builtins.list[RecordSummary]:
        """Every record created in [since, until), oldest first, with its clock (for reports; no
        limit; voided cases left out)."""
        query: Select = select(RecordRow).where(RecordRow.voided_at.is_(None))
        if since is not None:
            query = query.where(RecordRow.created_at >= aware(since))
        if until is not None:
            query = query.where(RecordRow.created_at < aware(until))
        with self.db.read() as session:
            rows = session.execute(query.order_by(RecordRow.created_at, RecordRow.id)).scalars().all()
            return [row_summary(row) for row in rows]

    def extend(self, id: str, days: int, reason: str, *, user: User) -> Record:
        """Record an extension of the decision clock by `days` for `reason` (once per record;
        raises ConflictError once signed or already extended)."""
        with self.db.write() as session:
            row = self._row(session, id, lock=True)
            _require_draft(row, "its decision timeframe")
            if row.extension_days:
                raise ConflictError(f"determination {row.id} was already extended; only one extension is allowed")
            clock = row_clock(row)
            now = utc_now()
            row.extension_days, row.extension_reason, row.extended_at, row.extended_by = days, reason, now, user.name
            row.urgency, row.received_at = clock.urgency, clock.received_at
            row.due_at = due_at(clock.received_at, clock.urgency, extension_days=days)
            row.updated_at = now
            append_entry(
                session,
                actor=user.name,
                role=user.role.value,
                action="extend",
                at=now,
                record=row,
                details={"days": days, "due_at": row.due_at.isoformat(), "reason_sha256": sha256_text(reason)},
            )
            return self._record(session, row)

    def correct(
        self, id: str, *, user: User, request: DeterminationRequest, response: DeterminationResponse
    ) -> Record:
        """A new draft that corrects the signed record `id` (raises NotFoundError, ConflictError if `id` is a draft)."""
        with self.db.write() as session:
            original = self._row(session, id, lock=True)
            if original.status != "signed":
                raise ConflictError(f"determination {id} is a draft: change it instead of correcting it")
            row = self._new_row(
                session, request, response, user=user, corrects_id=original.id, submitter_ref=original.submitter_ref
            )
            return self._record(session, row)

    def override_fact(
        self, id: str, name: str, value: bool | None, reason: str, *, user: User,
        response: DeterminationResponse, computed_from: str,
    ) -> Record:
        """Store the override of fact `name` to `value` for `reason` with `response`, the checker's
        answer re-run on the record whose ``review_hash`` was `computed_from` (`override_inputs`).

        Raises ConflictError once signed, or ``record_changed`` when the record changed since.
        """
        with self.db.write() as session:
            row = self._row(session, id, lock=True)
            _require_draft(row, "its facts")
            self._require_intact(session, row)
            if review_hash(review_parts(row), row.id) != computed_from:
                raise ConflictError(f"determination {row.id} changed while its facts were re-checked; try again",
                                    code="record_changed")
            before = DeterminationResponse.model_validate_json(row.response_json)
            after = response
            if after.policy_id != row.policy_id:
                raise InvalidRequestError("recompute answered for another policy")
            previous = next((f.value for f in before.facts if f.name == name), None)
            now = utc_now()
            row.overrides.append(
                OverrideRow(
                    name=name,
                    value=value,
                    previous_value=previous,
                    reason=reason,
                    recommendation_before=before.recommendation,
                    recommendation_after=after.recommendation,
                    actor=user.name,
                    role=user.role.value,
                    at=now,
                )
            )
            _set_response(row, after, now)
            letter = letter_markdown_of(after)
            if letter is not None and letter != row.letter_markdown:
                self._add_letter(row, letter, "regenerated", user, now)
            append_entry(
                session,
                actor=user.name,
                role=user.role.value,
                action="override_fact",
                at=now,
                record=row,
                details={
                    "fact": name,
                    "value": value,
                    "previous_value": previous,
                    "reason_sha256": sha256_text(reason),
                    "recommendation_before": before.recommendation,
                    "recommendation_after": after.recommendation,
                },
            )
            return self._record(session, row)

    def edit_letter(self, id: str, markdown: str, *, user: User, html: str) -> Record:
        """Replace the letter with the reviewer's `markdown` (raises ConflictError once signed).

        `html` is the same text rendered (the service renders it from `markdown`; the store renders
        nothing): the stored response's letter then carries both, so Markdown, HTML and PDF never
        disagree.
        """
        with self.db.write() as session:
            row = self._row(session, id, lock=True)
            _require_draft(row, "its letter")
            if markdown == row.letter_markdown:
                return self._record(session, row)
            self._require_intact(session, row)
            previous = sha256_text(row.letter_markdown)
            now = utc_now()
            self._add_letter(row, markdown, "edit", user, now)
            response = DeterminationResponse.model_validate_json(row.response_json)
            if response.letter is not None:
                response.letter = response.letter.model_copy(update={"markdown": markdown, "html": html})
                row.response_json = _to_json(response)
            row.updated_at = now
            append_entry(
                session,
                actor=user.name,
                role=user.role.value,
                action="edit_letter",
                at=now,
                record=row,
                details={"previous_letter_sha256": previous},
            )
            return self._record(session, row)

    def sign(self, id: str, *, user: User, review_hash: str | None, details: dict[str, Any] | None = None) -> Record:
        """Sign the draft `id` as reviewed: `review_hash` is the record's ``review_hash`` the
        signer saw (`mrs_assist.records.review`), which the workflow authorized `user` to sign
        (`mrs_assist.signoff`); `details` go into the audit entry.

        Raises PreconditionRequiredError (428) without a hash; ConflictError (409) when the record
        is signed, changed since that hash (naming what changed) or no longer matches its audit trail.
        """
        with self.db.write() as session:
            row = self._row(session, id, lock=True)
            self._require_signable(session, row, review_hash)
            now = utc_now()
            row.status, row.signed_by, row.signed_role, row.signed_at, row.updated_at = (
                "signed",
                user.name,
                user.role.value,
                now,
                now,
            )
            append_entry(
                session,
                actor=user.name,
                role=user.role.value,
                action="sign",
                at=now,
                record=row,
                details={
                    "recommendation": row.recommendation,
                    "policy_version": row.policy_version,
                    "reviewed_hash": review_hash,
                    **(details or {}),
                },
            )
            return self._record(session, row)

    @staticmethod
    def _require_intact(session, row: RecordRow) -> None:
        """Raise ConflictError unless the record's stored rows are what its last audit entry says."""
        entry = session.execute(
            select(AuditRow).where(AuditRow.record_id == row.id).order_by(AuditRow.seq.desc()).limit(1)
        ).scalar_one_or_none()
        state = json.loads(entry.details).get("state") if entry is not None else None
        if not isinstance(state, dict) or state_differences(row, state):
            raise ConflictError(
                f"determination {row.id} does not match its audit trail and cannot be changed or signed; "
                "run `mrs-assist audit verify`",
                code="record_integrity",
            )

    def require_signable(self, id: str, review_hash: str | None) -> Record:
        """Record `id` if `sign` would accept `review_hash` now (the workflow checks it before
        deciding who may sign); raises as `sign` does."""
        with self.db.read() as session:
            row = self._row(session, id)
            self._require_signable(session, row, review_hash)
            return self._record(session, row)

    def _require_signable(self, session, row: RecordRow, review_hash: str | None) -> None:
        if row.status == "signed":
            raise ConflictError(f"determination {row.id} is already signed by {row.signed_by}")
        _require_draft(row, "its status")
        if not review_hash:
            raise PreconditionRequiredError(
                "a sign-off must carry the review_hash of the record you reviewed "
                "(GET the determination, review it, and send its review_hash)",
                code="review_hash_required",
            )
        self._require_intact(session, row)
        self._require_reviewed(session, row, review_hash)

    @staticmethod
    def _require_reviewed(session, row: RecordRow, reviewed: str) -> None:
        """Raise ConflictError naming what changed unless `reviewed` is the record's review hash now."""
        parts = review_parts(row)
        if reviewed == review_hash(parts, row.id):
            return
        before = None
        for entry in session.execute(
            select(AuditRow.details).where(AuditRow.record_id == row.id).order_by(AuditRow.seq.desc())
        ).scalars():
            review = json.loads(entry).get("review")
            if isinstance(review, dict) and review.get("hash") == reviewed:
                before = review
                break
        if before is None:
            raise ConflictError(
                f"determination {row.id} is not in the state you reviewed (the review_hash is not one of "
                "its versions): reload it, review it and sign again",
                code="record_changed",
            )
        changed = changed_parts(before, parts)
        raise ConflictError(
            f"determination {row.id} changed since you reviewed it ({', '.join(changed)} changed): "
            "reload it, review it and sign again",
            code="record_changed",
        )

    # --- helpers ---------------------------------------------------------------------------
    def _new_row(
        self,
        session,
        request: DeterminationRequest,
        response: DeterminationResponse,
        *,
        user: User,
        corrects_id: str | None,
        submitter_ref: str | None = None,
        documents: str | None = None,
    ) -> RecordRow:
        if request.policy_id != response.policy_id:
            raise InvalidRequestError("the response answers another policy than the request names")
        now = utc_now()
        row = RecordRow(
            id=str(uuid.uuid4()),
            status="draft",
            request_json=_to_json(request),
            letter_markdown=None,
            created_at=now,
            created_by=user.name,
            created_role=user.role.value,
            corrects_id=corrects_id,
            urgency=request.urgency,
            received_at=now,
            due_at=due_at(now, request.urgency),
            submitter_ref=submitter_ref,
            member_name=request.member.name if request.member else None,
            member_ref=request.member.id if request.member else None,
            provider_name=request.provider.name if request.provider else None,
            documents_json=documents,
        )
        _set_response(row, response, now)
        session.add(row)
        letter = letter_markdown_of(response)
        if letter is not None:
            self._add_letter(row, letter, "draft", user, now)
        append_entry(
            session,
            actor=user.name,
            role=user.role.value,
            action="correct" if corrects_id else "create",
            at=now,
            record=row,
            details={
                "policy_id": response.policy_id,
                "policy_version": response.policy_version,
                "recommendation": response.recommendation,
                "corrects_id": corrects_id,
            },
        )
        return row

    @staticmethod
    def _add_letter(row: RecordRow, markdown: str, source: str, user: User, at: datetime) -> None:
        row.letters.append(LetterRow(markdown=markdown, source=source, actor=user.name, role=user.role.value, at=at))
        row.letter_markdown = markdown

    @staticmethod
    def _row(session, id: str, *, lock: bool = False) -> RecordRow:
        try:
            key = str(uuid.UUID(str(id)))
        except ValueError:
            raise NotFoundError("no determination with that id") from None
        query = select(RecordRow).where(RecordRow.id == key)
        if lock:
            query = query.with_for_update()
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            raise NotFoundError("no determination with that id")
        return row

    @staticmethod
    def _record(session, row: RecordRow) -> Record:
        return to_record(session, row)


def _set_response(row: RecordRow, response: DeterminationResponse, now: datetime) -> None:
    row.response_json = _to_json(response)
    row.policy_id = response.policy_id
    row.policy_version = response.policy_version
    row.recommendation = response.recommendation
    row.requires_physician_review = response.requires_physician_review
    row.updated_at = now


def _require_draft(row: RecordRow, what: str) -> None:
    if row.voided_at is not None:
        raise ConflictError(f"determination {row.id} was voided by {row.voided_by}; {what} cannot change")
    if row.status != "signed":
        return
    raise ConflictError(
        f"determination {row.id} is signed and immutable; {what} cannot change — "
        "create a correction (a new record with corrects_id)"
    )


__all__ = ["RecordStore", "letter_markdown_of"]
