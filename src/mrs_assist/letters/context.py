"""Determination + request + corpus → everything a letter template may print.

The reasons are written from the trace and the facts catalogue's plain-language labels,
never from the clinical notes themselves: the notes are untrusted text, and a letter
quotes the guideline, not the chart.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mrs_assist.corpus import Corpus
from mrs_assist.criteria.asking import asked_clause_ids, asked_groups
from mrs_assist.criteria.trace import deciding_clause_ids, facts_valued, missing_fact_names, section
from mrs_assist.errors import InvalidRequestError
from mrs_assist.letters.pending import pend_reason
from mrs_assist.letters.settings import FactWording, LetterKind, LetterSettings
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse, Outcome

_TITLES: dict[str, str] = {
    "approval": "Notice of approval",
    "request_for_information": "Request for additional information",
    "adverse_determination_draft": "Notice of adverse determination (DRAFT)",
}


_UNWORDED_LABEL = "a criterion of the guideline quoted below"
_UNWORDED_QUESTION = "Do the records show that the request meets the guideline criteria quoted below?"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyView(_Model):
    name: str
    id: str
    name_given: bool
    id_given: bool


class QuotedClauseView(_Model):
    clause_id: str
    section: str
    text: str


class QuestionView(_Model):
    fact: str
    label: str
    question: str
    group: str = ""  # the plain heading of its group (letters.pending); questions come in group order


class GuidelineView(_Model):
    policy_id: str
    payer: str
    title: str
    version: str
    dates: list[str]
    body_region: str


class DenialReasonView(_Model):
    """The coded reason of an adverse determination (the same the PAS ClaimResponse carries)."""

    code: str
    display: str
    text: str
    clause_id: str | None


class LetterContext(_Model):
    """The variables every letter template receives (and nothing else)."""

    kind: LetterKind
    title: str
    outcome: Outcome
    urgency: Literal["standard", "expedited"]
    timeframe_label: str
    timeframe_limit: str
    service_name: str
    service_abbreviation: str
    cpt_code: str
    other_codes: list[str]
    member: PartyView
    provider: PartyView
    placeholders: dict[str, str]
    guideline: GuidelineView
    documented: list[str]
    reasons: list[str]
    denial_reason: DenialReasonView | None
    clauses: list[QuotedClauseView]
    questions: list[QuestionView]
    appeal_days: int
    expedited_appeal_hours: int
    external_review: bool
    fields: dict[str, str]


def _party(party, name_placeholder: str, id_placeholder: str) -> PartyView:
    name = (party.name or "").strip() if party else ""
    pid = (party.id or "").strip() if party else ""
    return PartyView(name=name or name_placeholder, id=pid or id_placeholder, name_given=bool(name), id_given=bool(pid))


def _date_words(name: str, value: dt.date) -> str:
    return f"{name.replace('_', ' ')} {value.strftime('%B')} {value.day}, {value.year}"


def _join(items: list[str]) -> str:
    # Labels are phrases of several shapes (nouns, clauses, verb phrases), so they are
    # always listed after a colon, separated by semicolons.
    return "; ".join(items)


def _labels(names, wording: dict[str, FactWording], quotes: dict[str, str] | None = None) -> list[str]:
    # A fact without catalogue wording is left out (or described generically when it is the
    # only one): an internal fact name is never printed in a letter. With ``quotes``, each
    # finding carries the words of the records it rests on.
    quotes = quotes or {}
    labels = list(dict.fromkeys(
        wording[n].label + (f' (the records: "{quotes[n]}")' if quotes.get(n) else "") for n in names if n in wording
    ))
    return labels or ([_UNWORDED_LABEL] if names else [])


QUOTE_CHARS = 80
"""The longest stretch of the records a letter quotes for one finding."""


def _evidence_quotes(determination: DeterminationResponse) -> dict[str, str]:
    """Each true fact's first evidence span, as the letter quotes it (issue 18: only findings
    with evidence in the records reach a letter, each with the words it rests on)."""
    quotes = {}
    for f in determination.facts:
        if f.value is True and f.evidence:
            shortest = min((" ".join(e.text.split()) for e in f.evidence), key=len)
            quotes[f.name] = shortest if len(shortest) <= QUOTE_CHARS else ""  # never a cut quote
    return quotes


def _reasons(
    determination: DeterminationResponse, wording: dict[str, FactWording], deciding: list[str], body_region: str
) -> tuple[list[str], list[str], list[str]]:
    """Plain-language reasons, the documented conditions, and the facts whose answer
    could change an adverse decision."""
    trace = determination.trace
    outcome = determination.recommendation
    quotes = _evidence_quotes(determination)
    true_facts = [f.name for f in determination.facts if f.value is True and f.name in quotes]
    role = {n: w.role for n, w in wording.items()}
    documented = _labels([n for n in true_facts if role.get(n) in ("purpose", "condition")], wording, quotes)

    reasons: list[str] = []
    change: list[str] = []
    if outcome == "meets_criteria":
        met = [*facts_valued(section(trace, "indications"), True), *facts_valued(section(trace, "scope"), True)] or true_facts
        labels = _labels([n for n in met if role.get(n) != "scope" and n in quotes], wording, quotes)
        if labels:
            reasons.append(
                "The records sent document the following, which the guideline lists as a reason MRS "
                f"is medically necessary (quoted below): {_join(labels)}."
            )
    elif outcome == "needs_more_information":
        if documented:
            reasons.append(f"The records sent describe the following: {_join(documented)}.")
        reasons += pend_reason(asked_groups(determination), lambda names: _labels(names, wording))
    else:
        scope = section(trace, "scope")
        # Out of scope only when the scope check itself failed; its true leaves say why
        # (e.g. MRS of a region other than the brain).
        for name in facts_valued(scope, True) if scope is not None and scope.value is False else []:
            reasons.append(
                f"The request is for the following: {_labels([name], wording, quotes)[0]}. This guideline covers MRS of the "
                f"{body_region} only, so it cannot support this request."
            )
        for name in [f.fact for f in trace.investigational]:
            reasons.append(
                f"The request is for this use of MRS: {_labels([name], wording)[0]}. The guideline considers MRS for "
                "this use experimental or investigational, which means it has not been shown to "
                "improve care, so it is not medically necessary under this guideline."
            )
        for name in facts_valued(section(trace, "exclusions"), True):
            reasons.append(
                f"The records sent document the following: {_labels([name], wording, quotes)[0]}. The guideline "
                "lists this as a reason MRS is not appropriate."
            )
            change.append(name)
        indications = section(trace, "indications")
        if indications is not None and indications.value is False:
            false_leaves = facts_valued(indications, False)
            unmet = [n for n in false_leaves if role.get(n) == "condition"]
            if not reasons:
                if documented and not unmet:
                    reasons.append(
                        f"The records sent describe the following: {_join(documented)}. This is not one of "
                        "the uses the guideline lists as medically necessary."
                    )
                elif documented:
                    reasons.append(f"The records sent describe the following: {_join(documented)}.")
                elif not unmet:
                    reasons.append("The records sent do not show any of the uses the guideline lists as medically necessary.")
                for name in unmet:
                    reasons.append(
                        "The guideline requires the following, and the records sent show it is not the "
                        f"case: {_labels([name], wording)[0]}."
                    )
            # Documenting a listed use (or a required condition) would change the decision.
            change.extend(n for n in false_leaves if n in wording)
        if not reasons:
            reasons.append("The records sent do not meet the guideline's criteria quoted below.")
    change = list(dict.fromkeys([*missing_fact_names(determination), *change]))
    if not reasons and deciding:
        reasons.append("The records sent meet the guideline's criteria quoted below.")
    return reasons, documented, change


def build_context(
    determination: DeterminationResponse,
    request: DeterminationRequest,
    *,
    corpus: Corpus,
    settings: LetterSettings,
    wording: dict[str, FactWording],
) -> LetterContext:
    """The template variables for this determination; raises InvalidRequestError when the
    policy is not in the corpus."""
    from mrs_assist.letters.model import KIND_BY_OUTCOME

    doc = corpus.documents.get(determination.policy_id)
    if doc is None:
        raise InvalidRequestError(f"policy {determination.policy_id!r} is not in the corpus")
    kind = KIND_BY_OUTCOME[determination.recommendation]
    # A pend quotes the criteria it asks about (criteria.asking), not every open branch's.
    deciding = asked_clause_ids(determination) if kind == "request_for_information" else deciding_clause_ids(determination)
    cited = {c.clause_id: c for c in determination.citations}
    clauses: list[QuotedClauseView] = []
    for clause_id in deciding:
        clause = corpus.clause(clause_id)
        if clause is not None and not clause.deleted:
            clauses.append(QuotedClauseView(clause_id=clause.id, section=clause.section, text=clause.text))
        elif clause_id in cited:  # the citation carries the verbatim text too
            c = cited[clause_id]
            clauses.append(QuotedClauseView(clause_id=c.clause_id, section=c.section, text=c.text))
    reasons, documented, change = _reasons(determination, wording, deciding, doc.meta.body_region)
    group_of: dict[str, str] = {}
    if kind == "request_for_information":  # the likely indication's questions, grouped (criteria.asking)
        group_of = {f: g.heading for g in asked_groups(determination) for f in g.facts}
        asked = list(group_of)
    elif kind == "adverse_determination_draft":
        asked = change
    else:
        asked = []
    questions = [
        QuestionView(
            fact=name,
            label=wording[name].label if name in wording else _UNWORDED_LABEL,
            question=wording[name].question if name in wording else _UNWORDED_QUESTION,
            group=group_of.get(name, ""),
        )
        for name in asked
    ]
    timeframe = settings.timeframes[request.urgency]
    ph = settings.placeholders
    code = settings.service.cpt_code
    return LetterContext(
        kind=kind,
        title=_TITLES[kind],
        outcome=determination.recommendation,
        urgency=request.urgency,
        timeframe_label=timeframe.label,
        timeframe_limit=timeframe.limit,
        service_name=settings.service.name,
        service_abbreviation=settings.service.abbreviation,
        cpt_code=code,
        other_codes=[c for c in request.cpt_codes if c != code],
        member=_party(request.member, ph.member_name, ph.member_id),
        provider=_party(request.provider, ph.provider_name, ph.provider_id),
        placeholders=ph.model_dump(),
        guideline=GuidelineView(
            policy_id=doc.id,
            payer=doc.meta.payer,
            title=doc.meta.title,
            version=determination.policy_version or doc.meta.version,
            dates=[_date_words(k, v) for k, v in doc.meta.dates.items()],
            body_region=doc.meta.body_region,
        ),
        documented=documented,
        reasons=reasons,
        denial_reason=_denial_reason_view(determination),
        clauses=clauses,
        questions=questions,
        appeal_days=settings.appeal.days,
        expedited_appeal_hours=settings.appeal.expedited_hours,
        external_review=settings.appeal.external_review,
        fields={
            "provider_note": settings.fields.provider_note,
            **({"requested_documents": settings.fields.requested_documents} if kind == "request_for_information" else {}),
        },
    )


def _denial_reason_view(determination: DeterminationResponse) -> DenialReasonView | None:
    from mrs_assist.criteria.reasons import denial_reason

    reason = denial_reason(determination)
    if reason is None:
        return None
    return DenialReasonView(code=reason.code, display=reason.display, text=reason.text, clause_id=reason.clause_id)
