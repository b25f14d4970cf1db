"""The records database's tables (SQLAlchemy 2 ORM). The migrations create them.

Request and response are stored as canonical JSON text, so what the audit trail hashed is
byte-for-byte what the row holds, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mrs_assist.records.db import UTCDateTime

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first audit entry."""


class Base(DeclarativeBase):
    pass


class RecordRow(Base):
    """One stored determination: the case as requested, the checker's answer, its letter, its status."""

    __tablename__ = "records"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'signed')", name="ck_records_status"),
        Index("ix_records_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    policy_id: Mapped[str] = mapped_column(String(100), index=True)
    policy_version: Mapped[str] = mapped_column(String(50))
    recommendation: Mapped[str] = mapped_column(String(40))
    requires_physician_review: Mapped[bool] = mapped_column(Boolean)
    request_json: Mapped[str] = mapped_column(Text)
    response_json: Mapped[str] = mapped_column(Text)
    letter_markdown: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_role: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_by: Mapped[str | None] = mapped_column(String(100))
    signed_role: Mapped[str | None] = mapped_column(String(20))
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"), index=True)
    # Decision clocks (migration 0003_clocks; mrs_assist.clocks). Null on older records.
    urgency: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    extension_days: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extended_by: Mapped[str | None] = mapped_column(String(100))
    submitter_ref: Mapped[str | None] = mapped_column(String(300), index=True)
    # The work queue and the case's documents (migration 0004_workqueue). Null on older records.
    assignee: Mapped[str | None] = mapped_column(String(100))
    routed_to: Mapped[str | None] = mapped_column(String(20))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_by: Mapped[str | None] = mapped_column(String(100))
    void_reason: Mapped[str | None] = mapped_column(Text)
    member_name: Mapped[str | None] = mapped_column(String(200))
    member_ref: Mapped[str | None] = mapped_column(String(100))
    provider_name: Mapped[str | None] = mapped_column(String(200))
    documents_json: Mapped[str | None] = mapped_column(Text)

    overrides: Mapped[list[OverrideRow]] = relationship(order_by="OverrideRow.id", lazy="selectin")
    letters: Mapped[list[LetterRow]] = relationship(order_by="LetterRow.id", lazy="selectin")


class OverrideRow(Base):
    """A reviewer's change of one fact: who, when, why, and what the checker said after."""

    __tablename__ = "fact_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[bool | None] = mapped_column(Boolean)
    previous_value: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    recommendation_before: Mapped[str] = mapped_column(String(40))
    recommendation_after: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class LetterRow(Base):
    """One version of a record's letter: a generated draft, a regenerated draft, or a reviewer's edit."""

    __tablename__ = "letter_revisions"
    __table_args__ = (CheckConstraint("source IN ('draft', 'regenerated', 'edit')", name="ck_letter_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    markdown: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """An append-only, hash-chained audit entry. Holds hashes of content, never its text."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(36), index=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The chain's tip (one row). Writers lock it to append in order; verify checks the tail against it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))


class SubscriptionRow(Base):
    """A FHIR PAS Subscription (rest-hook): where to push a notice when a PAS request changes
    (migration 0003_clocks; mrs_assist.fhir.subscriptions)."""

    __tablename__ = "fhir_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    org_identifier: Mapped[str | None] = mapped_column(String(100))
    endpoint: Mapped[str] = mapped_column(Text)
    payload_content: Mapped[str] = mapped_column(String(20))
    headers_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    events: Mapped[int] = mapped_column(Integer)
