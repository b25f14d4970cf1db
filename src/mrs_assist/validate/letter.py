"""The guard on a model-written letter draft: every rule it breaks, as a Problem."""

from __future__ import annotations

import json
import re
from typing import Any

from mrs_assist.corpus import Corpus
from mrs_assist.criteria.asking import asked_clause_ids, asked_fact_names
from mrs_assist.criteria.trace import deciding_clause_ids, missing_fact_names, traced_clause_ids
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse
from mrs_assist.validate.findings import ReadFindings, finding_problems
from mrs_assist.validate.model import LetterDraft, Problem
from mrs_assist.validate.untrusted import without_instructions
from mrs_assist.validate.text import (
    Sources,
    assertion_problems,
    clause_ids_in,
    injection_problems,
    is_verbatim,
    link_problems,
    markup_problems,
    quoted_spans,
)

# What a decision sentence states, by outcome. Denial phrases are looked for first and
# removed, so "not approved" never reads as an approval.
_STATES_DENIAL = re.compile(
    r"\b(?:not (?:been )?(?:approved|authori[sz]ed|medically necessary|covered)|denied|denial|"
    r"adverse determination|does not meet|did not meet|cannot (?:be )?approved?|unable to approve)\b",
    re.I,
)
_STATES_APPROVAL = re.compile(r"\b(?:approved?|authori[sz]ed|meets? (?:the )?(?:medical necessity )?criteria)\b", re.I)
_STATES_PEND = re.compile(
    r"\b(?:(?:more|additional|further) (?:information|documentation|records)|request for information|pend(?:ed|ing)?)\b",
    re.I,
)
_PEER = re.compile(r"\bpeer[- ]to[- ]peer\b", re.I)


def stated_outcome(decision: str) -> str | None:
    """The outcome a decision sentence states, or None when it states none."""
    if _STATES_DENIAL.search(decision):
        return "does_not_meet_criteria"
    if _STATES_PEND.search(decision):
        return "needs_more_information"
    if _STATES_APPROVAL.search(decision):
        return "meets_criteria"
    return None


def case_sources(
    *, determination: DeterminationResponse, corpus: Corpus, notes: str, request: DeterminationRequest
) -> str:
    """Everything a letter may draw facts from: notes (less any instructions planted in them),
    request, determination, corpus."""
    parts = [
        without_instructions(notes),
        request.model_dump_json(exclude={"clinical_notes"}),
        determination.model_dump_json(exclude={"letter"}),
    ]
    for doc in corpus.documents.values():
        parts.append(json.dumps(doc.meta.model_dump(mode="json")))
        parts.extend(c.text for c in doc.clauses)
    return "\n".join(parts)


def validate_letter_draft(
    draft: LetterDraft,
    *,
    determination: DeterminationResponse,
    corpus: Corpus,
    notes: str,
    request: DeterminationRequest,
    letter_settings: Any,
    vocabulary: frozenset[str] | set[str],
    read_findings: ReadFindings | None = None,
) -> list[Problem]:
    """Every problem with a model's letter draft; an empty list means it may be used.

    The caller passes what the check depends on (validate/ imports nothing above it):
    ``letter_settings`` is the letters' ``LetterSettings`` (appeal days, decision
    timeframes), ``vocabulary`` their fixed wording (``letters.fixed_vocabulary``) and
    ``read_findings`` the note reader the model's sentences are read with
    (``letters.findings.findings_reader``): a clinical finding stated without evidence in
    the records, or denied against it, is a problem (``validate.findings``). Without a
    reader that check is not made.
    """
    settings = letter_settings
    outcome = determination.recommendation
    problems: list[Problem] = []

    # --- the outcome is the checker's, never the model's ----------------------------------
    if draft.outcome != outcome:
        problems.append(
            Problem(code="outcome_mismatch", message=f"draft states outcome {draft.outcome!r}; the checker's is {outcome!r}")
        )
    stated = stated_outcome(draft.decision)
    if stated is not None and stated != outcome:
        problems.append(
            Problem(code="outcome_mismatch", message=f"decision text reads as {stated!r}; the checker's outcome is {outcome!r}")
        )

    # --- clauses: exist, belong to the policy, were traced, quoted verbatim -----------------
    traced = traced_clause_ids(determination)
    texts = draft.texts()
    cited = list(dict.fromkeys([q.clause_id for q in draft.quotes] + [i for t in texts for i in clause_ids_in(t)]))
    usable: dict[str, str] = {}
    for clause_id in cited:
        clause = corpus.clause(clause_id)
        if clause is None or clause.deleted:
            why = "is deleted policy language" if clause else "does not exist in the corpus"
            problems.append(Problem(code="unknown_clause", message=f"cited clause {clause_id!r} {why}"))
        elif clause.policy_id != determination.policy_id:
            problems.append(
                Problem(code="clause_not_in_policy", message=f"cited clause {clause_id!r} is not part of policy {determination.policy_id!r}")
            )
        elif clause_id not in traced:
            problems.append(
                Problem(code="clause_not_traced", message=f"cited clause {clause_id!r} played no part in this determination")
            )
        else:
            usable[clause_id] = clause.text
    for q in draft.quotes:
        if q.clause_id in usable and not is_verbatim(q.quote, usable[q.clause_id]):
            problems.append(
                Problem(code="quote_not_verbatim", message=f"quote attributed to {q.clause_id!r} is not its verbatim text: {q.quote[:80]!r}")
            )
    # A letter quotes the records only where a finding rests on them: a fact's evidence span.
    records = [e.text for f in determination.facts if f.value is True for e in f.evidence]
    for text in [t for t in texts if t not in {q.quote for q in draft.quotes}]:
        for span, near_id in quoted_spans(text):
            pool = [usable[near_id]] if near_id in usable else list(usable.values())
            if not any(is_verbatim(span, t) for t in pool) and not any(is_verbatim(span, r) for r in records):
                problems.append(
                    Problem(code="quote_not_verbatim",
                            message=f"quoted text is not verbatim from a cited clause or a finding's evidence: {span[:80]!r}")
                )

    # --- the decision's grounds are addressed -----------------------------------------------
    quoted_ids = {q.clause_id for q in draft.quotes}
    pend = outcome == "needs_more_information"  # a pend quotes the criteria it asks about (criteria.asking)
    for clause_id in asked_clause_ids(determination) if pend else deciding_clause_ids(determination):
        if clause_id in quoted_ids:
            continue
        if outcome == "does_not_meet_criteria":
            problems.append(
                Problem(code="unmet_criterion_not_addressed", message=f"the deciding criterion {clause_id!r} is not quoted or explained")
            )
        else:
            problems.append(Problem(code="missing_element", message=f"the deciding clause {clause_id!r} is not quoted"))
    requested = {r.fact for r in draft.information_requested if r.question.strip()}
    missing = missing_fact_names(determination)
    if outcome == "needs_more_information":
        # The likely indication's questions must be asked (criteria.asking); any other missing fact may be.
        for name in asked_fact_names(determination):
            if name not in requested:
                problems.append(
                    Problem(code="missing_fact_not_addressed", message=f"the missing fact {name!r} is not asked for")
                )
        for name in sorted(requested - set(missing)):
            problems.append(
                Problem(code="unrequested_fact", message=f"the letter asks for {name!r}, which would not change the decision")
            )
    if outcome == "does_not_meet_criteria" and not requested:
        problems.append(
            Problem(code="missing_element", message="an adverse letter must say what information would change the decision")
        )

    # --- required elements --------------------------------------------------------------------
    def need(ok: bool, element: str, message: str) -> None:
        if not ok:
            problems.append(Problem(code="missing_element", message=f"{element}: {message}"))

    need(bool(draft.decision.strip()), "decision", "the decision is not stated")
    need(len(draft.reason.split()) >= 5, "reason", "the reason is missing or too short")
    need(bool(draft.quotes), "guideline", "no guideline clause is quoted")
    appeal = draft.appeal_rights
    rights = outcome != "meets_criteria"  # an approval carries no appeal or peer-to-peer section
    need(
        not rights
        or (bool(re.search(r"\bappeal", appeal, re.I)) and bool(re.search(rf"\b{settings.appeal.days}\b", appeal))),
        "appeal_rights",
        f"appeal rights must say the member may appeal and the {settings.appeal.days}-day time limit",
    )
    need(not rights or bool(_PEER.search(draft.peer_to_peer)), "peer_to_peer", "the peer-to-peer discussion is not offered")
    limit = settings.timeframes[request.urgency].limit
    need(
        normalize_limit(limit) in normalize_limit(draft.decision_timeframe),
        "decision_timeframe",
        f"the {request.urgency} decision timeframe ({limit}) is not stated",
    )

    # --- nothing invented, no markup, no links, no planted instructions ----------------------
    sources = Sources(
        text=case_sources(determination=determination, corpus=corpus, notes=notes, request=request),
        vocabulary=vocabulary,
    )
    for name, text in _fields(draft):
        problems += markup_problems(text, name)
        problems += link_problems(text, name)
        problems += injection_problems(text, notes, name)
        if not name.startswith("quote"):
            problems += assertion_problems(text, sources, name)

    # --- only evidenced findings: the reason, questions and rights, read as notes are -------
    if read_findings is not None:
        problems += finding_problems(
            [(name, text) for name, text in _fields(draft) if not name.startswith("quote")],
            determination=determination, corpus=corpus, read_findings=read_findings,
        )
    return problems


def normalize_limit(text: str) -> str:
    """Lower-case text with hyphens and extra spaces removed ('72-hour' ≈ '72 hour')."""
    return re.sub(r"[\s\-]+", " ", text.lower())


def _fields(draft: LetterDraft) -> list[tuple[str, str]]:
    return [
        ("decision", draft.decision),
        ("reason", draft.reason),
        *((f"quote {q.clause_id}", q.quote) for q in draft.quotes),
        *((f"question {r.fact}", r.question) for r in draft.information_requested),
        ("decision_timeframe", draft.decision_timeframe),
        ("appeal_rights", draft.appeal_rights),
        ("peer_to_peer", draft.peer_to_peer),
    ]
