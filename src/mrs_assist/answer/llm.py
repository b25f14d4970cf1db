"""Optional model phrasing of /v1/ask answers, citing only the retrieved clauses.

The extractive answer is always computed first; a model's answer replaces it only when
the validator finds no problem (at most two tries). A verdict with a claim (yes / no / only
if / it depends) is phrased alone (``phrase_verdict``): the model rewrites that one sentence,
which must keep its verdict word and its citations; the rest of the answer stays as built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from mrs_assist.corpus import Corpus
from mrs_assist.schemas import AskResponse, Citation, Verdict, VerdictClaim
from mrs_assist.validate import AnswerDraft, Problem, validate_answer_draft
from mrs_assist.validate.text import clause_ids_in

ANSWER_PROMPT = "answer_phrase"
VERDICT_PROMPT = "verdict_phrase"
RETRY_PROMPT = "retry"
OPENINGS = {"yes": "Yes", "no": "No", "only_if": "Only if", "depends": "It depends"}
"""The word a verdict sentence opens with, by its claim: a phrasing must keep it."""
_OTHER_VERDICT = re.compile(r"(?:^|[.;:!?—–-]\s*|,\s+(?:but|so)\s+)(Yes|No|Only if|It depends)\b")
"""A second verdict word later in the sentence ("Yes — … . No, deny it")."""


def phrase_answer(
    chat_model: BaseChatModel | None,
    question: str,
    citations: Sequence[Citation],
    extractive_answer: str,
    *,
    corpus: Corpus | None = None,
    policy_ids: Sequence[str] | None = None,
    prompts_dir: Path | None = None,
    vocabulary: frozenset[str] | set[str] = frozenset(),
) -> tuple[AskResponse, list[Problem]]:
    """The model's answer (mode "llm") when it passes validation, else the extractive
    answer (mode "extractive"); and the problems found in rejected model drafts.

    ``vocabulary`` is the fixed wording a draft may use without a source (the caller's,
    ``Services.fixed_vocabulary``); none by default. With no model or no citations the model is not called. Raises ConfigError only when
    a prompt file is invalid; a model's failures become problems.
    """
    extractive = AskResponse(answer=extractive_answer, citations=list(citations), mode="extractive")
    if chat_model is None or not citations:
        return extractive, []
    from mrs_assist.llm import draft_with_retry, format_instructions, load_prompt

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
            d, question=question, citations=citations, corpus=corpus, policy_ids=policy_ids, vocabulary=vocabulary or frozenset()
        ),
        retry_prompt=load_prompt(RETRY_PROMPT, prompts_dir),
    )
    if result.draft is None:
        return extractive, result.problems
    cited = set(result.draft.cited_clause_ids) | set(clause_ids_in(result.draft.answer))
    kept = [c for c in citations if c.clause_id in cited]
    return AskResponse(answer=result.draft.answer.strip(), citations=kept, mode="llm"), result.problems


def phrasable(verdict: Verdict | None) -> bool:
    """A checked one-sentence verdict with a claim: the only kind a model may rephrase."""
    return bool(verdict is not None and verdict.checked and verdict.claim in OPENINGS and verdict.claims
                and "\n" not in verdict.text)


def verdict_problems(draft: AnswerDraft, verdict: Verdict) -> list[Problem]:
    """What a rephrased verdict changed that it must not: its verdict word, its citations (all
    of them, no others), one sentence."""
    text = draft.answer.strip()
    problems = []
    opening = OPENINGS.get(verdict.claim or "")
    if opening and not text.startswith(opening):
        problems.append(Problem(code="outcome_mismatch", message=f"the verdict must open with {opening!r}"))
    elif opening and (other := _OTHER_VERDICT.search(text, len(opening))) and other.group(1) != opening:
        problems.append(Problem(code="outcome_mismatch", message=f"the verdict must not also say {other.group(1)!r}"))
    wanted = {i for c in verdict.claims for i in c.clause_ids}
    shown = set(clause_ids_in(text)) | set(draft.cited_clause_ids)
    if missing := wanted - set(clause_ids_in(text)):
        problems.append(Problem(code="missing_element", message=f"the verdict must cite {', '.join(sorted(missing))}"))
    if extra := shown - wanted:
        problems.append(Problem(code="clause_not_traced", message=f"the verdict does not rest on {', '.join(sorted(extra))}"))
    if "\n" in text or len(text) > 2 * len(verdict.text) + 200:
        problems.append(Problem(code="unsupported_assertion", message="the verdict must stay one sentence of similar length"))
    return problems


def phrase_verdict(
    chat_model: BaseChatModel | None,
    question: str,
    verdict: Verdict,
    citations: Sequence[Citation],
    *,
    corpus: Corpus | None = None,
    prompts_dir: Path | None = None,
    vocabulary: frozenset[str] | set[str] = frozenset(),
) -> tuple[Verdict, list[Problem]]:
    """The verdict with its one sentence in the model's words when the draft passes the answer
    validator and ``verdict_problems``, else the verdict unchanged; and the problems found.
    Without a model, or for a verdict that is not ``phrasable``, the model is not called."""
    if chat_model is None or not phrasable(verdict):
        return verdict, []
    from mrs_assist.llm import draft_with_retry, format_instructions, load_prompt

    ids = list(dict.fromkeys(i for c in verdict.claims for i in c.clause_ids))
    cited = [c for c in citations if c.clause_id in ids]
    messages = load_prompt(VERDICT_PROMPT, prompts_dir).render(
        question=question, verdict=verdict.text, opening=OPENINGS[verdict.claim],
        clauses=[{"clause_id": c.clause_id, "policy_id": c.policy_id, "section": c.section, "text": c.text}
                 for c in cited],
        format_instructions=format_instructions(AnswerDraft),
    )
    result = draft_with_retry(
        chat_model, messages, AnswerDraft,
        lambda d: validate_answer_draft(d, question=question, citations=cited, corpus=corpus,
                                        vocabulary=vocabulary or frozenset()) + verdict_problems(d, verdict),
        retry_prompt=load_prompt(RETRY_PROMPT, prompts_dir),
    )
    if result.draft is None:
        return verdict, result.problems
    text = result.draft.answer.strip()
    return verdict.model_copy(update={"text": text, "claims": [VerdictClaim(text=text, clause_ids=ids)]}), result.problems
