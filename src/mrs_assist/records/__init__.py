"""Stored determinations, reviewer edits, sign-offs and the hash-chained audit trail.

    store = RecordStore.from_settings(settings)          # migrates the schema if allowed
    record = store.create(request, response, user=user)  # a draft, audited
    store.sign(record.id, user=physician, review_hash=record.review_hash)  # who may: Services.sign
    verify_chain(store).summary()                        # "audit chain OK: 3 entries, head …"
"""

from mrs_assist.records.audit import VerifyResult, verify_chain, verify_summary
from mrs_assist.records.db import current_revision, database_url, dispose_engine, head_revision, upgrade_database
from mrs_assist.records.models import (
    AssignmentRequest,
    CaseDocument,
    DocumentIndex,
    HistoryEvent,
    VoidRequest,
    DeterminationRecordResponse,
    FactOverride,
    FactOverrideRequest,
    LetterEditRequest,
    SignRequest,
    LetterRevision,
    Record,
    RecordSummary,
)
from mrs_assist.records.queue import QueueFilter
from mrs_assist.records.store import RecordStore, letter_markdown_of

__all__ = [
    "AssignmentRequest",
    "CaseDocument",
    "DocumentIndex",
    "HistoryEvent",
    "QueueFilter",
    "VoidRequest",
    "DeterminationRecordResponse",
    "FactOverride",
    "FactOverrideRequest",
    "LetterEditRequest",
    "SignRequest",
    "LetterRevision",
    "Record",
    "RecordStore",
    "RecordSummary",
    "VerifyResult",
    "current_revision",
    "database_url",
    "dispose_engine",
    "head_revision",
    "letter_markdown_of",
    "upgrade_database",
    "verify_chain",
    "verify_summary",
]
