"""The last two steps of every ask response: its verdict checked against the clauses it cites (a
verdict that fails gives way to the best cited clause), then, when a chat model is configured, its
wording phrased by the model and validated again (the deterministic text stays when that fails)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mrs_assist.answer import verdict as verdicts
from mrs_assist.corpus import Corpus
from mrs_assist.schemas import AskResponse

log = logging.getLogger("mrs_assist.answer")

UNMENTIONED = "Note: no guideline uses the words"
"""How an answer opens when no guideline uses some of the question's words (kept first, above the verdict)."""
_LINK = re.compile(r"(?:https?://|www\.)[^\s\"\]]+")


def check_response(question: str, response: AskResponse, *, corpus: Corpus, vocabulary: frozenset[str],
                   kinds: Callable[[str], frozenset[str]]) -> AskResponse:
    """The response with its verdict checked against the citations and shown first; a verdict
    that fails is replaced by the best cited clause (which always passes)."""
    from mrs_assist.validate import AnswerDraft, validate_answer_draft

    def problems_of(text: str, ids: list[str]) -> list[str]:
        draft = AnswerDraft(answer=text, cited_clause_ids=ids)
        found = validate_answer_draft(draft, question=question, citations=response.citations, corpus=corpus,
                                      vocabulary=vocabulary)
        # A web address quoted verbatim from a cited clause is the guideline's, not an addition.
        quoted_links = all(any(u in c.text for c in response.citations) for u in _LINK.findall(text))
        return [f"{p.code}: {p.message}" for p in found if not (p.code == "link" and quoted_links)]

    verdict = response.verdict
    if verdict is None or verdict.basis == "not_addressed":
        return response
    problems = verdicts.check_verdict(verdict, response.citations, problems_of)
    if problems:
        # codes only: a problem's message may quote the question, which may carry a case's PHI
        log.warning("verdict rejected by the validator: %s", ", ".join(sorted({p.split(":", 1)[0] for p in problems})))
        first = response.citations[0]
        payer = corpus.documents[first.policy_id].meta.payer
        verdict = verdicts.from_clause(payer, first, kinds(first.clause_id), first.text, metadata=True)
        if verdicts.check_verdict(verdict, response.citations, problems_of):
            verdict = verdict.model_copy(update={"checked": False})
            return response.model_copy(update={"verdict": verdict})
    verdict = verdict.model_copy(update={"checked": True})
    shown = verdict.text
    if verdict.described:  # the question's own facts, as read, right under the verdict
        shown += "\nAs you describe it: " + "; ".join(verdict.described) + "."
    note, body = "", response.answer
    if body.startswith(UNMENTIONED):  # the note that the guidelines may not answer stays first
        note, body = body.split("\n\n", 1)
        note += "\n\n"
    return response.model_copy(update={"verdict": verdict, "answer": f"{note}{shown}\n\n{body}"})


def phrase_response(question: str, response: AskResponse, *, chat_model: Any, corpus: Corpus, prompts_dir: Path,
                    vocabulary: frozenset[str], policy_ids: Sequence[str]) -> AskResponse:
    """The model's phrasing when a chat model is configured and it passes the validator; else
    ``response`` unchanged."""
    if chat_model is None or not response.citations:
        return response
    from mrs_assist.answer.llm import phrasable, phrase_answer, phrase_verdict

    if phrasable(response.verdict):  # a decided verdict: the model may reword that sentence only
        verdict, problems = phrase_verdict(
            chat_model, question, response.verdict, response.citations, corpus=corpus,
            prompts_dir=prompts_dir, vocabulary=vocabulary,
        )
        if problems:
            log.info("model verdict rejected: %s", ", ".join(sorted({p.code for p in problems})))
        if verdict.text == response.verdict.text:
            return response
        answer = response.answer.replace(response.verdict.text, verdict.text, 1)
        return response.model_copy(update={"verdict": verdict, "answer": answer, "mode": "llm"})
    phrased, problems = phrase_answer(
        chat_model, question, response.citations, response.answer,
        corpus=corpus, policy_ids=list(policy_ids) or None, prompts_dir=prompts_dir, vocabulary=vocabulary,
    )
    if problems:
        log.info("model answer rejected: %s", ", ".join(sorted({p.code for p in problems})))
    return phrased.model_copy(update={"verdict": response.verdict})
