"""What the record store returns, and the API bodies built from it.

`Record` is a stored determination as the library sees it (request included: it is the
record of the case). `DeterminationRecordResponse` is what the API shows: the stored
`DeterminationResponse` plus the record's id, status, sign-off, letter and overrides —
not the request's clinical notes, which stay in the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, computed_field

from mrs_assist.clocks import seconds_left

from mrs_assist.schemas import DeterminationRequest, DeterminationResponse, Outcome, PlainText

Status = Literal["draft", "signed"]

FACT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MAX_REASON_CHARS = 2_000
MAX_LETTER_CHARS = 100_000


class RecordClock(BaseModel):
    """The record's decision clock (CMS-0057-F: 72 hours expedited, 7 calendar days standard)."""

    urgency: Literal["standard", "expedited"]
    received_at: datetime = Field(description="When the request was received (the clock starts).")
    due_at: datetime = Field(description="When the decision is due, extension included.")
    extension_days: int = Field(default=0, description="Days added by a recorded extension.")
    extension_reason: str | None = Field(default=None, description="Why the extension was taken.")
    decided_at: datetime | None = Field(default=None, description="When the record was signed (the decision).")

    @computed_field(description="Seconds until due for an undecided record (negative: overdue); null once decided.")
    @property
    def seconds_left(self) -> float | None:
        return None if self.decided_at else seconds_left(self.due_at)

    @computed_field(description="Undecided past due, or decided after the due time.")
    @property
    def overdue(self) -> bool:
        return self.decided_at > self.due_at if self.decided_at else seconds_left(self.due_at) < 0


class ExtensionRequest(BaseModel):
    """Body of `POST /v1/determinations/{id}/extension`."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=14, description="Calendar days added to the due time (at most 14).")
    reason: PlainText = Field(min_length=1, max_length=MAX_REASON_CHARS, description="Why; kept in the record.")


class FactOverride(BaseModel):
    """A reviewer's change of one fact, and what the checker recommended before and after."""

    name: str = Field(description="Fact id from the catalogue, e.g. 'conventional_imaging_inconclusive'.")
    value: bool | None = Field(description="The value the reviewer set; null puts the fact back to unknown.")
    previous_value: bool | None = Field(description="The fact's value in the determination before the change.")
    reason: str = Field(description="Why the reviewer changed it (kept in the record; the audit holds its hash).")
    recommendation_before: Outcome
    recommendation_after: Outcome
    user: str
    role: str
    at: datetime


class LetterRevision(BaseModel):
    """One version of the letter, oldest first."""

    markdown: str
    source: Literal["draft", "regenerated", "edit"] = Field(
        description="'draft' from the first determination, 'regenerated' after a fact override, "
        "'edit' written by a reviewer."
    )
    user: str
    role: str
    at: datetime


class Record(BaseModel):
    """A stored determination with its history; immutable once `status` is 'signed'."""

    id: str = Field(description="UUID4 of the record.")
    status: Status
    created_at: datetime
    created_by: str
    request: DeterminationRequest = Field(description="The request as received, clinical notes included.")
    response: DeterminationResponse = Field(description="The checker's current determination.")
    letter_markdown: str | None = Field(description="The current letter text (the latest revision).")
    overrides: list[FactOverride]
    letter_revisions: list[LetterRevision]
    signed_by: str | None = None
    signed_role: str | None = None
    signed_at: datetime | None = None
    corrects_id: str | None = Field(default=None, description="The signed record this one corrects.")
    corrected_by: list[str] = Field(default_factory=list, description="Records that correct this one.")
    clock: RecordClock | None = Field(default=None, description="The decision clock.")
    submitter_ref: str | None = Field(default=None, description="'system|value' of a FHIR PAS Claim.identifier.")

    def to_response(self) -> DeterminationRecordResponse:
        """The API body for this record."""
        return DeterminationRecordResponse(
            **self.response.model_dump(),
            id=self.id,
            status=self.status,
            created_at=self.created_at,
            created_by=self.created_by,
            signed_by=self.signed_by,
            signed_at=self.signed_at,
            corrects_id=self.corrects_id,
            corrected_by=self.corrected_by,
            letter_markdown=self.letter_markdown,
            overrides=self.overrides,
            clock=self.clock,
        )


class RecordSummary(BaseModel):
    """One line of `GET /v1/determinations`."""

    id: str
    status: Status
    policy_id: str
    policy_version: str
    recommendation: Outcome
    requires_physician_review: bool
    created_at: datetime
    created_by: str
    signed_by: str | None = None
    signed_at: datetime | None = None
    corrects_id: str | None = None
    clock: RecordClock | None = None


class DeterminationRecordResponse(DeterminationResponse):
    """A stored determination: the checker's response plus the record's state."""

    id: str
    status: Status
    created_at: datetime
    created_by: str
    signed_by: str | None
    signed_at: datetime | None
    corrects_id: str | None
    corrected_by: list[str]
    letter_markdown: str | None
    overrides: list[FactOverride]
    clock: RecordClock | None = None


class FactOverrideRequest(BaseModel):
    """Body of `POST /v1/determinations/{id}/facts`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FACT_NAME_PATTERN, description="Fact id from the catalogue.")
    value: StrictBool | None = Field(description="true, false, or null for unknown (no 'yes', no 1).")
    reason: PlainText = Field(min_length=1, max_length=MAX_REASON_CHARS, description="Why; kept in the record.")


class LetterEditRequest(BaseModel):
    """Body of `PUT /v1/determinations/{id}/letter`."""

    model_config = ConfigDict(extra="forbid")

    markdown: PlainText = Field(min_length=1, max_length=MAX_LETTER_CHARS, description="The whole letter, as Markdown.")
