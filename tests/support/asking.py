"""Helpers for the asked-shape tests: one question through the asker, its verdict checked."""

from __future__ import annotations

from mrs_assist.schemas import AskRequest, AskResponse, Verdict


def ask(services, question: str) -> AskResponse:
    """The asker's response to ``question`` (no policy ids given)."""
    return services.asker.ask(AskRequest(question=question))


def verdict_of(services, question: str, claim: str, *, checked: bool = True) -> Verdict:
    """The question's verdict, once its claim (and, unless told, its check) is as expected."""
    verdict = ask(services, question).verdict
    assert verdict.claim == claim, verdict.text
    assert verdict.checked or not checked
    return verdict
