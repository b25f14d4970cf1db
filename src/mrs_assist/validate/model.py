"""What a model may return (drafts) and what the validator reports (problems)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.schemas import Outcome, Problem, ProblemCode  # noqa: F401 (Problem lives with the response models)


class QuotedClause(BaseModel):
    """A guideline clause cited by id with a verbatim quote from it."""

    model_config = ConfigDict(extra="forbid")

    clause_id: str = Field(description="Clause id exactly as given, e.g. 'cohere-mrs#indications.1'.")
    quote: str = Field(description="A span copied word for word from that clause's text.")


class RequestedFact(BaseModel):
    """A piece of information the letter asks for, by fact name."""

    model_config = ConfigDict(extra="forbid")

    fact: str = Field(description="Fact name exactly as given, e.g. 'conventional_imaging_inconclusive'.")
    question: str = Field(description="The question to the provider, in plain language.")


class LetterDraft(BaseModel):
    """The sections of a determination letter a model writes (the rest is fixed text)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="The outcome this letter states; must be the checker's.")
    decision: str = Field(description="One or two sentences stating the decision.")
    reason: str = Field(
        description="Plain-language reason tied to the member's documented condition, acronyms spelled out."
    )
    quotes: list[QuotedClause] = Field(description="The deciding guideline clauses, quoted verbatim.")
    information_requested: list[RequestedFact] = Field(
        default_factory=list,
        description="Information that would change or complete the decision (empty for approvals).",
    )
    decision_timeframe: str = Field(description="The decision timeframe sentence.")
    appeal_rights: str = Field(description="Appeal rights including the time limit to appeal.")
    peer_to_peer: str = Field(description="Offer of a peer-to-peer discussion with the physician reviewer.")

    def texts(self) -> list[str]:
        """Every model-written text field, quotes included."""
        return [
            self.decision,
            self.reason,
            *(q.quote for q in self.quotes),
            *(r.question for r in self.information_requested),
            self.decision_timeframe,
            self.appeal_rights,
            self.peer_to_peer,
        ]


class AnswerDraft(BaseModel):
    """A model-phrased answer to a reviewer's question."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(
        description="The answer; every quoted span is copied verbatim from a clause and is "
        "followed by that clause's id in square brackets."
    )
    cited_clause_ids: list[str] = Field(description="Ids of the clauses the answer cites.")
