"""Optional language models: the chat model factory, prompt files, and the draft loop.

Off by default: with no endpoint configured `make_chat_model` returns None and every
answer and letter stays deterministic. A model only phrases; its output is parsed into
a pydantic draft, validated, retried once with the problems fed back, and otherwise
replaced by the deterministic text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from jinja2 import Environment, StrictUndefined, meta
from jinja2.exceptions import TemplateError
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import PydanticOutputParser
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mrs_assist.config import Settings
from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import ConfigError
from mrs_assist.validate import Problem

ALLOW_MODEL_REQUESTS = True
"""Tests set this to False: any call to a real (non-fake) chat model then fails loudly."""

LLM_TIMEOUT_SECONDS = 30.0
LLM_MAX_RETRIES = 1

T = TypeVar("T", bound=BaseModel)


class ModelRequestsDisabledError(RuntimeError):
    """A real chat model was called while ALLOW_MODEL_REQUESTS is False (tests)."""


# --- the chat model ---------------------------------------------------------------------------
def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The embedded local model when ``llm.local`` is set; else a ChatOpenAI client for the
    configured OpenAI-compatible endpoint, or None when no endpoint and model are configured
    (the default). Constructing either makes no request and loads no weights."""
    s = settings
    local = getattr(s, "llm_local", None)
    if local:  # the embedded model (issue 13); same validation and fallback as any model
        from mrs_assist.local_llm import make_local_chat_model

        return make_local_chat_model(local)
    if not (s.llm_base_url and s.llm_model):
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=s.llm_model,
        base_url=s.llm_base_url,
        # Local OpenAI-compatible servers often need no key, but the client insists on one.
        api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else "not-needed",
        timeout=getattr(s, "llm_timeout_seconds", LLM_TIMEOUT_SECONDS),
        max_retries=getattr(s, "llm_max_retries", LLM_MAX_RETRIES),
        temperature=0,
    )


def _is_fake(chat_model: BaseChatModel) -> bool:
    """Whether the model is (a subclass of) one of langchain_core's fake chat models."""
    return any(c.__module__.startswith("langchain_core.language_models.fake") for c in type(chat_model).__mro__)


def invoke_text(chat_model: BaseChatModel, messages: list[BaseMessage]) -> str:
    """The model's reply as text; raises ModelRequestsDisabledError for a real model while
    requests are off, and whatever the client raises on failure."""
    if not ALLOW_MODEL_REQUESTS and not _is_fake(chat_model):
        raise ModelRequestsDisabledError(f"real model requests are disabled (tried {type(chat_model).__name__})")
    reply = chat_model.invoke(messages)
    content = reply.content
    if isinstance(content, list):  # content blocks
        content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


# --- prompt files -------------------------------------------------------------------------------
class Prompt(BaseModel):
    """A prompt file (prompts/<id>.yaml): Jinja templates for the system and user messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    version: str
    description: str
    variables: list[str] = Field(description="Exactly the variables the templates use.")
    system: str = ""
    user: str

    def render(self, **variables: object) -> list[BaseMessage]:
        """System and user messages; raises ValueError unless given exactly the declared variables."""
        if set(variables) != set(self.variables):
            raise ValueError(
                f"prompt {self.id}: expected variables {sorted(self.variables)}, got {sorted(variables)}"
            )
        env = _prompt_env()
        out: list[BaseMessage] = []
        if self.system:
            out.append(SystemMessage(env.from_string(self.system).render(**variables)))
        out.append(HumanMessage(env.from_string(self.user).render(**variables)))
        return out


@lru_cache(maxsize=1)
def _prompt_env() -> Environment:
    # Prompts are plain text: no autoescape; a missing variable is an error.
    return Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)


def load_prompt(prompt_id: str, prompts_dir: Path | None = None) -> Prompt:
    """The prompt file ``<prompts_dir>/<id>.yaml`` (default: the prompts shipped in the package,
    ``prompts/`` at the repository root); raises ConfigError when it is missing, invalid, or its
    declared variables differ from those its templates use."""
    path = (prompts_dir or shipped("data/prompts")) / f"{prompt_id}.yaml"
    return _load_prompt_file(path)


@lru_cache(maxsize=16)
def _load_prompt_file(path: Path) -> Prompt:
    prompt = load_yaml(path, Prompt, error=ConfigError)
    if prompt.id != path.stem:
        raise ConfigError(f"prompt file {path.name} declares id {prompt.id!r}; expected {path.stem!r}")
    env = _prompt_env()
    try:
        used = set().union(*(meta.find_undeclared_variables(env.parse(t)) for t in (prompt.system, prompt.user)))
    except TemplateError as exc:
        raise ConfigError(f"prompt file {path.name}: template error: {exc}") from exc
    if used != set(prompt.variables):
        raise ConfigError(
            f"prompt file {path.name}: declared variables {sorted(prompt.variables)} differ from "
            f"those used {sorted(used)}"
        )
    return prompt


# --- the draft loop: ask, parse, validate, retry once -----------------------------------------
@dataclass
class DraftResult(Generic[T]):
    """What the loop produced: the accepted draft (or None) and every problem found."""

    draft: T | None
    problems: list[Problem] = field(default_factory=list)
    attempts: int = 0


def parse_draft(text: str, schema: type[T]) -> T:
    """The draft in the reply (JSON, fenced or bare); raises OutputParserException."""
    return PydanticOutputParser(pydantic_object=schema).parse(text)


def format_instructions(schema: type[BaseModel]) -> str:
    """LangChain's JSON-schema instructions for the draft schema (a prompt variable)."""
    return PydanticOutputParser(pydantic_object=schema).get_format_instructions()


def draft_with_retry(
    chat_model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[T],
    validate: Callable[[T], list[Problem]],
    *,
    retry_prompt: Prompt,
    max_attempts: int = 2,
) -> DraftResult[T]:
    """Ask for a draft, validate it, and on problems ask once more with them fed back.

    Never raises for the model's failures (errors, unparseable replies, invalid drafts):
    they become problems, and ``draft`` is None when no attempt passed.
    """
    result: DraftResult[T] = DraftResult(draft=None)
    conversation = list(messages)
    for attempt in range(1, max_attempts + 1):
        result.attempts = attempt
        try:
            reply = invoke_text(chat_model, conversation)
        except ModelRequestsDisabledError:
            raise
        except Exception as exc:  # a model error is not retried: the client already retries
            result.problems.append(Problem(code="model_error", message=f"{type(exc).__name__}: {exc}"[:300], attempt=attempt))
            return result
        try:
            draft = parse_draft(reply, schema)
        except (OutputParserException, ValidationError, ValueError) as exc:
            problems = [Problem(code="unparseable", message=f"reply is not a valid {schema.__name__} JSON object: {str(exc)[:200]}")]
        else:
            problems = validate(draft)
        if not problems:
            result.draft = draft
            return result
        problems = [p.model_copy(update={"attempt": attempt}) for p in problems]
        result.problems.extend(problems)
        conversation += [AIMessage(reply), *retry_prompt.render(problems=[p.model_dump() for p in problems])]
    return result
