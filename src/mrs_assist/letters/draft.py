"""Determination → letter: the deterministic template, or a validated model draft.

The letter's outcome is always the checker's. A model (when one is given) only phrases
the decision, reason and rights sections; its draft is validated, retried once with the
problems fed back, and otherwise replaced by the template letter.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mrs_assist.corpus import Corpus
from mrs_assist.letters.context import LetterContext, build_context
from mrs_assist.letters.findings import findings_reader
from mrs_assist.letters.model import Letter
from mrs_assist.letters.render import render_pair, render_template
from mrs_assist.letters.structure import LetterTemplate
from mrs_assist.letters.vocabulary import fixed_vocabulary
from mrs_assist.letters.settings import (
    FactWording,
    LetterSettings,
    load_fact_wording,
    load_letter_settings,
    load_manifest,
)
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse
from mrs_assist.validate import LetterDraft, validate_letter_draft

if TYPE_CHECKING:  # a template letter needs no LangChain; a model draft brings its own
    from langchain_core.language_models import BaseChatModel

MODEL_TEMPLATE = "model_letter"
LETTER_PROMPT = "letter_draft"
RETRY_PROMPT = "retry"


def draft_letter(
    determination: DeterminationResponse,
    request: DeterminationRequest,
    *,
    corpus: Corpus,
    chat_model: BaseChatModel | None = None,
    settings: LetterSettings | None = None,
    facts_file: Path | None = None,
    prompts_dir: Path | None = None,
) -> Letter:
    """The letter for this determination: the template letter, or — when ``chat_model`` is
    given and its draft passes validation (at most two tries) — the model's.

    Raises InvalidRequestError when the determination's policy is not in the corpus, and
    ConfigError when a letter data file, template or prompt is invalid. A model's failures
    never raise: they are listed in ``Letter.problems`` and the template is used.
    """
    settings = settings or load_letter_settings()
    facts_file = facts_file or _default_facts_file()
    wording = load_fact_wording(facts_file)
    context = build_context(determination, request, corpus=corpus, settings=settings, wording=wording)
    manifest = load_manifest()
    base = {
        "kind": context.kind,
        "outcome": context.outcome,
        "releasable": context.kind != "adverse_determination_draft",
        "requires_physician_signature": context.kind == "adverse_determination_draft",
        "settings_version": settings.version,
        "policy_id": determination.policy_id,
        "policy_version": determination.policy_version,
        "urgency": request.urgency,
    }

    problems = []
    attempts = 0
    if chat_model is not None:
        from mrs_assist.llm import draft_with_retry, format_instructions, load_prompt

        prompt = load_prompt(LETTER_PROMPT, prompts_dir)
        messages = prompt.render(**_prompt_variables(context, wording, request, format_instructions(LetterDraft)))
        result = draft_with_retry(
            chat_model,
            messages,
            LetterDraft,
            lambda d: validate_letter_draft(
                d,
                determination=determination,
                corpus=corpus,
                notes=request.clinical_notes,
                request=request,
                letter_settings=settings,
                vocabulary=fixed_vocabulary(facts_file),
                read_findings=findings_reader(facts_file),
            ),
            retry_prompt=load_prompt(RETRY_PROMPT, prompts_dir),
        )
        problems, attempts = result.problems, result.attempts
        if result.draft is not None:
            spec = manifest.templates[MODEL_TEMPLATE]
            markdown, html = render_pair(spec.markdown, context, draft=result.draft)
            return Letter(
                **base,
                mode="llm",
                template_id=MODEL_TEMPLATE,
                template_version=spec.version,
                prompt_id=prompt.id,
                prompt_version=prompt.version,
                markdown=markdown,
                html=html,
                problems=problems,
                model_attempts=attempts,
            )

    spec = manifest.templates[context.kind]
    template, html = render_template(spec.markdown, context)
    markdown = template.fill()
    return Letter(
        **base,
        mode="template",
        template_id=context.kind,
        template_version=spec.version,
        markdown=markdown,
        html=html,
        problems=problems,
        model_attempts=attempts,
    )


def letter_template(
    determination: DeterminationResponse,
    request: DeterminationRequest,
    *,
    corpus: Corpus,
    settings: LetterSettings | None = None,
    facts_file: Path | None = None,
) -> LetterTemplate:
    """The template letter of this determination regenerated from the record, as locked regions
    and fields (`letters.structure`): what a reviewer's edit is compared with at sign-off.

    Raises InvalidRequestError when the policy is not in the corpus, ConfigError for a bad data file.
    """
    settings = settings or load_letter_settings()
    wording = load_fact_wording(facts_file or _default_facts_file())
    context = build_context(determination, request, corpus=corpus, settings=settings, wording=wording)
    spec = load_manifest().templates[context.kind]
    return render_template(spec.markdown, context)[0]


def _default_facts_file() -> Path:
    from mrs_assist.data import shipped

    return shipped("data/corpus/facts.yaml")  # Services passes its corpus's


def _prompt_variables(
    context: LetterContext, wording: dict[str, FactWording], request: DeterminationRequest, instructions: str
) -> dict[str, object]:
    g = context.guideline
    questions = [{"fact": q.fact, "question": q.question} for q in context.questions]
    pend = context.kind == "request_for_information"
    return {
        "outcome": context.outcome,
        "kind": context.kind,
        "service": f"CPT {context.cpt_code} — {context.service_name} ({context.service_abbreviation})",
        "guideline": f"{g.payer}, {g.title}, version {g.version} [{g.policy_id}]",
        "clauses": [{"clause_id": c.clause_id, "text": c.text} for c in context.clauses],
        "documented": context.documented,
        "missing_facts": questions if pend else [],
        "change_facts": questions if context.kind == "adverse_determination_draft" else [],
        "timeframe_limit": context.timeframe_limit,
        "urgency": context.timeframe_label,
        "appeal_days": context.appeal_days,
        "notes": request.clinical_notes,
        "format_instructions": instructions,
    }
