"""Determination → letter: the deterministic template, or a validated model draft.

The letter's outcome is always the checker's. A model (when one is given) only phrases
the decision, reason and rights sections; its draft is validated, retried once with the
problems fed back, and otherwise replaced by the template letter.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models import BaseChatModel

from mrs_assist.corpus import Corpus
from mrs_assist.letters.context import LetterContext, build_context
from mrs_assist.letters.model import Letter
from mrs_assist.letters.render import render_pair
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
    if facts_file is None:
        from mrs_assist.config import package_data

        facts_file = package_data("corpus") / "facts.yaml"  # Services passes its corpus's
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
            ),
            retry_prompt=load_prompt(RETRY_PROMPT, prompts_dir),
        )
        problems, attempts = result.problems, result.attempts
        if result.draft is not None:
            spec = manifest.templates[MODEL_TEMPLATE]
            markdown, html = render_pair(spec.markdown, spec.html, context, draft=result.draft)
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
    markdown, html = render_pair(spec.markdown, spec.html, context)
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
