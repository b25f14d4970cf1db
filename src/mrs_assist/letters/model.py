"""Which letter an outcome gets, and signing one (the model, ``Letter``, is in ``mrs_assist.schemas``)."""

from __future__ import annotations

from mrs_assist.schemas import Letter, LetterKind

__all__ = ["KIND_BY_OUTCOME", "Letter", "sign_letter"]  # Letter lives with the response models

KIND_BY_OUTCOME: dict[str, LetterKind] = {
    "meets_criteria": "approval",
    "needs_more_information": "request_for_information",
    "does_not_meet_criteria": "adverse_determination_draft",
}


def sign_letter(letter: Letter, *, physician: str) -> Letter:
    """A copy of the letter marked signed by the physician and, therefore, releasable.

    Raises ValueError when the physician name is blank. Recording the sign-off (who,
    when) belongs to the records layer; this only flips the letter's release state.
    """
    if not physician.strip():
        raise ValueError("a physician reviewer's name is required to sign")
    return letter.model_copy(update={"status": "signed", "signed_by": physician.strip(), "releasable": True})
