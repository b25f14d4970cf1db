"""The work queue: which stored cases a list shows, in which order (`RecordStore.list`).

Undecided cases come first, soonest due first (an expedited case overdue by six days sits above
one overdue by two); decided ones after them, in the same order. Filters combine with AND; `search`
matches the member's name or id, the provider, the FHIR PAS claim identifier or the start of
the case id (case-insensitive), never the clinical notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, and_, case, func, or_, select

from mrs_assist.records.db import utc_now
from mrs_assist.records.tables import RecordRow

Sort = Literal["due", "created"]


@dataclass(frozen=True)
class QueueFilter:
    """What `GET /v1/determinations` asks for; every field None means "any"."""

    status: str | None = None
    policy_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    recommendation: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    assignee: str | None = None
    physician_queue: bool | None = None
    search: str | None = None
    include_voided: bool = False
    sort: Sort = "created"


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filtered(query: Select, f: QueueFilter, *, aware) -> Select:
    """`query` (over RecordRow) narrowed by `f`; `aware` makes a datetime UTC-aware."""
    if f.status is not None:
        query = query.where(RecordRow.status == f.status)
    if f.policy_id is not None:
        query = query.where(RecordRow.policy_id == f.policy_id)
    if f.since is not None:
        query = query.where(RecordRow.created_at >= aware(f.since))
    if f.until is not None:
        query = query.where(RecordRow.created_at < aware(f.until))
    if f.recommendation is not None:
        query = query.where(RecordRow.recommendation == f.recommendation)
    if f.urgency is not None:
        query = query.where(RecordRow.urgency == f.urgency)
    if not f.include_voided:
        query = query.where(RecordRow.voided_at.is_(None))
    if f.overdue is not None:
        now = utc_now()
        late = or_(
            and_(RecordRow.status == "draft", RecordRow.due_at < now),
            and_(RecordRow.status == "signed", RecordRow.signed_at > RecordRow.due_at),
        )
        query = query.where(late if f.overdue else ~late)
    if f.assignee is not None:
        query = query.where(RecordRow.assignee.is_(None) if f.assignee == "" else RecordRow.assignee == f.assignee)
    if f.physician_queue is not None:
        waiting = and_(
            RecordRow.status == "draft",
            RecordRow.voided_at.is_(None),
            or_(RecordRow.routed_to == "physician", RecordRow.recommendation == "does_not_meet_criteria"),
        )
        query = query.where(waiting if f.physician_queue else ~waiting)
    if f.search:
        term = f.search.strip()
        pattern = _like(term)
        query = query.where(
            or_(
                func.lower(RecordRow.member_name).like(pattern, escape="\\"),
                func.lower(RecordRow.member_ref).like(pattern, escape="\\"),
                func.lower(RecordRow.provider_name).like(pattern, escape="\\"),
                func.lower(RecordRow.submitter_ref).like(pattern, escape="\\"),
                RecordRow.id.like(_like(term).lstrip("%"), escape="\\"),
            )
        )
    return query


def ordered(query: Select, sort: Sort) -> Select:
    """`query` in the queue's order (`due`) or newest first (`created`)."""
    if sort == "due":
        decided = case((RecordRow.status == "signed", 1), else_=0)
        no_due = case((RecordRow.due_at.is_(None), 1), else_=0)
        return query.order_by(decided, no_due, RecordRow.due_at, RecordRow.created_at.desc(), RecordRow.id)
    return query.order_by(RecordRow.created_at.desc(), RecordRow.id)


def counted(f: QueueFilter, *, aware) -> Select:
    """SELECT count(*) of the records `f` matches (for the page's paging)."""
    return filtered(select(func.count()).select_from(RecordRow), f, aware=aware)
