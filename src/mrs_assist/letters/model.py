"""The letter a determination produces: the `letter` field of the determination response."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.letters.settings import LetterKind
from mrs_assist.schemas import Outcome
from mrs_assist.validate import Problem

KIND_BY_OUTCOME: dict[str, LetterKind] = {
    "meets_criteria": "approval",
    "needs_more_information": "request_for_information",
    "does_not_meet_criteria": "adverse_determination_draft",
}


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


def sign_letter(letter: Letter, *, physician: str) -> Letter:
    """A copy of the letter marked signed by the physician and, therefore, releasable.

    Raises ValueError when the physician name is blank. Recording the sign-off (who,
    when) belongs to the records layer; this only flips the letter's release state.
    """
    if not physician.strip():
        raise ValueError("a physician reviewer's name is required to sign")
    return letter.model_copy(update={"status": "signed", "signed_by": physician.strip(), "releasable": True})
