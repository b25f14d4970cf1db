"""Stored determinations: the work queue, read (documents included), history, assign, void,
override a fact, edit the letter, sign, download the letter."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from mrs_assist.api.deps import RecordsDep, ServicesDep
from mrs_assist.auth import ALL_ROLES, CLINICAL_ROLES, User, require_role
from mrs_assist.errors import NotFoundError
from mrs_assist.records import (
    AssignmentRequest,
    DeterminationRecordResponse,
    HistoryEvent,
    QueueFilter,
    VoidRequest,
    FactOverrideRequest,
    LetterEditRequest,
    RecordSummary,
    SignRequest,
)
from mrs_assist.schemas import ErrorResponse

router = APIRouter(prefix="/v1", tags=["determinations"])


Reader = Annotated[User, Depends(require_role(*ALL_ROLES))]
Clinician = Annotated[User, Depends(require_role(*CLINICAL_ROLES))]

def _iso_8601_only(value: object) -> object:
    """The value unchanged unless it is a bare number, which pydantic would read as a Unix time."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date-time such as 2024-10-30T00:00:00Z, not a number")
    return value


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_ONLY = BeforeValidator(_iso_8601_only)

_ERRORS = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
_WRITE_ERRORS = {**_ERRORS, 409: {"model": ErrorResponse}}


@router.get("/determinations", response_model=list[RecordSummary], responses=_ERRORS)
def list_determinations(
    user: Reader,
    records: RecordsDep,
    response: Response,
    status: Annotated[Literal["draft", "signed"] | None, Query()] = None,
    policy_id: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")] = None,
    since: Annotated[
        datetime | None, Query(description="Created at or after (ISO 8601; naive means UTC)."), _ISO_ONLY
    ] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601; naive means UTC)."), _ISO_ONLY] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip (paging).")] = 0,
    sort: Annotated[
        Literal["created", "due"], Query(description="'created': newest first; 'due': undecided first, soonest due first.")
    ] = "created",
    outcome: Annotated[
        Literal["meets_criteria", "does_not_meet_criteria", "needs_more_information"] | None, Query()
    ] = None,
    urgency: Annotated[Literal["standard", "expedited"] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Past due undecided, or decided late.")] = None,
    assignee: Annotated[
        str | None, Query(max_length=100, description="A user name; 'me' for the caller; '' for unassigned.")
    ] = None,
    physician_queue: Annotated[bool | None, Query(description="Drafts waiting for a physician to sign.")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Search member name or id, provider, PAS claim id, or case id.")
    ] = None,
    include_voided: bool = False,
) -> list[RecordSummary]:
    """Stored determinations, newest first or as a work queue (`sort=due`); the total count of
    matches is in the `X-Total-Count` header."""
    queue = QueueFilter(
        recommendation=outcome, urgency=urgency, overdue=overdue,
        assignee=user.name if assignee == "me" else assignee, physician_queue=physician_queue,
        search=q or None, include_voided=include_voided, sort=sort,
    )
    filters = dict(status=status, policy_id=policy_id, since=since, until=until)
    response.headers["X-Total-Count"] = str(records.count(**filters, queue=queue))
    return records.list(**filters, limit=limit, offset=offset, queue=queue)


def _shown(record, user: User, services) -> DeterminationRecordResponse:
    """The API body of `record` for `user`: the documents for the clinical roles only."""
    return services.record_body(record, documents=user.role in CLINICAL_ROLES)


@router.get("/determinations/{id}", response_model=DeterminationRecordResponse, responses=_ERRORS)
def get_determination(id: str, user: Reader, services: ServicesDep) -> DeterminationRecordResponse:
    """One stored determination with its status, letter, overrides and — for a reviewer or
    physician, each reading audited — its documents (left out when the audit entry cannot be
    written, e.g. on a full disk)."""
    record, documents = services.open_record(id, user=user)
    return services.record_body(record, documents=documents)


@router.get("/determinations/{id}/history", response_model=list[HistoryEvent], responses=_ERRORS)
def determination_history(id: str, user: Reader, records: RecordsDep) -> list[HistoryEvent]:
    """The case's history from its audit trail, oldest first: who, role, when, what changed, and
    (for a reviewer or physician) the diff of each letter change."""
    return records.history_events(id, with_diffs=user.role in CLINICAL_ROLES)


@router.put("/determinations/{id}/assignment", response_model=DeterminationRecordResponse, responses=_WRITE_ERRORS)
def assign_determination(
    id: str, body: AssignmentRequest, user: Clinician, services: ServicesDep
) -> DeterminationRecordResponse:
    """Assign the draft to a user ('me': the caller) and route it to the physician queue (or back);
    409 once signed or voided."""
    assignee = user.name if body.assignee == "me" else body.assignee
    return _shown(services.assign(id, assignee, body.routed_to, user=user), user, services)


@router.post("/determinations/{id}/void", response_model=DeterminationRecordResponse, responses=_WRITE_ERRORS)
def void_determination(id: str, body: VoidRequest, user: Clinician, services: ServicesDep) -> DeterminationRecordResponse:
    """Mark a draft entered by mistake as void (kept and audited, left out of lists and the
    CMS-0057-F report); 409 once signed (correct it instead) or already voided."""
    return _shown(services.void(id, body.reason, user=user), user, services)


@router.post("/determinations/{id}/facts", response_model=DeterminationRecordResponse, responses=_WRITE_ERRORS)
def override_fact(id: str, body: FactOverrideRequest, user: Clinician, services: ServicesDep) -> DeterminationRecordResponse:
    """Set one fact (with a reason) and re-run the criteria checker; 409 once signed."""
    return _shown(services.override_fact(id, body.name, body.value, body.reason, user=user), user, services)


@router.put("/determinations/{id}/letter", response_model=DeterminationRecordResponse, responses=_WRITE_ERRORS)
def edit_letter(id: str, body: LetterEditRequest, user: Clinician, services: ServicesDep) -> DeterminationRecordResponse:
    """Replace the draft letter with the reviewer's text (its HTML rendered from it); 409 once signed."""
    return _shown(services.edit_letter(id, body.markdown, user=user), user, services)


@router.post(
    "/determinations/{id}/sign",
    response_model=DeterminationRecordResponse,
    responses={**_WRITE_ERRORS, 428: {"model": ErrorResponse}},
)
def sign_determination(
    id: str, user: Clinician, services: ServicesDep, body: SignRequest | None = None
) -> DeterminationRecordResponse:
    """Sign the draft as reviewed: the body carries the `review_hash` the signer saw.

    Approvals and pends by a reviewer or physician when the letter changed only in its named
    fields; anything else by a physician only (403). `attest: true` is required (422), and a
    letter with a placeholder left to fill is refused (422). No hash: 428. The record changed
    since that hash: 409 naming what changed.
    """
    record = services.sign(
        id, user=user, review_hash=body.review_hash if body else None, attested=bool(body and body.attest)
    )
    return _shown(record, user, services)


@router.get(
    "/determinations/{id}/letter.pdf",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"application/pdf": {}}, "description": "The letter as PDF."}},
)
def letter_pdf(id: str, _: Reader, services: ServicesDep, records: RecordsDep) -> Response:
    """The record's current letter rendered as PDF (404 when it has none)."""
    record = records.get(id)
    if record.letter_markdown is None:
        raise NotFoundError(f"determination {record.id} has no letter")
    pdf = services.render_letter_pdf(record)  # signed: with the signature line
    filename = f"determination-{record.id}{'' if record.status == 'signed' else '-draft'}.pdf"
    return Response(
        content=pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )
