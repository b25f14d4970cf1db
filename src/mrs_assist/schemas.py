"""Request and response bodies of the public contract (README "Using it"; fields are only ever added).

The API serves them and `mrs-assist ... --json` prints them, so both stay identical.
Requests forbid unknown fields: a typo in a field name is an error, not a silent default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, StrictBool, model_validator
from pydantic.json_schema import JsonSchemaValue

Outcome = Literal["meets_criteria", "does_not_meet_criteria", "needs_more_information"]
Kind = Literal["all", "any", "not", "fact", "cpt"]
Truth = bool | None

MAX_QUESTION_CHARS = 2_000
MAX_NOTES_CHARS = 50_000
FACT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
"""A fact id as the catalogue writes it (a name that is not one is refused, never echoed)."""
MAX_UNBROKEN_CHARS = 1_000
"""Longest run of notes without a space or line break. Prose never comes close; a longer run
(an encoded blob, a wall of punctuation or emoji) makes the tokenizer's affix splitting
quadratic — 50,000 emoji in one run took minutes to extract."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNBROKEN = re.compile(rf"\S{{{MAX_UNBROKEN_CHARS + 1}}}")


def reject_control_characters(value: str) -> str:
    """The value unchanged; raises ValueError for NUL or another C0 control character other than
    tab, line feed and carriage return (the message gives its code and position, never the text)."""
    if m := _CONTROL.search(value):
        raise ValueError(
            f"contains the control character U+{ord(m.group()):04X} at position {m.start()}; "
            "text may hold tabs and line breaks but no other control characters"
        )
    return value


def reject_unbroken_runs(value: str) -> str:
    """The value unchanged; raises ValueError when more than MAX_UNBROKEN_CHARS characters run
    without whitespace (the message gives the position, never the text)."""
    if max(map(len, value.split()), default=0) > MAX_UNBROKEN_CHARS:  # linear; a regex would not be
        m = _UNBROKEN.search(value)
        start = m.start() if m else 0
        raise ValueError(
            f"has more than {MAX_UNBROKEN_CHARS} characters without a space or line break "
            f"(from position {start}); send the notes as text, not encoded data"
        )
    return value


class _DeclaredPattern:
    """Publishes a constraint a validator enforces as the field's JSON-schema ``pattern`` (the
    validator, not a pattern check, does the enforcing, so its clearer message is the one sent)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


NO_CONTROL_CHARACTERS = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*$"

PlainText = Annotated[str, AfterValidator(reject_control_characters), _DeclaredPattern(NO_CONTROL_CHARACTERS)]
"""Free text from a caller: no control characters but tab, line feed and carriage return."""

NotesText = Annotated[
    str,
    AfterValidator(reject_control_characters),
    AfterValidator(reject_unbroken_runs),
    _DeclaredPattern(NO_CONTROL_CHARACTERS),
]
"""Clinical notes: PlainText whose unbroken runs stay short enough to extract quickly."""


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

    question: PlainText = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    policy_ids: list[PlainText] | None = Field(
        default=None, max_length=10, description="Restrict to these policies (default: detect from the question, else all)."
    )
    top_k: int | None = Field(default=None, ge=1, le=20, description="How many clauses to cite.")


class VerdictClaim(BaseModel):
    """One claim of a verdict (a sentence, or a payer's row) and the clauses behind it."""

    text: str
    clause_ids: list[str] = Field(description="Every clause the claim rests on; each is among the citations.")


VerdictKind = Literal["yes", "no", "only_if", "depends", "not_addressed", "quote"]


class Verdict(BaseModel):
    """The one-sentence answer that opens every ask response, built without a model."""

    text: str = Field(description="The verdict as shown: one sentence, or a lead line and one row per payer.")
    basis: Literal["checker", "criteria", "list", "metadata", "clause", "not_addressed"] = Field(
        description="checker: the question's stated case run through the criteria checker; criteria: "
        "the indications x policies matrix; list: a list clause and every item; metadata: a date, "
        "version, code, definition or history clause; clause: the best clause."
    )
    claims: list[VerdictClaim]
    checked: bool = Field(description="Every claim was checked against its cited clauses and passed.")
    claim: VerdictKind = Field(
        default="quote",
        description="What the sentence claims (new in issue 23): yes, no, only_if (yes under stated "
        "conditions), depends (on facts or on the payer), not_addressed (no indexed policy answers it), "
        "or quote (a cited clause or list, no yes/no claim).",
    )
    described: list[str] = Field(
        default_factory=list,
        description="The question's own facts as read ('known brain tumor', 'not: conventional imaging "
        "inconclusive'), shown back so a reviewer sees what was read (new in issue 23).",
    )


class AskResponse(BaseModel):
    """An answer made of quoted clauses, each cited."""

    answer: str
    citations: list[Citation]
    mode: Literal["extractive", "llm"]
    verdict: Verdict | None = Field(
        default=None, description="The deterministic verdict the answer opens with (new in issue 13)."
    )


class Patient(BaseModel):
    """What the request tells about the member."""

    model_config = ConfigDict(extra="forbid")

    age_years: float | None = Field(
        default=None, ge=0, le=130, strict=True, description="A JSON number (not a string, not true/false)."
    )


class Party(BaseModel):
    """A member or provider as named in the request (letters use these, never invent them)."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText | None = Field(default=None, max_length=200)
    id: PlainText | None = Field(default=None, max_length=100, description="Member id or provider NPI.")


class DocumentUpload(BaseModel):
    """A document sent with a request: a PDF (text or scanned) or an image of a page (OCR)."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(min_length=1, max_length=300, description="File name, e.g. 'referral.pdf'.")
    media_type: Literal["application/pdf", "image/png", "image/jpeg", "image/tiff"]
    content_base64: str = Field(max_length=16_000_000, description="The file's bytes, base64-encoded.")


class DeterminationRequest(BaseModel):
    """A prior-authorization request to check against one policy."""

    model_config = ConfigDict(extra="forbid")

    policy_id: PlainText = Field(min_length=1, max_length=100)
    cpt_codes: list[PlainText] = Field(max_length=20, description="Requested CPT codes, e.g. ['76390'].")
    clinical_notes: NotesText = Field(
        default="",
        max_length=MAX_NOTES_CHARS,
        description=f"The clinical notes as text: tabs and line breaks but no other control characters, "
        f"and no more than {MAX_UNBROKEN_CHARS} characters without a space or line break.",
    )
    patient: Patient = Field(default_factory=Patient)
    facts: dict[Annotated[str, Field(pattern=FACT_NAME_PATTERN)], StrictBool | None] | None = Field(
        default=None,
        description="Structured facts that override extraction: true, false, or null for unknown (no 'yes', no 1).",
    )
    letter: StrictBool = Field(default=False, description="Draft the letter too: true or false (no 'yes', no 1).")
    urgency: Literal["standard", "expedited"] = Field(
        default="standard", description="Decision timeframe: 7 calendar days standard, 72 hours expedited."
    )
    member: Party | None = Field(default=None, description="Member identifiers for the letter; never invented.")
    provider: Party | None = Field(default=None, description="Requesting provider for the letter; never invented.")
    documents: list[DocumentUpload] | None = Field(
        default=None, max_length=20,
        description="PDF or image documents: read into the notes (text layer, else OCR), each page kept as a "
        "document of the case. Not stored as sent: the stored request holds their text.",
    )


class PacketDocument(BaseModel):
    """One document of a packet (the notes split at document headers: "DOCUMENT B …", "[DOC 2]",
    "ADDENDUM 02/04/2025"), as a span's source is shown to the reviewer."""

    index: int = Field(ge=0, description="The document's position in the notes, from 0.")
    header: str = Field(description="The document's header line, as written (at most 120 characters).")
    date: str | None = Field(default=None, description="The date its header gives (YYYY-MM-DD), if any.")


class EvidenceOut(BaseModel):
    """A span of the clinical notes supporting a fact (offsets into the notes)."""

    text: str
    start: int
    end: int
    section: str | None = Field(default=None, description="The note section the span sits in (e.g. family_history, plan).")
    modifiers: list[str] = Field(
        default_factory=list, description="The ConText modifiers and layout cues that decided the span's reading."
    )
    document: PacketDocument | None = Field(
        default=None, description="The packet document the span sits in; null when the notes are one document."
    )


class FactOut(BaseModel):
    """A case fact and the evidence behind it."""

    name: str
    value: bool | None
    evidence: list[EvidenceOut]
    contrary: list[EvidenceOut] = Field(
        default_factory=list,
        description="Current mentions that read otherwise than the evidence (a contested fact is unknown).",
    )
    governing_document: PacketDocument | None = Field(
        default=None,
        description="When the packet's documents disagree about the fact: the most recent one, which governs "
        "(its evidence decides; the contrary spans of older documents are superseded). Null otherwise.",
    )


# --- the checker's trace (criteria/ builds these; schemas imports nothing of the package) ---
class Evidence(BaseModel):
    """A span of the clinical notes that supports a fact's value."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The notes' text between start and end, verbatim.")
    start: int = Field(ge=0, description="Character offset where the span starts.")
    end: int = Field(ge=0, description="Character offset just past the span.")
    section: str | None = Field(default=None, description="The note section the span sits in (e.g. family_history).")
    modifiers: list[str] = Field(
        default_factory=list, description="The ConText modifiers and layout cues that decided the span's reading."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Evidence:
        if self.end < self.start:
            raise ValueError("evidence end must not be before start")
        return self


class TraceNode(BaseModel):
    """One evaluated node: its value, the clause it encodes and, for a leaf, the evidence."""

    id: str = Field(description="Path of the node in the formula, e.g. 'indications/0/1'.")
    label: str
    kind: Kind
    fact: str | None = None
    value: Truth
    clause_id: str | None = Field(default=None, description="Full clause id, if the node cites one.")
    see_also: list[str] = Field(default_factory=list, description="Further clauses it encodes.")
    evidence: list[Evidence] = Field(default_factory=list)
    children: list[TraceNode] = Field(default_factory=list)

    def walk(self) -> Iterable[TraceNode]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


class Finding(BaseModel):
    """A true fact the reviewer must see: a safety flag or an investigational indication."""

    fact: str
    label: str
    clause_id: str


class PolicyNotice(BaseModel):
    """A policy notice surfaced with the determination."""

    clause_id: str
    message: str
    kind: str


class QuestionGroup(BaseModel):
    """Missing facts asked together: those of one likely indication, or those every indication needs."""

    model_config = ConfigDict(extra="forbid")

    heading: str = Field(description="The group in plain words, from the catalogue's labels.")
    indication: str | None = Field(
        default=None, description="Trace node id of the indication (None: needed whatever the indication)."
    )
    clause_id: str | None = Field(default=None, description="The indication's clause, when it has one.")
    likely: bool = Field(default=False, description="The records point at this indication.")
    facts: list[str] = Field(description="Fact names to ask, in trace order (each a missing fact).")


class Trace(BaseModel):
    """The checker's evaluation as the contract carries it (``DeterminationResponse.trace``).

    ``root`` is the evaluated formula (scope ∧ indications ∧ ¬exclusions), each node a
    ``TraceNode`` {id, label, kind (all|any|not|fact|cpt), fact, value (true|false|null),
    clause_id, see_also, evidence, children}. Keys beyond these are kept as they came (stored
    records and hand-made traces), so the JSON is what it was when it was a plain object.

    Read it by attribute (``trace.root.walk()``, ``trace.deciding_clauses``) or through the
    queries of ``criteria.trace``; ``model_dump(mode="json")`` gives the JSON where a dict is
    really needed.
    """

    model_config = ConfigDict(extra="allow")

    outcome: Outcome
    root: TraceNode | None = Field(default=None, description="The evaluated formula.")
    deciding_clauses: list[str] = Field(default_factory=list, description="Full ids of the clauses that decided.")
    missing_facts: list[str] = Field(default_factory=list, description="Facts whose absence pends the request.")
    asked: list[QuestionGroup] = Field(
        default_factory=list,
        description="The missing facts a request for information asks: those of the likely indication(s), "
        "grouped, each group with a plain heading (a subset of missing_facts; empty on older records).",
    )
    investigational: list[Finding] = Field(default_factory=list)
    safety: list[Finding] = Field(default_factory=list)
    notices: list[PolicyNotice] = Field(default_factory=list)

    def nodes(self) -> list[TraceNode]:
        """Every node of the evaluated formula, depth first (none without a root)."""
        return list(self.root.walk()) if self.root is not None else []

    def clause_ids(self) -> set[str]:
        """Every clause a decided node, a deciding clause or a finding cites."""
        ids = {n.clause_id for n in self.nodes() if n.clause_id}
        ids |= set(self.deciding_clauses)
        ids |= {f.clause_id for f in self.investigational + self.safety}
        return ids


# --- the letter a determination carries (validate/ and letters/ build on these) ----------
ProblemCode = Literal[
    "outcome_mismatch",
    "unknown_clause",
    "clause_not_in_policy",
    "clause_not_traced",
    "quote_not_verbatim",
    "unmet_criterion_not_addressed",
    "missing_fact_not_addressed",
    "unrequested_fact",
    "missing_element",
    "unsupported_assertion",
    "unevidenced_finding",
    "contradicted_finding",
    "markup",
    "link",
    "injected_instruction",
    "unparseable",
    "model_error",
]


class Problem(BaseModel):
    """One reason a model draft was rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: ProblemCode
    message: str
    attempt: int | None = Field(default=None, description="Which model reply (1 or 2) it was found in.")


LetterKind = Literal["approval", "request_for_information", "adverse_determination_draft"]
"""Which letter an outcome gets (letters/model.KIND_BY_OUTCOME)."""


class Letter(BaseModel):
    """A drafted determination letter in Markdown and HTML, and how it was produced."""

    model_config = ConfigDict(extra="forbid")

    kind: LetterKind
    outcome: Outcome = Field(description="The checker's outcome the letter states.")
    status: Literal["draft", "signed"] = Field(
        default="draft", description="Every letter starts as a draft for the reviewer."
    )
    releasable: bool = Field(
        description="May be sent once the reviewer confirms it; false for an adverse "
        "determination until a physician reviewer signs it."
    )
    requires_physician_signature: bool
    signed_by: str | None = Field(default=None, description="Physician who signed (adverse letters).")
    mode: Literal["template", "llm"] = Field(description="Who wrote the text: the template or a model.")
    template_id: str
    template_version: str
    prompt_id: str | None = Field(default=None, description="Prompt used when mode is 'llm'.")
    prompt_version: str | None = None
    settings_version: str = Field(description="Version of letter_settings.yaml used.")
    policy_id: str
    policy_version: str
    urgency: Literal["standard", "expedited"]
    markdown: str
    html: str
    problems: list[Problem] = Field(
        default_factory=list,
        description="Validator problems found in rejected model drafts (empty in template "
        "mode without a model, or when the first draft was accepted).",
    )
    model_attempts: int = Field(default=0, description="Model calls made (0, 1 or 2).")


class DeterminationResponse(BaseModel):
    """The checker's recommendation with its trace, evidence and citations."""

    recommendation: Outcome
    requires_physician_review: bool
    policy_id: str
    policy_version: str
    facts: list[FactOut]
    trace: Trace = Field(
        description="The checker's evaluation: {'outcome', 'root', 'deciding_clauses', 'missing_facts', "
        "'investigational', 'safety', 'notices'}; 'root' is the evaluated formula (scope ∧ "
        "indications ∧ ¬exclusions), each node {'id', 'label', 'kind' (all|any|not|fact|cpt), "
        "'fact', 'value' (true|false|null), 'clause_id', 'see_also', 'evidence', 'children'}."
    )
    missing_information: list[str]
    citations: list[Citation]
    safety_flags: list[str]
    letter: Letter | None = None


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
