"""Draft → list of problems: the guard on every model output (answers and letters)."""

from mrs_assist.validate.answer import validate_answer_draft
from mrs_assist.validate.letter import validate_letter_draft
from mrs_assist.validate.model import AnswerDraft, LetterDraft, Problem, QuotedClause, RequestedFact

__all__ = [
    "AnswerDraft",
    "LetterDraft",
    "Problem",
    "QuotedClause",
    "RequestedFact",
    "validate_answer_draft",
    "validate_letter_draft",
]
