"""Optional model phrasing of /v1/ask answers, citing only the retrieved clauses.

The extractive answer is always computed first; a model's answer replaces it only when
the validator finds no problem (at most two tries).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from mrs_assist.corpus import Corpus
from mrs_assist.schemas import AskResponse, Citation
from mrs_assist.validate import AnswerDraft, Problem, validate_answer_draft
from mrs_assist.validate.text import clause_ids_in

ANSWER_PROMPT = "answer_phrase"
RETRY_PROMPT = "retry"


def phrase_answer(
    chat_model: BaseChatModel | None,
    question: str,
    citations: Sequence[Citation],
    extractive_answer: str,
    *,
    corpus: Corpus | None = None,
    policy_ids: Sequence[str] | None = None,
    prompts_dir: Path | None = None,
    vocabulary: frozenset[str] | set[str] | None = None,
) -> tuple[AskResponse, list[Problem]]:
    """The model's answer (mode "llm") when it passes validation, else the extractive
    answer (mode "extractive"); and the problems found in rejected model drafts.

    With no model or no citations the model is not called. Raises ConfigError only when
    a prompt file is invalid; a model's failures become problems.
    """
    extractive = AskResponse(answer=extractive_answer, citations=list(citations), mode="extractive")
    if chat_model is None or not citations:
        return extractive, []
    from mrs_assist.llm import draft_with_retry, format_instructions, load_prompt

    if vocabulary is None:  # Services passes the one of its corpus; this is the shipped corpus's
        from mrs_assist.data import shipped
        from mrs_assist.letters.vocabulary import fixed_vocabulary

        vocabulary = fixed_vocabulary(shipped("data/corpus/facts.yaml"))

    prompt = load_prompt(ANSWER_PROMPT, prompts_dir)
    messages = prompt.render(
        question=question,
        clauses=[
            {"clause_id": c.clause_id, "policy_id": c.policy_id, "section": c.section, "text": c.text}
            for c in citations
        ],
        format_instructions=format_instructions(AnswerDraft),
    )
    result = draft_with_retry(
        chat_model,
        messages,
        AnswerDraft,
        lambda d: validate_answer_draft(
            d, question=question, citations=citations, corpus=corpus, policy_ids=policy_ids, vocabulary=vocabulary
        ),
        retry_prompt=load_prompt(RETRY_PROMPT, prompts_dir),
    )
    if result.draft is None:
        return extractive, result.problems
    cited = set(result.draft.cited_clause_ids) | set(clause_ids_in(result.draft.answer))
    kept = [c for c in citations if c.clause_id in cited]
    return AskResponse(answer=result.draft.answer.strip(), citations=kept, mode="llm"), result.problems
