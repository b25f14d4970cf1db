"""Request and response bodies of the public contract (DESIGN.md "Contracts").

The API serves them and `mrs-assist ... --json` prints them, so both stay identical.
Requests forbid unknown fields: a typo in a field name is an error, not a silent default.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["meets_criteria", "does_not_meet_criteria", "needs_more_information"]

MAX_QUESTION_CHARS = 2_000
MAX_NOTES_CHARS = 50_000


class Citation(BaseModel):
    """A quoted guideline clause: its id and verbatim text."""

    clause_id: str = Field(description="Stable clause id, e.g. 'cohere-mrs#non-indications.2'.")
    policy_id: str
    section: str = Field(description="Section path of the clause in its document.")
    text: str = Field(description="Verbatim clause text from the curated corpus.")
    score: float = Field(description="Retrieval score (fused rank score), or 1.0 for a criterion.")


class AskRequest(BaseModel):
    """A reviewer's free-text question."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    policy_ids: list[str] | None = Field(
        default=None, max_length=10, description="Restrict to these policies (default: detect from the question, else all)."
    )
    top_k: int | None = Field(default=None, ge=1, le=20, description="How many clauses to cite.")


class AskResponse(BaseModel):
    """An answer made of quoted clauses, each cited."""

    answer: str
    citations: list[Citation]
    mode: Literal["extractive", "llm"]


class Patient(BaseModel):
    """What the request tells about the member."""

    model_config = ConfigDict(extra="forbid")

    age_years: float | None = Field(default=None, ge=0, le=130)


class Party(BaseModel):
    """A member or provider as named in the request (letters use these, never invent them)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    id: str | None = Field(default=None, max_length=100, description="Member id or provider NPI.")


class DeterminationRequest(BaseModel):
    """A prior-authorization request to check against one policy."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(min_length=1, max_length=100)
    cpt_codes: list[str] = Field(max_length=20, description="Requested CPT codes, e.g. ['76390'].")
    clinical_notes: str = Field(default="", max_length=MAX_NOTES_CHARS)
    patient: Patient = Field(default_factory=Patient)
    facts: dict[str, bool | None] | None = Field(
        default=None, description="Structured facts that override extraction; null means unknown."
    )
    letter: bool = False
    urgency: Literal["standard", "expedited"] = Field(
        default="standard", description="Decision timeframe: 7 calendar days standard, 72 hours expedited."
    )
    member: Party | None = Field(default=None, description="Member identifiers for the letter; never invented.")
    provider: Party | None = Field(default=None, description="Requesting provider for the letter; never invented.")


class EvidenceOut(BaseModel):
    """A span of the clinical notes supporting a fact (offsets into the notes)."""

    text: str
    start: int
    end: int


class FactOut(BaseModel):
    """A case fact and the evidence behind it."""

    name: str
    value: bool | None
    evidence: list[EvidenceOut]


class DeterminationResponse(BaseModel):
    """The checker's recommendation with its trace, evidence and citations."""

    recommendation: Outcome
    requires_physician_review: bool
    policy_id: str
    policy_version: str
    facts: list[FactOut]
    trace: dict[str, Any] = Field(
        description="The checker's evaluation: {'outcome', 'root', 'deciding_clauses', 'missing_facts', "
        "'investigational', 'safety', 'notices'}; 'root' is the evaluated formula (scope ∧ "
        "indications ∧ ¬exclusions), each node {'id', 'label', 'kind' (all|any|not|fact|cpt), "
        "'fact', 'value' (true|false|null), 'clause_id', 'see_also', 'evidence', 'children'}."
    )
    missing_information: list[str]
    citations: list[Citation]
    safety_flags: list[str]
    letter: dict[str, Any] | None = None


class PolicySummary(BaseModel):
    """A document of the corpus as listed by GET /v1/policies."""

    policy_id: str
    payer: str
    title: str
    kind: Literal["guideline", "literature"]
    version: str
    dates: dict[str, str]
    cpt_codes: list[str]
    body_region: str
    clauses: int


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorBody


class CompareCell(BaseModel):
    """One indication under one policy."""

    status: Literal["covered", "covered_if", "investigational", "not_covered"]
    clause_ids: list[str]
    conditions: list[str] = Field(default_factory=list, description="What covered_if requires, in words.")
    condition_facts: list[str] = Field(default_factory=list, description="The facts covered_if requires.")


class CompareRow(BaseModel):
    fact: str
    label: str
    cells: dict[str, CompareCell]


class CompareResponse(BaseModel):
    """Indications × policies, each cell cited, plus inconsistencies found inside policies."""

    policy_ids: list[str]
    rows: list[CompareRow]
    inconsistencies: list[dict[str, Any]]
