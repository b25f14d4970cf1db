"""Rows of the records tables → the models the store returns (`Record`, `RecordSummary`,
`RecordClock`, the case's documents). Reading only: the store writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from mrs_assist.clocks import due_at
from mrs_assist.errors import InvalidRequestError
from mrs_assist.records.audit import canonical_json
from mrs_assist.records.models import (
    CONTRADICTION_MARK,
    CaseDocument,
    DocumentIndex,
    FactOverride,
    LetterRevision,
    Record,
    RecordClock,
    RecordSummary,
    physician_queue,
)
from mrs_assist.records.review import review_hash, review_parts
from mrs_assist.records.tables import AuditRow, RecordRow
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse


def to_record(session, row: RecordRow) -> Record:
    """The stored determination `row` with its overrides, letters, clock and documents."""
    session.flush()
    corrected_by = session.execute(
        select(RecordRow.id).where(RecordRow.corrects_id == row.id).order_by(RecordRow.created_at)
    ).scalars()
    return Record(
        id=row.id,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        request=DeterminationRequest.model_validate_json(row.request_json),
        response=DeterminationResponse.model_validate_json(row.response_json),
        letter_markdown=row.letter_markdown,
        overrides=[
            FactOverride(
                name=o.name,
                value=o.value,
                previous_value=o.previous_value,
                reason=o.reason,
                recommendation_before=o.recommendation_before,
                recommendation_after=o.recommendation_after,
                user=o.actor,
                role=o.role,
                at=aware(o.at),
            )
            for o in row.overrides
        ],
        letter_revisions=[
            LetterRevision(markdown=lr.markdown, source=lr.source, user=lr.actor, role=lr.role, at=aware(lr.at))
            for lr in row.letters
        ],
        signed_by=row.signed_by,
        signed_role=row.signed_role,
        signed_at=aware(row.signed_at),
        corrects_id=row.corrects_id,
        corrected_by=list(corrected_by),
        review_hash=review_hash(review_parts(row), row.id),
        clock=row_clock(row),
        submitter_ref=row.submitter_ref,
        signed_review_hash=_signed_hash(session, row),
        documents=row_documents(row),
        assignee=row.assignee,
        routed_to=row.routed_to,
        voided_at=aware(row.voided_at),
        voided_by=row.voided_by,
        void_reason=row.void_reason,
    )


def row_summary(row: RecordRow) -> RecordSummary:
    return RecordSummary(
        id=row.id,
        status=row.status,
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        recommendation=row.recommendation,
        requires_physician_review=row.requires_physician_review,
        created_at=aware(row.created_at),
        created_by=row.created_by,
        signed_by=row.signed_by,
        signed_at=aware(row.signed_at),
        corrects_id=row.corrects_id,
        clock=row_clock(row),
        member_name=row.member_name,
        member_id=row.member_ref,
        provider_name=row.provider_name,
        claim=row.submitter_ref,
        assignee=row.assignee,
        routed_to=row.routed_to,
        physician_queue=physician_queue(row.status, row.recommendation, row.routed_to, row.voided_at),
        voided=row.voided_at is not None,
    )


def document_index_json(notes: str, documents: list[DocumentIndex] | None) -> str | None:
    """The documents' index as stored JSON (None for plain typed notes); raises InvalidRequestError
    when a document's span is not inside the notes."""
    if not documents:
        return None
    size = len(notes)
    for d in documents:
        if not 0 <= d.start <= d.end <= size:
            raise InvalidRequestError(f"document {d.name!r} does not sit inside the case's notes")
    return canonical_json([d.model_dump(mode="json") for d in documents])


def row_documents(row: RecordRow) -> list[CaseDocument]:
    """The case's documents with their text: the stored index, else the notes as one typed document."""
    notes = DeterminationRequest.model_validate_json(row.request_json).clinical_notes
    if row.documents_json:
        return [
            CaseDocument(**d, text=notes[d["start"]:d["end"]]) for d in json.loads(row.documents_json)
        ]
    if not notes:
        return []
    return [CaseDocument(name="Clinical notes", media_type="text/plain", method="typed", start=0, end=len(notes), text=notes)]


def row_clock(row: RecordRow) -> RecordClock:
    """The row's decision clock; a record older than the clock columns starts at its creation,
    with the urgency its stored request names."""
    urgency = row.urgency
    if urgency is None:
        urgency = DeterminationRequest.model_validate_json(row.request_json).urgency
    received = aware(row.received_at or row.created_at)
    due = aware(row.due_at) if row.due_at else due_at(received, urgency, extension_days=row.extension_days or 0)
    return RecordClock(
        urgency=urgency,
        received_at=received,
        due_at=due,
        extension_days=row.extension_days or 0,
        extension_reason=row.extension_reason,
        decided_at=_decided_at(row),
    )


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

def _signed_hash(session, row: RecordRow) -> str | None:
    """The review hash the sign-off of a signed record carried (from its audit entry)."""
    if row.status != "signed":
        return None
    details = session.execute(
        select(AuditRow.details).where(AuditRow.record_id == row.id, AuditRow.action == "sign")
        .order_by(AuditRow.seq.desc()).limit(1)
    ).scalar_one_or_none()
    try:
        value = json.loads(details or "{}").get("reviewed_hash")
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _decided_at(row: RecordRow) -> datetime | None:
    """The signature; or, for a FHIR PAS request certified A1 without a signature (no physician
    review is needed to approve, and no contradiction holds it for a reviewer), the time of its
    last change, when that A1 was returned to the provider."""
    if row.status == "signed":
        return aware(row.signed_at)
    if row.submitter_ref and row.recommendation == "meets_criteria" and not row.corrects_id and not any(
            CONTRADICTION_MARK in o.reason for o in row.overrides):  # a new version of a signed one waits for sign-off
        return aware(row.updated_at)
    return None
