"""Optional LLM judge: RAGAS-style faithfulness and answer relevancy of /v1/ask answers.

Computed only when a chat endpoint is configured *and* a judge model distinct from the
drafting model (``Settings.judge_model`` ≠ ``Settings.llm_model``): a model grading its own
drafts is no judge. Otherwise ``judge_reason`` says why, and the report prints "not
computed" — never a made-up score.

- Faithfulness (per answer): the judge splits the answer into atomic statements, then
  decides for each whether the cited clauses support it; score = supported / statements.
- Answer relevancy (per answer): the judge writes ``n`` questions the answer responds to
  and flags non-committal answers; score = mean cosine similarity (our embedder) between
  the real question and the generated ones, 0 when non-committal.

Judge failures (errors, unparseable replies) are counted, never scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.config import Settings
from mrs_assist.data import shipped
from mrs_assist.index.embed import TextEmbedder
from mrs_assist.llm import ModelRequestsDisabledError, invoke_text, load_prompt, make_chat_model, parse_draft

PROMPTS_DIR = shipped("evaluation/prompts")
RELEVANCY_QUESTIONS = 3


class Statements(BaseModel):
    model_config = ConfigDict(extra="ignore")
    statements: list[str]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="ignore")
    statement: str = ""
    reason: str = ""
    verdict: int = Field(ge=0, le=1)


class Verdicts(BaseModel):
    model_config = ConfigDict(extra="ignore")
    verdicts: list[Verdict]


class GeneratedQuestions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    questions: list[str] = Field(min_length=1)
    noncommittal: int = Field(ge=0, le=1)


def judge_reason(settings: Settings) -> str | None:
    """Why no judge can run under these settings, or None when one can."""
    if not (settings.llm_base_url and settings.llm_model):
        return "no chat model is configured (MRS_ASSIST_LLM_BASE_URL / MRS_ASSIST_LLM_MODEL)"
    judge = getattr(settings, "judge_model", None)
    if not judge:
        return "no judge model is configured (MRS_ASSIST_JUDGE_MODEL)"
    if judge == settings.llm_model:
        return f"the judge model {judge!r} is the drafting model; a distinct judge is required"
    return None


def make_judge_model(settings: Settings) -> BaseChatModel | None:
    """A chat model for the judge at the configured endpoint, or None (see judge_reason)."""
    if judge_reason(settings) is not None:
        return None
    return make_chat_model(settings.model_copy(update={"llm_model": settings.judge_model}))


@dataclass
class Judgement:
    """Scores of one answer (None where the judge failed or nothing was scorable)."""

    faithfulness: float | None = None
    relevancy: float | None = None
    statements: int = 0
    errors: list[str] = field(default_factory=list)


def _ask(model: BaseChatModel, prompt_id: str, schema: type[BaseModel], **variables: object) -> BaseModel:
    messages = load_prompt(prompt_id, PROMPTS_DIR).render(**variables)
    return parse_draft(invoke_text(model, messages), schema)


def faithfulness(model: BaseChatModel, question: str, answer: str, contexts: Sequence[str]) -> tuple[float | None, int]:
    """(supported statements / statements, statement count); None score for no statements.
    Raises whatever the model or the parser raises."""
    statements = _ask(model, "judge_statements", Statements, question=question, answer=answer).statements
    statements = [s for s in statements if s.strip()]
    if not statements:
        return None, 0
    verdicts = _ask(model, "judge_verdicts", Verdicts, context=list(contexts), statements=statements).verdicts
    if len(verdicts) != len(statements):
        raise ValueError(f"judge gave {len(verdicts)} verdicts for {len(statements)} statements")
    return sum(v.verdict for v in verdicts) / len(statements), len(statements)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def answer_relevancy(model: BaseChatModel, embedder: TextEmbedder, question: str, answer: str,
                     n: int = RELEVANCY_QUESTIONS) -> float:
    """Mean cosine of the question with n judge-generated questions; 0 if non-committal."""
    generated = _ask(model, "judge_relevancy", GeneratedQuestions, answer=answer, n=n)
    if generated.noncommittal:
        return 0.0
    vectors = embedder.embed([question, *generated.questions])
    return sum(_cosine(vectors[0], v) for v in vectors[1:]) / (len(vectors) - 1)


def judge_answer(model: BaseChatModel, embedder: TextEmbedder, question: str, answer: str,
                 contexts: Sequence[str]) -> Judgement:
    """Both scores for one answer; judge failures are recorded in ``errors``, not raised
    (except ModelRequestsDisabledError, which tests rely on)."""
    result = Judgement()
    try:
        result.faithfulness, result.statements = faithfulness(model, question, answer, contexts)
    except ModelRequestsDisabledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a judge failure is data, not a crash
        result.errors.append(f"faithfulness: {type(exc).__name__}: {str(exc)[:200]}")
    try:
        result.relevancy = answer_relevancy(model, embedder, question, answer)
    except ModelRequestsDisabledError:
        raise
    except Exception as exc:  # noqa: BLE001
        result.errors.append(f"relevancy: {type(exc).__name__}: {str(exc)[:200]}")
    return result
