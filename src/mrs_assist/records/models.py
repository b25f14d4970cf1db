"""What the record store returns, and the API bodies built from it.

`Record` is a stored determination as the library sees it (request included: it is the
record of the case). `DeterminationRecordResponse` is what the API shows: the stored
`DeterminationResponse` plus the record's id, status, sign-off, letter and overrides, and —
for the clinical roles, each reading audited — the documents of the case (the notes as pasted,
or the pages a PDF or scan was read into).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, computed_field

from mrs_assist.clocks import seconds_left
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse, Letter, Outcome, Party, PlainText

Status = Literal["draft", "signed"]

FACT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MAX_REASON_CHARS = 2_000
MAX_LETTER_CHARS = 100_000

_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def has_visible_text(value: str) -> bool:
    """Whether ``value`` holds a character a reader sees (not only spaces, zero-width or format
    characters, combining marks, unassigned code points, Hangul fillers or the Braille blank)."""
    from mrs_assist.screening import INVISIBLE_CHARS

    return any(unicodedata.category(c) not in _INVISIBLE and c not in INVISIBLE_CHARS for c in value or "")


def require_visible_text(value: str) -> str:
    """The value unchanged; raises ValueError when it has no visible character (the message never
    quotes the value)."""
    if not has_visible_text(value):
        raise ValueError("must contain visible text (not only spaces, zero-width or format characters)")
    return value


VisibleText = Annotated[PlainText, AfterValidator(require_visible_text)]
"""Caller text a reader must be able to see: an override reason, a letter."""


CONTRADICTION_MARK = "contradicting the clinical notes"
"""Part of a fact override's reason when DTR answers contradict the notes: the request waits for a
reviewer, so an unsigned `meets_criteria` is not an A1 returned to the provider (mrs_assist.fhir)."""


DocumentMethod = Literal["typed", "pdf_text", "ocr"]


class DocumentIndex(BaseModel):
    """Where one document of the case sits in the stored notes (what the records table keeps)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=300, description="File name as received, or 'Clinical notes' for pasted text.")
    media_type: str = Field(max_length=100, description="'text/plain', 'application/pdf', 'image/png', …")
    page: int | None = Field(default=None, ge=1, description="Page of the file (1-based); null for pasted text.")
    method: DocumentMethod = Field(description="'typed' (pasted), 'pdf_text' (the PDF's text layer) or 'ocr' (Tesseract).")
    start: int = Field(ge=0, description="Offset of the document's first character in the case's notes.")
    end: int = Field(ge=0, description="Offset just past its last character; evidence spans in [start, end) are on this page.")


class CaseDocument(DocumentIndex):
    """One document of the case with its text; evidence offsets minus `start` point into `text`."""

    text: str


class RecordClock(BaseModel):
    """The record's decision clock (CMS-0057-F: 72 hours expedited, 7 calendar days standard)."""

    urgency: Literal["standard", "expedited"]
    received_at: datetime = Field(description="When the request was received (the clock starts).")
    due_at: datetime = Field(description="When the decision is due, extension included.")
    extension_days: int = Field(default=0, description="Days added by a recorded extension.")
    extension_reason: str | None = Field(default=None, description="Why the extension was taken.")
    decided_at: datetime | None = Field(
        default=None, description="When the decision was made: the signature, or for a FHIR PAS request the time an "
        "A1 (certified) answer was returned to the provider, which needs no signature.")

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
    review_hash: str = Field(
        default="",
        description="Hash of what a signer reviews (outcome, facts, letter); the sign request sends it back.",
    )
    clock: RecordClock | None = Field(default=None, description="The decision clock.")
    submitter_ref: str | None = Field(default=None, description="'system|value' of a FHIR PAS Claim.identifier.")
    signed_review_hash: str | None = Field(default=None, description="The review_hash the signer signed.")

    documents: list[CaseDocument] = Field(default_factory=list, description="The documents the notes were read from.")
    assignee: str | None = Field(default=None, description="Who works the case (a user name).")
    routed_to: Literal["physician"] | None = Field(default=None, description="'physician' once routed to their queue.")
    voided_at: datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None

    def to_response(self, *, letter: Letter | None, documents: bool = False) -> DeterminationRecordResponse:
        """The API body for this record with `letter`, the letter as it reads now (rendered above
        the store: `letters.model.record_letter`); with `documents`, the case's documents too
        (clinical roles only)."""
        body = self.response.model_dump()
        body["letter"] = letter
        return DeterminationRecordResponse(
            **body,
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
            review_hash=self.review_hash,
            clock=self.clock,
            documents=self.documents if documents else None,
            member=self.request.member,
            provider=self.request.provider,
            assignee=self.assignee,
            routed_to=self.routed_to,
            physician_queue=physician_queue(self.status, self.response.recommendation, self.routed_to, self.voided_at),
            voided_at=self.voided_at,
            voided_by=self.voided_by,
            void_reason=self.void_reason,
        )


def physician_queue(status: str, recommendation: str, routed_to: str | None, voided_at: datetime | None) -> bool:
    """Whether a case waits in the physician queue: an unsigned, unvoided draft that is routed
    there or that only a physician may sign (an adverse determination, mrs_assist.signoff)."""
    return status == "draft" and voided_at is None and (routed_to == "physician" or recommendation == "does_not_meet_criteria")


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
    member_name: str | None = Field(default=None, description="The member as named at intake.")
    member_id: str | None = None
    provider_name: str | None = None
    claim: str | None = Field(default=None, description="'system|value' of the FHIR PAS claim, if it came that way.")
    assignee: str | None = None
    routed_to: Literal["physician"] | None = None
    physician_queue: bool = Field(default=False, description="Waiting for a physician to sign.")
    voided: bool = False


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
    review_hash: str = Field(
        description="Hash of the state a signer reviews (outcome, facts, letter): send it back in the "
        "sign request; a record changed since answers 409 naming what changed."
    )
    clock: RecordClock | None = None
    documents: list[CaseDocument] | None = Field(
        default=None, description="The case's documents with their text (clinical roles; each reading is audited)."
    )
    member: Party | None = None
    provider: Party | None = None
    assignee: str | None = None
    routed_to: Literal["physician"] | None = None
    physician_queue: bool = False
    voided_at: datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None


class AssignmentRequest(BaseModel):
    """Body of `PUT /v1/determinations/{id}/assignment`."""

    model_config = ConfigDict(extra="forbid")

    assignee: PlainText | None = Field(default=None, max_length=100, description="User name ('me': the caller); null unassigns.")
    routed_to: Literal["physician"] | None = Field(default=None, description="'physician' routes the case to their queue.")


class VoidRequest(BaseModel):
    """Body of `POST /v1/determinations/{id}/void`."""

    model_config = ConfigDict(extra="forbid")

    reason: VisibleText = Field(min_length=1, max_length=MAX_REASON_CHARS, description="Why the case was a mistake.")


class HistoryEvent(BaseModel):
    """One entry of a case's history (from its audit trail), oldest first."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    summary: str = Field(description="What changed, in words.")
    letter_diff: str | None = Field(default=None, description="Unified diff of the letter text this change made.")


class FactOverrideRequest(BaseModel):
    """Body of `POST /v1/determinations/{id}/facts`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FACT_NAME_PATTERN, description="Fact id from the catalogue.")
    value: StrictBool | None = Field(description="true, false, or null for unknown (no 'yes', no 1).")
    reason: VisibleText = Field(min_length=1, max_length=MAX_REASON_CHARS, description="Why; kept in the record.")


class SignRequest(BaseModel):
    """Body of `POST /v1/determinations/{id}/sign`."""

    model_config = ConfigDict(extra="forbid")

    review_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="The review_hash of the determination as the signer reviewed it (from GET).",
    )
    attest: StrictBool = Field(
        default=False,
        description="true: the signer attests they reviewed this determination and its letter and signs "
        "them electronically (required; the signed letter carries the signature line).",
    )


class LetterEditRequest(BaseModel):
    """Body of `PUT /v1/determinations/{id}/letter`."""

    model_config = ConfigDict(extra="forbid")

    markdown: VisibleText = Field(min_length=1, max_length=MAX_LETTER_CHARS, description="The whole letter, as Markdown.")
