"""Question → cited answer: extractive by default, optionally phrased by a chat model."""

from mrs_assist.answer.extractive import NOT_ADDRESSED, compose_answer, select_quotes

__all__ = ["NOT_ADDRESSED", "compose_answer", "select_quotes"]
