"""The ask use case: question → plan → verdict + quoted clauses (+ optional model phrasing).

``Asker`` owns the answer policy that used to live in ``service.py``: which questions the
criteria decide (a stated case through the checker, or the indications × policies matrix),
which ones retrieval answers (a whole list, a metadata clause, the best clause), when the
guidelines do not address a question, and how the verdict opens the answer. It reads its
collaborators from one `AskSources` (``Services``), each on first need, so coverage answers
stand when no index is available.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Protocol

from mrs_assist.answer import (
    applies, coding, dated, definition, documentation, exclusion, guard, history, literature, polarity, prerequisite,
    requirement, retrieved, said, scope, setting, stance, version,
)
from mrs_assist.answer import quantifier as quantifiers
from mrs_assist.answer import verdict as verdicts
from mrs_assist.answer.case import (
    MAX_DECIDING, close_on_stated_reason, deciding_criteria, described_facts, named_indications, relatives_conditions,
)
from mrs_assist.answer.coverage import CoverageLine, compose_coverage
from mrs_assist.answer.extractive import NOT_ADDRESSED, compose_answer, select_quotes
from mrs_assist.answer.guard import UNMENTIONED
from mrs_assist.answer.plan import (
    METADATA_INTENTS, PAST_INTENTS, QueryPlan, documents_named, follows_up, plan_question, without_modal_ask,
)
from mrs_assist.answer.vocabulary import Vocabulary
from mrs_assist.config import Settings
from mrs_assist.corpus import Corpus
from mrs_assist.criteria import Catalogue, Policy, evaluate, resolve_facts
from mrs_assist.criteria.questions import indication_spans, indications_in_question
from mrs_assist.errors import ConfigError, CorpusError, IndexNotReadyError, ServiceUnavailableError
from mrs_assist.retrieve.policies import LITERATURE, named_policies
from mrs_assist.retrieve.shorthand import spell_out
from mrs_assist.retrieve.structure import ClauseStructure
from mrs_assist.schemas import AskRequest, AskResponse, Citation, CompareResponse, Verdict

log = logging.getLogger("mrs_assist.answer")

_METADATA = METADATA_INTENTS
_PAST = PAST_INTENTS
_GROUP = re.compile(r"\b(?:for|across|among|within)\s+(?:(?:the|its|their|all|every|each|[\w-]+['’]s)\s+)*(?P<x>[\w\s-]{2,40}?)\s+(?:indications?|criteri(?:on|a))\b", re.I)
"""A group of indications named by their condition ("for HealthHelp's tumor indications")."""
_SETS_CONDITION = re.compile(r"\b(?:when|if|once|with|where|given|since|because|after|and)\b[^,;:?.]*$", re.I)
"""Words that open a clause stating a condition of the request, before the condition's words."""
_RELATED = 3
"""Retrieved clauses quoted after a criteria answer."""


class AskSources(Protocol):
    """What an `Asker` reads, each on first need (`mrs_assist.service.Services` provides them):
    criteria load lazily, so a corpus without criteria still answers by retrieval, and the
    retriever is read only when a question needs it, so coverage answers stand without an index."""

    settings: Settings
    corpus: Corpus
    vocabulary: Vocabulary

    @property
    def catalogue(self) -> Catalogue: ...
    @property
    def policies(self) -> Mapping[str, Policy]: ...
    @property
    def matrix(self) -> CompareResponse: ...
    @property
    def retriever(self) -> Any: ...
    @property
    def chat_model(self) -> Any: ...
    @property
    def fixed_vocabulary(self) -> frozenset[str]:
        """Wording a draft may use without a source (the validator's vocabulary)."""
    def extract_facts(self, text: str, age_years: float | None = None) -> Mapping:
        """Notes → extracted facts (the determination pipeline's extractor)."""


@dataclass
class Asker:
    """Answers /v1/ask requests over one corpus, its criteria and (lazily) its index."""

    sources: AskSources

    @property
    def settings(self) -> Settings:
        return self.sources.settings

    @property
    def corpus(self) -> Corpus:
        return self.sources.corpus

    @cached_property
    def structure(self) -> ClauseStructure:
        """List parents/items and clause kinds of the corpus (the retriever's own reading)."""
        return ClauseStructure(
            {"clause_id": c.id, "section": c.section, "clause_text": c.text} for c in self.corpus.clauses()
        )

    def plan(self, request: AskRequest) -> QueryPlan:
        """The question's plan, computed once."""
        plan = plan_question(
            request.question, request.policy_ids, corpus=self.corpus, criteria=self._criteria,
            vocabulary=self.sources.vocabulary,
        )
        return self._without_conditions(plan)

    def _without_conditions(self, plan: QueryPlan) -> QueryPlan:
        """The plan less an indication whose every mention is a condition another named
        indication's cell requires ("PMD when the MRI is indeterminate and therapy planning is
        needed": the planning is HealthHelp 4's condition, not the tumor-planning indication)."""
        if len(plan.indications) < 2:
            return plan
        catalogue = self.sources.catalogue
        rows = {row.fact: row for row in self.sources.matrix.rows}
        requires = {f: {c for cell in rows[f].cells.values() for c in cell.condition_facts} for f in plan.indications if f in rows}
        spans = {f: indication_spans(plan.question, catalogue, f) for f in {*plan.indications, *(c for v in requires.values() for c in v)}}
        explained = [
            b for b in plan.indications
            if spans.get(b) and any(
                a != b and any(c != b and all(span in spans.get(c, []) for span in spans[b]) for c in requires.get(a, ()))
                for a in plan.indications)
        ]
        if not explained or len(explained) == len(plan.indications):
            return plan
        return replace(plan, indications=[f for f in plan.indications if f not in explained])

    def _criteria(self) -> tuple[Catalogue, list[str], list[str]] | None:
        """The catalogue, the matrix's indication rows and the facts its covered-if cells
        require, or None when the corpus has no criteria."""
        try:
            rows = self.sources.matrix.rows
            conditions = dict.fromkeys(f for row in rows for cell in row.cells.values() for f in cell.condition_facts)
            return self.sources.catalogue, [row.fact for row in rows], list(conditions)
        except (CorpusError, ConfigError) as exc:
            log.info("no criteria for ask (%s): retrieval answers only", exc.code)
            return None

    def ask(self, request: AskRequest) -> AskResponse:
        """A verdict-first, cited answer; raises IndexNotReadyError / ServiceUnavailableError
        only when retrieval is needed and unavailable."""
        plan = self.plan(request)
        top_k = request.top_k or self.settings.top_k
        # "will Florida Blue pay for the re-scan?"; beside a stated case only when the payer is named and
        # a repeat study is what the case is about ("the first study was limited, so the site repeats it")
        if not plan.foreign and (not plan.case_text or plan.named and said.repeat_named(plan.question)) \
                and (response := self._responsibility(plan, top_k)) is not None:
            return self._finished(plan, response)
        if (part := said.part_asked(plan.question)) is not None and not plan.case_text \
                and (response := self._part(plan, *part, top_k)) is not None:  # "… according to Cohere's notices?"
            return self._finished(plan, response)
        if plan.unset and plan.named and not plan.foreign and not plan.case_text \
                and (response := self._part(plan, None, said.without_codes(plan.question), top_k)) is not None:
            # "does Cohere (via the AMA) assign RVUs to 76390?": a topic the policies set no value for,
            # but one sentence of the policy named speaks of exactly what is asked
            return self._finished(plan, response)
        if plan.outside:
            if plan.foreign and (response := self._handed_off(plan, top_k)) is not None:
                return self._finished(plan, response)  # "does FB's guideline decide an FEP member's MRS?"
            return self._outside(plan, top_k)
        response = None
        sought = definition.definition_sought(plan.question)
        if (terms_ := definition.define_asked(plan.question) or sought) and not plan.intents & _PAST \
                and not plan.required and not definition.age_asked(plan.question):
            # "is a neonate defined by Cohere?" asks a definition, though it names a patient word
            response = self._defined(plan, terms_, top_k, undefined_only=bool(sought))
            if response is not None:
                return self._finished(plan, response)
        age = definition.age_asked(plan.question) if not plan.intents & _PAST else None
        beyond = definition.beyond_asked(plan.question) if not age and not plan.intents & _PAST else None
        if age:
            response = self._age(plan, *age, top_k)
        elif beyond:  # "can someone older than 21 still count as a child?"
            response = self._age(plan, *beyond, top_k, beyond=True)
            age = beyond if response is not None else None
        if response is not None:
            pass
        elif (asked_version := version.asked(plan.question)) and not plan.case_text \
                and (response := self._version(plan, asked_version, top_k)) is not None:  # "is Cohere's policy version 2?"
            pass
        elif (asked_date := dated.asked(plan.question)) and not plan.case_text \
                and (response := self._dated(plan, asked_date, top_k)) is not None:  # "was NIA's original date April 2007?"
            pass
        elif (applying := applies.asked(plan.question, self._defined_clauses)) \
                and (response := self._applies(plan, applying, top_k)) is not None:  # "does the repeat clause apply to a first MRS?"
            pass
        elif plan.required is not None and plan.decided_policies and not plan.intents & _PAST:
            response = self._requirement(plan, top_k)
        elif plan.required is None and (phrase := requirement.required_phrase(plan.question)) and not plan.intents & _PAST \
                and (response := self._unnamed(plan, phrase, top_k)) is not None:  # "does Cohere require a biopsy first?"
            pass
        elif plan.excluding and not plan.intents & _PAST:
            response = self._exclusion(plan, top_k)
        elif (terms_ := definition.define_asked(plan.question)) is not None and not plan.case_text \
                and (response := self._defined(plan, terms_, top_k)) is not None:
            pass
        elif (where := setting.setting_asked(plan.question)) and not plan.case_text \
                and not (where.startswith(setting.ALLOWED) and plan.indications):  # "MS covered for inpatients?": the criteria
            response = self._setting(plan, where, top_k)
        elif about := coding.completeness_asked(plan.question):
            response = self._completeness(plan, about, top_k)
        elif other := coding.other_codes_asked(plan.question):
            response = self._codes(plan, [other[0]], top_k, other=True, only=other[1])
        elif codes := coding.codes_asked(plan.question):
            response = self._codes(plan, codes, top_k)
        elif asked := history.still_asked(plan.question):
            response = self._struck(plan, asked, top_k)
        elif history.past_asked(plan.question) and (not plan.case_text or plan.intents & _PAST) \
                and (response := self._past(plan, top_k)) is not None:  # "did HH add an ataxia-in-a-child indication?"
            pass
        elif said.names_asked(plan.question) and not plan.case_text and not history.past_asked(plan.question) \
                and (response := self._other_names(plan, said.same_asked(plan.question), top_k)) is not None:
            pass
        elif documentation.asked(plan.question) and not plan.case_text \
                and (response := self._documentation(plan, top_k)) is not None:  # "does NIA require office visit notes?"
            pass
        elif stance.asks(plan.question) and not plan.case_text:
            response = self._stance(plan, top_k)
        elif said.basis_asked(plan.question) and plan.named \
                and not set(plan.named) & set(documents_named(said.without_criteria_owner(plan.question), self.corpus)) \
                & set(plan.guidelines):
            # "can the digest serve as NIA's criteria?": NIA is named only as whose criteria they would be
            response = self._literature_basis(plan, top_k)
        if response is None and not plan.case_text and (docs := self._literature_named(plan)):
            response = self._literature(plan, docs, top_k)
        if response is None and plan.quantified and plan.quantified[0] in ("same", "differ") \
                and not plan.indications and not plan.case_text:
            response = self._same_lists(plan, top_k)
        # an age no band answers, or a word asked to be defined ("does NIA define neonate?"): a quote, never the checker
        defining = not plan.coverage and bool(sought or definition.define_asked(plan.question))
        if response is None and plan.decides_coverage and not age and not defining:
            response = self._decided(plan, top_k)
            if response is not None and plan.excluding and plan.case_text:
                response = self._not_barred(response)  # "… Is the 3-month rule a bar?" beside a case that meets
        if response is None and plan.coverage and not plan.case_text and not plan.indications \
                and not plan.intents & _PAST and self._states_exclusion(plan.question):
            # "does NIA cover MRS requested only for research?": no patient, but what the question
            # says of the request is an exclusion every policy's criteria decide
            response = self._decided(replace(plan, case_text=plan.question), top_k)
        if response is None and scope.asks_what_is_said(plan.question) and plan.unmentioned and not plan.indications:
            # "Does HealthHelp say anything about sedation?" and no guideline uses the word: it does not
            words = ", ".join(repr(w) for w in plan.unmentioned)
            response = self._outside(plan, top_k, f"Not addressed — no indexed guideline uses the words {words}; "
                                                  "the closest text follows and does not answer it directly.")
        if response is None:
            response = self._retrieved(plan, top_k)
        return self._finished(plan, response)

    # --- definitions the policies write --------------------------------------------------------
    @cached_property
    def _age_bands(self) -> tuple[list[definition.AgeBand], dict[str, tuple[str, str]]]:
        """The age bands the guidelines write beside a term, and their "older ages may …" lines
        (read once from the current, non-history clauses)."""
        guidelines = {pid for pid, d in self.corpus.documents.items() if d.meta.kind == "guideline"}
        clauses = [c for c in self.corpus.clauses() if c.policy_id in guidelines and not c.deleted
                   and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE)]
        return definition.age_bands(clauses), definition.older_ages(clauses)

    @cached_property
    def _definitions(self) -> dict[str, list[tuple[str, str]]]:
        """Policy → its definition clauses (id, text), read once."""
        out: dict[str, list[tuple[str, str]]] = {}
        for c in self.corpus.clauses():
            if not c.deleted and "definition" in self._kinds(c.id):
                out.setdefault(c.policy_id, []).append((c.id, c.text))
        return out

    def _defined(self, plan: QueryPlan, terms_: list[str], top_k: int, *, undefined_only: bool = False) -> AskResponse | None:
        """'Does Florida Blue define any terms?' (``definition.from_defined``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids]
        if not policy_ids:
            return None
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        used = {pid: [(c.id, c.text) for c in self._current_clauses if c.policy_id == pid
                      and all(definition.uses(t, c.text) for t in terms_)] for pid in policy_ids} if terms_ else None
        bands = {pid: [b for b in self._age_bands[0] if b.policy_id == pid] for pid in policy_ids}
        verdict = definition.from_defined(terms_, self._definitions, payers, used, undefined_only=undefined_only, bands=bands)
        return self._answered(plan, policy_ids, verdict, top_k)

    @cached_property
    def _current_clauses(self) -> list[Any]:
        """The guidelines' current clauses that can decide (no history, reference or metadata line)."""
        return [c for c in self.corpus.clauses() if c.policy_id in self.corpus.policy_ids and not c.deleted
                and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE)]

    @cached_property
    def _defined_clauses(self) -> list[applies.Defined]:
        """Current clauses that define their own term inline (read once)."""
        return applies.defined_clauses(c for c in self.corpus.clauses()
                                       if not c.deleted and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE))

    def _applies(self, plan: QueryPlan, applying: list[applies.Defined], top_k: int) -> AskResponse | None:
        """'Does the repeat-imaging clause apply to a first MRS?' (``answer.applies``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        return self._answered(plan, policy_ids, applies.from_applies(plan.question, applying, payers), top_k)

    def _age(self, plan: QueryPlan, age: float, term: str, top_k: int, *, beyond: bool = False) -> AskResponse | None:
        """'Does a 20-year-old count as pediatric?' (``beyond``: 'can anyone older than 21?'):
        from the age bands of the policies asked."""
        bands, older = self._age_bands
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        asked = [b for b in bands if b.policy_id in policy_ids]
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        verdict = definition.from_age(age, term, plan.question, asked, payers, older, beyond=beyond)
        return self._answered(plan, policy_ids, verdict, top_k)

    # --- the criteria decide -----------------------------------------------------------------
    def _decided(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """A stated case through the checker, else the matrix; None when neither decides."""
        policy_ids = plan.decided_policies
        if not policy_ids:
            return None
        verdict, citations, investigational = self._checker_verdict(plan, policy_ids)
        coverage, more = self._matrix_answer(plan, policy_ids)
        if verdict is None:
            if not more:
                return None
            cells = [self._stated_conditions(plan, verdicts.limit_purpose(c, plan.question))
                     for c in self._cells(plan, policy_ids)]
            quantified = plan.quantified
            if quantified is None and plan.every_payer and (asked := quantifiers.predicate(plan.question)) != "covered":
                quantified = ("every", None, asked)  # "would both NIA and FB deny it?": each payer, of what is asked
            verdict = verdicts.from_matrix(cells, every=plan.every_payer, quantified=quantified,
                                           ranked=quantifiers.ranks_payers(plan.question))
            investigational = any(c.status == "investigational" for c in cells)
        if plan.quantified is None and not plan.every_payer:  # "does NIA call it investigational?", "does Cohere deny it?"
            verdict = polarity.as_asked(verdict, polarity.asked_predicate(plan.question), investigational)
        citations = _merge(citations, more)
        return self._quoted(plan, policy_ids, verdict, citations, top_k, body=coverage)

    def _states_exclusion(self, question: str) -> bool:
        """The question's own words read an exclusion as true (research only, another study)."""
        if self._criteria() is None:
            return False
        catalogue = self.sources.catalogue
        return any(v.value is True and f in catalogue and catalogue.spec(f).role == "exclusion"
                   for f, v in self.sources.extract_facts(question).items())

    def _stated_conditions(self, plan: QueryPlan, cell: verdicts.MatrixCell) -> verdicts.MatrixCell:
        """A covered-if cell whose every condition the question itself states ("… when the MRI is
        indeterminate and therapy planning is needed") is covered as asked; else the cell."""
        if cell.status != "covered_if" or not cell.condition_facts:
            return cell
        # a condition about the study itself ("therapy planning is needed") is stated as what the MRS is asked for
        asked_for = [self._about_study(fact) and self._purpose_stated(plan, fact, asked=True) for fact in cell.condition_facts]
        if all(asked or (self._purpose_stated(plan, fact) if self._is_purpose(fact) else self._condition_stated(plan, fact))
               for fact, asked in zip(cell.condition_facts, asked_for, strict=True)):
            return replace(cell, status="covered", conditions=[])
        if any(asked_for) and len(cell.conditions) == len(cell.condition_facts):
            # "MRS for X-ALD therapy planning?": only what the question leaves open is still a condition
            return replace(cell, conditions=[c for c, done in zip(cell.conditions, asked_for, strict=True) if not done],
                           condition_facts=tuple(f for f, done in zip(cell.condition_facts, asked_for, strict=True) if not done))
        return cell

    def _about_study(self, fact: str) -> bool:
        """The fact says why the study is wanted (the catalogue's ``about_the_study``), not what the patient has."""
        catalogue = self.sources.catalogue
        return fact in catalogue and bool((catalogue.spec(fact).detect or {}).get("about_the_study"))

    def _is_purpose(self, fact: str) -> bool:
        catalogue = self.sources.catalogue
        return fact in catalogue and catalogue.spec(fact).role == "purpose"

    def _purpose_stated(self, plan: QueryPlan, fact: str, *, asked: bool = False) -> bool:
        """A purpose a cell is conditioned on ("prognosis evaluation" of HIE) is stated when the
        note reader reads it true in the question ("MRS for HIE prognosis"), not when the question
        only names the condition it is the purpose for ("compare them on HIE"). ``asked``: read past
        the modal ask ("would HealthHelp approve MRS for X-ALD therapy planning?" states the planning)."""
        if not asked:
            read = self.sources.extract_facts(plan.question).get(fact)
            return read is not None and read.value is True
        # past the ask, and past a condition the question opens with ("If the MRI is non-diagnostic, …")
        text = without_modal_ask(plan.question)
        return any((read := self.sources.extract_facts(t).get(fact)) is not None and read.value is True
                   for t in dict.fromkeys([text, text.rsplit(", ", 1)[-1]]))

    def _condition_stated(self, plan: QueryPlan, fact: str) -> bool:
        """The question states the condition in a clause that sets it ("… if his MRI is
        non-diagnostic and therapy planning is needed", "with …"), not negated, and not as a word
        of the purpose asked ("differentiate a glioma from …" states no known tumor)."""
        # only in the sentence that asks: "If next month's MRI is inconclusive, they plan MRS." states a plan
        asking = max((m.end() for m in re.finditer(r"[.!?]\s+", plan.question.rstrip())), default=0)
        spans = [(a, b) for a, b in indication_spans(plan.question, self.sources.catalogue, fact)
                 if a >= asking and _SETS_CONDITION.search(plan.question[max(asking, a - 80):a])]
        return bool(spans) and not any(verdicts.NEGATED_BEFORE.search(plan.question[max(0, a - 40):a]) for a, _ in spans)

    def _answered(self, plan: QueryPlan, policy_ids: list[str], verdict: Verdict | None, top_k: int) -> AskResponse | None:
        """The response for a verdict built from clauses (its claims' clauses cited); None for no verdict."""
        if verdict is None:
            return None
        return self._quoted(plan, policy_ids, verdict, self._citations([i for c in verdict.claims for i in c.clause_ids]), top_k)

    def _quoted(self, plan: QueryPlan, policy_ids: list[str], verdict: Verdict, citations: list[Citation],
                top_k: int, body: str = "") -> AskResponse:
        """A criteria verdict's response: ``body`` (else the cited clauses quoted), then up to
        three related retrieved clauses."""
        if not body and citations:
            payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
            body = compose_answer(plan.question, citations, payer_names=payers, kinds=self._kinds)[0]
        # a literature document the question names ("the Magellan digest") is quoted beside the criteria
        literature = [p for p in plan.named if p not in plan.guidelines] if LITERATURE.search(plan.question) else []
        searched = list(dict.fromkeys([*policy_ids, *literature]))
        related = self._related(plan, searched, {c.clause_id for c in citations}, top_k)
        if related:
            text, extra = compose_answer(plan.question, related, kinds=self._kinds)
            body += "\n\nRelated guideline text (retrieved):\n" + text
            citations = _merge(citations, extra)
        return AskResponse(answer=body, citations=citations, mode="extractive", verdict=verdict)

    def _checker_verdict(self, plan: QueryPlan, policy_ids: list[str]) -> tuple[Verdict | None, list[Citation], bool]:
        """The stated case's outcome under each policy, its citations and whether a policy denies
        it as experimental/investigational; (None, [], False) when it states no facts."""
        if not plan.case_text:
            return None, [], False
        read = self.sources.extract_facts(plan.case_text, plan.case_age)
        extracted = {k: v for k, v in read.items() if v.value is not None}
        hedged = {k: v for k, v in read.items() if v.value is None and any(e.modifiers for e in v.evidence)}
        catalogue = self.sources.catalogue
        # "whose mother has MS": the patient's own condition is not stated; the checker says what is open
        relatives = relatives_conditions(plan.indications, plan.case_text, read, catalogue)
        if not extracted and not hedged and not relatives:
            return None, [], False  # a hedge alone ("the order says 'r/o MS?'") still goes to the checker: it is open
        named = {k: v for k, v in named_indications(plan.indications, plan.case_text, read, catalogue).items()
                 if k not in relatives}
        # a condition the reader read without the purpose a policy needs (unknown, from the notes,
        # with evidence) goes to the checker too: it states why the study is wanted, so the other
        # purposes close; a bare name it could not read (source "mention") does not
        opened = {k: v for k, v in read.items() if v.value is None and v.evidence and v.source == "notes"}
        facts = close_on_stated_reason(resolve_facts({**extracted, **opened}, named, catalogue), read, catalogue)
        # a condition the asking sentence sets ("would HH cover it if his MRI is non-diagnostic?") is
        # given for the answer, as a condition of the case's own documents would be
        given = {f: v.model_copy(update={"value": True, "source": "request"}) for f, v in facts.items()
                 if v.value is None and v.source == "default" and f not in read and catalogue.spec(f).role == "condition"
                 and self._condition_stated(plan, f)}
        facts = {**facts, **given}
        cases, ids, investigational = [], [], False
        for pid in policy_ids:
            policy = self.sources.policies[pid]
            evaluation = evaluate(policy, self._compatibility_open(policy, facts, plan.question), policy.scope.cpt_codes[:1],
                                  catalogue=catalogue)
            deciding = deciding_criteria(evaluation, frozenset(extracted))
            flags = [(f.label, f.clause_id) for f in evaluation.safety_flags]
            ids += [cid for _, cid in flags] + [cid for _, cid in deciding]
            investigational |= evaluation.outcome == "does_not_meet_criteria" and bool(evaluation.investigational)
            cases.append(verdicts.PolicyCase(
                policy_id=pid, payer=self.corpus.documents[pid].meta.payer, outcome=evaluation.outcome,
                deciding=deciding, flags=flags,
                missing=[catalogue.spec(f).label if f in catalogue else f for f in evaluation.missing_facts][:MAX_DECIDING],
            ))
        described = described_facts({**extracted, **hedged}, catalogue) + [
            f"a relative's, not the patient's: {catalogue.spec(f).label if f in catalogue else f}" for f in relatives]
        verdict = verdicts.from_checker(cases, every=plan.every_payer, quantified=plan.quantified).model_copy(
            update={"described": described})
        return verdict, self._citations(ids), investigational

    def _compatibility_open(self, policy: Policy, facts: Mapping, question: str) -> Mapping:
        """``facts`` with a device exclusion left open (unknown) where the policy lists the device
        only when it is not MRI-compatible and the question says nothing of compatibility ("patient
        with a pacemaker"): what the question states does not settle it (as ``exclusion.from_exclusion``)."""
        open_ = {}
        for fact in dict.fromkeys(i.fact for i in policy.exclusions):
            read = facts.get(fact)
            texts = [c.text for c in self._clauses([i.clause for i in policy.exclusions if i.fact == fact])]
            if read is not None and read.value is True and exclusion.compatibility_open(texts, question):
                open_[fact] = read.model_copy(update={"value": None})
        return {**facts, **open_} if open_ else facts

    def _same_lists(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Do NIA and Florida Blue cover the same indications?': every indication row of the
        matrix compared by its claim (yes / only if / no) across the payers named."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.named]
        if len(policy_ids) < 2 or not plan.coverage:
            return None
        catalogue = self.sources.catalogue
        facts = [row.fact for row in self.sources.matrix.rows
                 if row.fact in catalogue and catalogue.spec(row.fact).role not in verdicts.DECIDES]
        verdict = verdicts.same_lists(self._cells(plan, policy_ids, facts), plan.quantifier)
        return self._answered(plan, policy_ids, verdict, top_k)

    def _cells(self, plan: QueryPlan, policy_ids: list[str], facts: Sequence[str] | None = None) -> list[verdicts.MatrixCell]:
        """Matrix cells of the indications named (or ``facts``) under each policy."""
        rows = {row.fact: row for row in self.sources.matrix.rows}
        catalogue = self.sources.catalogue

        def role(fact: str) -> str:
            return catalogue.spec(fact).role if fact in catalogue else "indication"

        def own(fact: str, pid: str) -> str:
            """The row that answers for ``pid``: a more specific row it does not list ("neonatal HIE")
            falls back to the broader one named inside it that it does list ("HIE", for prognosis)."""
            if facts is None and rows[fact].cells[pid].status == "not_covered" and role(fact) not in verdicts.DECIDES:
                return next((b for b in plan.broader if b in rows and role(b) not in verdicts.DECIDES
                             and rows[b].cells[pid].status in ("covered", "covered_if")), fact)
            return fact

        return [
            verdicts.MatrixCell(
                policy_id=pid, payer=self.corpus.documents[pid].meta.payer, indication=rows[row].label,
                status=rows[row].cells[pid].status, conditions=list(rows[row].cells[pid].conditions),
                clause_ids=[c.id for c in self._clauses(rows[row].cells[pid].clause_ids)],
                condition_facts=tuple(rows[row].cells[pid].condition_facts),
                role=role(row),
            )
            for fact in (plan.indications if facts is None else facts)
            for pid in policy_ids
            for row in [own(fact, pid)]
        ]

    @cached_property
    def _incomplete(self) -> list[tuple[str, str, str, str]]:
        """Where a policy says a list of its own (codes, indications) is not complete (read once)."""
        return coding.incompleteness_statements(c for c in self.corpus.clauses() if not c.deleted)

    @cached_property
    def _sentences(self) -> list[stance.Sentence]:
        """Every current sentence of every document but history and reference lines (read once)."""
        return stance.sentences(c for c in self.corpus.clauses()
                                if not c.deleted and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE))

    def _stance(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Does the digest recommend …?': from a recommendation or comparison in the named
        document's own words (``answer.stance``); None when none answers."""
        searched = plan.named or plan.policy_ids or list(self.corpus.documents)
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in searched}
        verdict = stance.from_stance(plan.question, [s for s in self._sentences if s.policy_id in searched], payers)
        return self._answered(plan, searched, verdict, top_k)

    @cached_property
    def _responsibilities(self) -> list[tuple[str, str, str, str, str]]:
        """Every current sentence saying whose responsibility something is (read once)."""
        return said.responsibility_clauses(c for c in self.corpus.clauses()
                                           if not c.deleted and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE))

    def _responsibility(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Will Florida Blue reimburse the re-scan?' from the clause that says whose responsibility it is (``answer.said``)."""
        if not self._responsibilities:
            return None
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        return self._answered(plan, policy_ids, said.from_responsibility(plan.question, self._responsibilities, payers), top_k)

    @cached_property
    def _hand_offs(self) -> list[tuple[str, str, str, str]]:
        """Current clauses that send another payer's members to that payer's guidelines (read once)."""
        return scope.hand_offs(c for c in self.corpus.clauses()
                               if not c.deleted and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE))

    def _handed_off(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Does Florida Blue's guideline decide an FEP member's MRS?': no, from the policy's own
        exception (``scope.from_hand_off``); None when no named policy hands the payer off."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.named]
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        verdict = scope.from_hand_off(plan.question, plan.foreign, plan.named, self._hand_offs, payers)
        return self._answered(plan, policy_ids, verdict, top_k)

    def _part(self, plan: QueryPlan, kind: str | None, question: str, top_k: int) -> AskResponse | None:
        """'Does the AMA assign fee schedules, according to Cohere's notices?': yes or no from the
        one sentence of the named part (``kind``; None: any current clause but history, references
        and committee lines) that holds every word asked (``literature.from_sentences``), the
        named payers' own names aside; a part the question names is what it asks about, though it
        never decides coverage."""
        searched = plan.named or plan.policy_ids or list(self.corpus.documents)
        metas = [self.corpus.documents[pid].meta for pid in searched]
        proposition = literature.asked(said.without_names(question, [n for m in metas for n in (m.payer, *m.payer_aliases)]))
        if not proposition:
            return None
        if kind is None:
            # the topic's own words ("RVUs", "fee") cannot pick a sentence: something else asked must
            # be in it too ("the AMA"), else "does Cohere assign RVUs?" would read the AMA's notice
            beside = proposition
            for topic in plan.unset:
                beside = topic.pattern.sub(" ", beside)
            if len(literature.content_words(beside)) < 2:
                return None
        skip = verdicts.HISTORY_KINDS | (verdicts.NEVER_DECIDE - {"notice"})
        found = stance.sentences(
            c for c in self.corpus.clauses() if c.policy_id in searched and not c.deleted
            and (kind in self._kinds(c.id) if kind else not self._kinds(c.id) & skip))
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in searched}
        return self._answered(plan, searched, literature.from_sentences(proposition, found, payers), top_k)

    def _literature_named(self, plan: QueryPlan) -> list[str]:
        """The literature documents the question names (the digest), not the guidelines; none when
        a name the digest shares with a guideline ("Magellan") comes with an indication the
        guideline's criteria decide."""
        docs = [pid for pid in plan.named if self.corpus.documents[pid].meta.kind != "guideline"]
        if docs and plan.indications and set(plan.named) & set(plan.guidelines) and not LITERATURE.search(plan.question):
            return []
        return docs

    def _literature(self, plan: QueryPlan, docs: list[str], top_k: int) -> AskResponse | None:
        """'Does the digest say …?': yes or no from the document's own sentences (``answer.literature``);
        None when none answers."""
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in docs}
        verdict = literature.from_literature(plan.question, [s for s in self._sentences if s.policy_id in docs], payers)
        return self._answered(plan, docs, verdict, top_k)

    @cached_property
    def _settings(self) -> dict[str, tuple[str, str]]:
        """Policy → its care-setting clause (read once)."""
        return setting.setting_clauses(c for c in self.corpus.clauses()
                                       if not c.deleted and not self._kinds(c.id) & (verdicts.HISTORY_KINDS | verdicts.NEVER_DECIDE))

    def _setting(self, plan: QueryPlan, where: str, top_k: int) -> AskResponse | None:
        """'Does Cohere restrict MRS to the outpatient setting?' (``answer.setting``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        heads = {pid: ids[0] for pid in policy_ids if (ids := self._indications_clauses(pid))}
        verdict = setting.from_setting(where, self._settings, payers, every=plan.every_payer, heads=heads)
        if verdict is None:
            return None
        if verdict.basis == "not_addressed":
            return self._outside(plan, top_k, verdict.text)
        citations = self._citations([i for c in verdict.claims for i in c.clause_ids])
        return self._quoted(plan, policy_ids, verdict, citations, top_k)

    def _completeness(self, plan: QueryPlan, about: str, top_k: int) -> AskResponse | None:
        """'Is the code table the complete list?': no, where the policy's own text says so;
        None (not answered here) when no policy asked says anything about it."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        verdict = coding.from_completeness(about, self._incomplete, payers)
        return self._answered(plan, policy_ids, verdict, top_k)

    def _codes(self, plan: QueryPlan, codes: list[str], top_k: int, *, other: bool = False,
               only: bool = False) -> AskResponse | None:
        """Whether each policy asked about lists the codes asked (``other``: any code besides
        the one asked), from its code clauses."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        found = {
            pid: (self.corpus.documents[pid].meta.payer,
                  [(c.id, c.text) for c in self.corpus.clauses() if c.policy_id == pid and "code" in self._kinds(c.id)
                   and coding.CODE.search(c.text)])
            for pid in policy_ids
        }
        verdict = coding.from_other_codes(codes[0], found, only=only) if other else coding.from_codes(codes, found, plan.quantifier)
        return self._answered(plan, policy_ids, verdict, top_k)

    def _struck(self, plan: QueryPlan, asked: str, top_k: int) -> AskResponse | None:
        """'Does NIA still list X?': no, when X is the policy's struck language (``answer.history``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        for pid in policy_ids:
            clauses = [c for c in self.corpus.clauses(include_deleted=True) if c.policy_id == pid]
            deleted = [c.text for c in clauses if c.deleted] + [t for c in clauses for t in c.deleted_text]
            current = [c.text for c in clauses if not c.deleted and not self._kinds(c.id) & verdicts.HISTORY_KINDS]
            heads = self._indications_clauses(pid)
            if not heads:
                continue
            meta = self.corpus.documents[pid].meta
            payer = meta.payer
            # the payer's own names are not words of what it listed ("the NIA cystic lesions paragraph")
            for name in sorted({payer, *meta.payer_aliases, pid}, key=len, reverse=True):
                asked = re.sub(rf"(?<!\w){re.escape(name)}(?:['’]s)?(?!\w)", " ", asked, flags=re.I)
            verdict = history.from_struck(asked, payer, pid, deleted, current, heads)
            if verdict is not None:
                return self._quoted(plan, [pid], verdict, self._citations(heads), top_k)
            entries = [(c.id, c.text, spell_out(c.text)) for c in clauses if not c.deleted and "history" in self._kinds(c.id)]
            verdict = history.from_history_deleted(asked, payer, pid, entries, [spell_out(t) for t in current])
            if verdict is not None:
                return self._quoted(plan, [pid], verdict, self._citations([i for c in verdict.claims for i in c.clause_ids]), top_k)
        return None

    def _past(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Did NIA delete the therapeutic follow-up indication?' from each asked policy's own
        history entries, each read with its parents ("July 2019", "Added the following:")."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        for pid in policy_ids:
            clauses = {c.id: c for c in self.corpus.clauses() if c.policy_id == pid and not c.deleted}
            entries = []
            for cid, c in clauses.items():
                if "history" not in self._kinds(cid):
                    continue
                parents = [clauses[p].text for p in _ancestors(cid) if p in clauses and "history" in self._kinds(p)]
                entries.append((cid, spell_out(" | ".join([*parents, c.text])), c.text))
            meta = self.corpus.documents[pid].meta
            current = [spell_out(c.text) for cid, c in clauses.items() if not self._kinds(cid) & verdicts.HISTORY_KINDS]
            verdict = history.from_entries(plan.question, [meta.payer, *meta.payer_aliases, pid], meta.payer, pid, entries, current)
            if verdict is not None:
                return self._answered(plan, [pid], verdict, top_k)
        return None

    @staticmethod
    def _not_barred(response: AskResponse) -> AskResponse:
        """An exclusion asked of a stated case the checker finds meeting every criterion asked: what
        is asked does not bar it, so the answer to "is it a bar?" is no (the rows say why)."""
        verdict = response.verdict
        if verdict is None or verdict.basis != "checker" or verdict.claim != "yes":
            return response
        rows = [c for c in verdict.claims if not c.text.startswith(verdicts.FLAG_LEAD)]
        if not rows or not all(c.text.startswith("Yes") for c in rows):
            return response
        lead = "No — as the question states the case, nothing bars it: it meets the criteria; by payer:"
        return response.model_copy(update={"verdict": verdicts.render(lead, list(verdict.claims), "checker", "no")})

    def _unnamed(self, plan: QueryPlan, phrase: str, top_k: int) -> AskResponse | None:
        """'Does Cohere require a biopsy before MRS?': no, from criteria that never name it (``answer.prerequisite``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        criteria: dict[str, list[tuple[str, str]]] = {}
        for c in self._current_clauses:
            if c.policy_id in policy_ids and prerequisite.criteria_clause(c.id):
                criteria.setdefault(c.policy_id, []).append((c.id, c.text))
        for own in criteria.values():  # the indications' own head first: it is what the "no" cites
            own.sort(key=lambda item: not re.search(r"#(?:indications|position)(?:\.1)?$", item[0]))
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        return self._answered(plan, policy_ids, prerequisite.from_unnamed(phrase, criteria, payers), top_k)

    def _version(self, plan: QueryPlan, asked: tuple[str, str], top_k: int) -> AskResponse | None:
        """'Is Cohere's policy version 2?' from each asked policy's own version line (``answer.version``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        lines: dict[str, list[tuple[str, str]]] = {}
        for c in self.corpus.clauses():
            if c.policy_id in policy_ids and not c.deleted and "version" in self._kinds(c.id) \
                    and not self._kinds(c.id) & verdicts.HISTORY_KINDS:
                lines.setdefault(c.policy_id, []).append((c.id, c.text))
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        return self._answered(plan, policy_ids, version.from_version(asked, lines, payers), top_k)

    def _dated(self, plan: QueryPlan, asked: tuple, top_k: int) -> AskResponse | None:
        """'Is Cohere's guideline effective October 30, 2024?' from each asked policy's own dated line (``answer.dated``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.named]
        if not policy_ids:
            return None  # a date asked of no payer named is no policy's line
        lines: dict[str, list[tuple[str, str]]] = {}
        for c in self.corpus.clauses():  # a history section's "Original Date: …" line too: it dates the first version
            if c.policy_id in policy_ids and not c.deleted:
                lines.setdefault(c.policy_id, []).append((c.id, c.text))
        payers = {pid: self.corpus.documents[pid].meta.payer for pid in policy_ids}
        return self._answered(plan, policy_ids, dated.from_dated(asked, lines, payers, every=plan.every_payer), top_k)

    def _documentation(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Does NIA require office visit notes?' from each asked policy's own "must be provided"
        sentence (``answer.documentation``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        clauses: dict[str, list[tuple[str, str]]] = {}
        for c in self._current_clauses:
            if c.policy_id in policy_ids:
                clauses.setdefault(c.policy_id, []).append((c.id, c.text))
        metas = {pid: self.corpus.documents[pid].meta for pid in policy_ids}
        verdict = documentation.from_documentation(
            plan.question, clauses, {pid: m.payer for pid, m in metas.items()},
            {pid: (m.payer, *m.payer_aliases, pid) for pid, m in metas.items()})
        return self._answered(plan, policy_ids, verdict, top_k)

    def _literature_basis(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """'Can I approve by citing the digest?': no, a literature document sets no criteria (``answer.said``)."""
        for pid in plan.named:
            sections: dict[str, list[Citation]] = {}
            for c in self._citations([c.id for c in self.corpus.clauses() if c.policy_id == pid
                                      and not self._kinds(c.id) & verdicts.NEVER_DECIDE]):
                sections.setdefault(c.clause_id.rpartition(".")[0], []).append(c)
            verdict = said.from_literature_basis(plan.question, self.corpus.documents[pid].meta.payer, sections)
            if verdict is not None:
                return self._answered(plan, [pid], verdict, top_k)
        return None

    def _other_names(self, plan: QueryPlan, quoted: list[str], top_k: int) -> AskResponse | None:
        """'Is 1H-MRS the same service?': from each asked policy's list of other names (``answer.said``)."""
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        lists = []
        for clause in self.corpus.clauses():
            if clause.policy_id in policy_ids and not clause.deleted and said.NAMES_LIST.search(clause.text):
                unit = self.structure.unit(clause.id)
                if unit and unit[0] == clause.id:
                    parent, *items = self._citations(unit)
                    lists.append((self.corpus.documents[clause.policy_id].meta.payer, parent, items))
        # "Does Florida Blue list NMR spectroscopy as another name?": the list's own names, as used,
        # beside any quoted ("is 'proton spectroscopy' or MRSI a different service?")
        listed = [n for _, _, items in lists for n in said.listed_names(plan.question, items)]
        quoted = list(dict.fromkeys([*quoted, *(n for n in listed
                                                if not any(n.lower() in q.lower() or q.lower() in n.lower() for q in quoted))]))
        verdict = said.from_other_names(quoted, lists, different=said.different_asked(plan.question))
        return self._answered(plan, policy_ids, verdict, top_k)

    def _indications_clauses(self, policy_id: str) -> list[str]:
        """The clause that heads a policy's indications, else each indication's own clause."""
        try:
            node = self.sources.policies[policy_id].indications
        except (CorpusError, ConfigError, KeyError):
            return []
        refs = [node.clause] if node.clause else [n.clause for n in (node.any_ or node.all_ or []) if n.clause]
        return [c.id for c in self._clauses(refs)]

    def _exclusion(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """Whether what the question names is a listed exclusion, per policy; None when the
        note reader finds nothing in it or no criteria are loaded."""
        if self._criteria() is None:
            return None
        # an item the question states as possible ("possible metallic foreign body") is read too: open;
        # so is one named without what its own clause joins to it ("renal insufficiency", no gadolinium)
        read = self._items_read(plan.question)
        catalogue = self.sources.catalogue
        named_only: dict[str, bool] = {}
        if not read:
            # "is a cardiac valve a non-indication?": an example a listed item's own clause gives
            asked = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
            items = [i for pid in asked for lists_ in [self._lists(pid, catalogue)] for i in (*lists_.exclusions, *lists_.safety)]
            named_only = exclusion.named_examples(plan.question, items)
        if not read and not named_only:
            # "does NIA list any contraindications?": nothing named, but the named policies' lists are asked
            # of, and none of them has any: not addressed, said plainly
            named = [pid for pid in plan.guidelines if pid in plan.named]
            if not named or not exclusion.LIST_WORD.search(plan.question):
                return None
            read, lists = {}, [self._lists(pid, catalogue) for pid in named]
            if any(p.exclusions or p.safety for p in lists):
                return None
        # "would NIA auto-deny MRS for glioma grading?" names a purpose, not an item of a list: the
        # criteria answer whether it is denied ("is MS a non-indication?" still asks the lists)
        roles = {catalogue.spec(f).role if f in catalogue else "" for f in read}
        if not exclusion.LIST_WORD.search(plan.question) and "purpose" in roles and roles <= {"purpose", "condition"}:
            return None
        policy_ids = [pid for pid in plan.guidelines if pid in plan.policy_ids] or plan.guidelines
        lists = [self._lists(pid, catalogue) for pid in policy_ids]
        verdict = exclusion.from_exclusion(plan.question, {**{k: v.value for k, v in read.items()}, **named_only}, lists,
                                           named=bool(plan.policy_ids), every=plan.every_payer, apart=self._follows_up_item(plan.question))
        if verdict is None:
            return None
        verdict = verdict.model_copy(update={"described": described_facts(read, catalogue)})
        citations = self._citations([i for c in verdict.claims for i in c.clause_ids])
        response = self._quoted(plan, policy_ids, verdict, citations, top_k)
        if verdict.basis == "not_addressed":  # nothing to check: said first, the closest text after it
            response = response.model_copy(update={"answer": f"{verdict.text}\n{response.answer}".rstrip()})
        return response

    def _follows_up_item(self, question: str) -> bool:
        """A bare follow-up that names another item ("… What about pregnancy?"), not another payer
        ("… What about Cohere?", which asks the payers one by one)."""
        last = re.split(r"(?<=[.!?])\s+", question.strip())[-1]
        return follows_up(question) and not named_policies(last, self.corpus)

    def _items_read(self, question: str) -> dict:
        """What the note reader reads in an exclusion question: true or hedged items, and items named
        but left open; read again without the payer's verb of judging when that finds nothing
        ("does HealthHelp consider a pacemaker a contraindication?": "consider" reads as a plan)."""
        def read_in(text: str) -> dict:
            return {k: v for k, v in self.sources.extract_facts(text).items()
                    if v.value is not None or any(e.modifiers for e in v.evidence) or (v.evidence and v.source == "notes")}
        return read_in(question) or read_in(exclusion.JUDGING.sub(" ", question))

    def _lists(self, policy_id: str, catalogue: Catalogue) -> exclusion.PolicyLists:
        policy = self.sources.policies[policy_id]

        def item(it) -> exclusion.ListedItem:
            ids = tuple(c.id for c in self._clauses([it.clause, *it.see_also]))
            clause = self.corpus.clause(it.clause)
            contra = bool(clause and exclusion.CONTRA.search(f"{clause.section} {it.clause}"))
            label = it.label or (catalogue.spec(it.fact).label if it.fact in catalogue else it.fact)
            condition = exclusion.joined_condition(clause.text) if clause else ""
            return exclusion.ListedItem(it.fact, label, ids, contra, condition, clause.text if clause else "")

        head = policy.exclusions_clause
        if head is None and policy.safety_flags:
            parent = policy.safety_flags[0].clause.rpartition(".")[0]
            head = parent if self.corpus.clause(parent) and exclusion.CONTRA.search(parent) else None
        # Exclusions the project reads into every policy (research-only, a miscoded study: README
        # "Interpretations decided") cite the indications or the code clause, not a list the payer
        # wrote: an exclusion question is answered from the payer's own lists.
        interpreted = {policy.scope.cpt_clause, policy.scope.region_clause, policy.indications.clause}
        listed = [i for i in policy.exclusions if i.clause not in interpreted and not i.clause.startswith("indications")]
        return exclusion.PolicyLists(
            policy_id=policy_id, payer=self.corpus.documents[policy_id].meta.payer,
            exclusions=[item(i) for i in listed], safety=[item(i) for i in policy.safety_flags], head=head,
        )

    def _requirement(self, plan: QueryPlan, top_k: int) -> AskResponse | None:
        """Whether the condition asked about is required, per policy (``answer.requirement``)."""
        policy_ids = plan.decided_policies
        every = [row.fact for row in self.sources.matrix.rows]
        by_policy: dict[str, list[verdicts.MatrixCell]] = {pid: [] for pid in policy_ids}
        for cell in self._cells(plan, policy_ids, every):
            by_policy[cell.policy_id].append(cell)
        labels = {row.fact: row.label for row in self.sources.matrix.rows}
        catalogue = self.sources.catalogue
        # "HH criterion 4 - is therapy planning required …?": the numbered criterion is what is asked
        # over, and words read as the requirement asked are not also an indication it names
        number = requirement.numbered_criterion(plan.question)
        if number is None and len(policy_ids) == 1 and (words := requirement.criterion_subject(plan.question)):
            # "HealthHelp's brain-tumor criterion": the one criterion its words name, as its number would
            number = requirement.subject_criterion(words, self._top_criteria(policy_ids[0]))
        required = [span for f in plan.required.facts for span in indication_spans(plan.question, catalogue, f)] if number else []

        def is_requirement(fact: str) -> bool:
            spans = indication_spans(plan.question, catalogue, fact)
            return bool(spans) and all(any(a >= ra and b <= rb for ra, rb in required) for a, b in spans)

        named = [labels[f] for f in plan.indications if f not in plan.required.facts and not is_requirement(f)]
        asked = [f for cells in by_policy.values() for c in cells if c.indication in named for f in c.condition_facts]
        wanted = plan.required.resolved(asked)
        heads = {pid: f"{pid}#indications" for pid in policy_ids if self.corpus.clause(f"{pid}#indications")}
        scope = "it lists"
        if number and len(policy_ids) == 1 and not named:
            # "HealthHelp criterion 1: must the tumor be known?": the indications under that criterion
            pid = policy_ids[0]
            clause = f"{pid}#indications.{number}"
            under = requirement.within(by_policy[pid], clause)
            if self.corpus.clause(clause) and under:
                by_policy[pid], heads[pid], scope = under, clause, f"under its criterion {number}"
        if not named and not number and wanted.fact in plan.indications and wanted.fact in labels:
            # "does HealthHelp require that encephalopathy MRS be for prognosis?": the purpose asked is
            # itself an indication row; asked over that row and the rows it is the purpose of (HIE)
            own = labels[wanted.fact]
            verdict = requirement.purpose_only(wanted, {
                pid: [c for c in cells if c.indication == own or wanted.fact in c.condition_facts]
                for pid, cells in by_policy.items()})
        else:
            if not named and not number and (carried := self._carried(plan, by_policy)):
                # "does HealthHelp require a non-diagnostic MRI for a known brain tumor?": a condition named
                # beside the requirement asks over the indications that carry it, not every indication
                by_policy = {pid: carried.get(pid) or cells for pid, cells in by_policy.items()}
                scope = "it lists for " + " or ".join(dict.fromkeys(
                    catalogue.spec(f).label for f in self._named_conditions(plan) if f in catalogue))
            facts = {f for cells in by_policy.values() for c in cells for f in c.condition_facts}
            verdict = requirement.from_requirement(wanted, by_policy, named, heads,
                                                   {f: catalogue.spec(f).label for f in facts if f in catalogue}, scope,
                                                   over="every" if plan.every_payer else "any" if plan.quantifier == "any" else None)
        if not verdict.claims:
            return None
        citations = self._citations([i for c in verdict.claims for i in c.clause_ids])
        return self._quoted(plan, policy_ids, verdict, citations, top_k)

    def _top_criteria(self, policy_id: str) -> dict[str, str]:
        """A policy's numbered indications (number → the clause's own text), e.g. '1' → "Brain tumors are known …"."""
        head = f"{policy_id}#indications."
        return {c.id[len(head):]: c.text for c in self.corpus.clauses()
                if c.id.startswith(head) and c.id[len(head):].isdigit() and not c.deleted}

    def _named_conditions(self, plan: QueryPlan) -> list[str]:
        """The condition facts a requirement question names outside what it asks to be required
        ("… a non-diagnostic MRI before MRS for a known brain tumor?" names the known tumor)."""
        loaded = self._criteria()
        if loaded is None or plan.required is None:
            return []
        catalogue, _, conditions = loaded
        phrase = requirement.required_phrase(plan.question)
        rest = plan.question.replace(phrase, " ") if phrase else plan.question
        named = [f for f in indications_in_question(rest, catalogue, conditions) if f not in plan.required.facts]
        # "… for HealthHelp's tumor indications?": the group named by its condition, even the one asked as required
        for group in _GROUP.finditer(plan.question):
            named += [f for f in indications_in_question(group.group("x"), catalogue, conditions) if f not in named]
        return named

    def _carried(self, plan: QueryPlan, by_policy: dict[str, list[verdicts.MatrixCell]]) -> dict[str, list[verdicts.MatrixCell]]:
        """Policy → its covered cells that carry a condition the question names beside the requirement."""
        named = set(self._named_conditions(plan))
        if not named:
            return {}
        return {pid: own for pid, cells in by_policy.items()
                if (own := [c for c in cells if named & set(c.condition_facts)])}

    def _matrix_answer(self, plan: QueryPlan, policy_ids: list[str]) -> tuple[str, list[Citation]]:
        """The per-policy coverage lines for the indications named, and their citations."""
        if not plan.indications:
            return "", []
        lines = [
            CoverageLine(
                policy_id=cell.policy_id, payer=cell.payer, indication=cell.indication, status=cell.status,
                conditions=tuple(cell.conditions),
                clauses=tuple((c.id, c.section, c.text) for c in self._clauses(cell.clause_ids)),
            )
            for cell in self._cells(plan, policy_ids)
        ]
        return compose_coverage(plan.question, lines)

    def _related(self, plan: QueryPlan, policy_ids: list[str], cited: set[str], top_k: int) -> list:
        """Up to three retrieved clauses the criteria answer did not already quote."""
        try:
            result = self.sources.retriever.search(plan.question, policy_ids=policy_ids, top_k=top_k, intents=plan.intents)
        except (IndexNotReadyError, ServiceUnavailableError):
            return []  # the criteria answer stands on its own; retrieval only adds context
        return [h for h in select_quotes(result.hits) if h.clause_id not in cited][:_RELATED]

    # --- no indexed policy answers it ----------------------------------------------------------
    def _outside(self, plan: QueryPlan, top_k: int, text: str = "") -> AskResponse:
        """'Not addressed' said plainly (another payer, a topic the policies never set, or
        ``text``), then the closest indexed text, offered for comparison."""
        indexed = list(dict.fromkeys(d.meta.payer for d in self.corpus.documents.values() if d.meta.kind == "guideline"))
        # an indexed payer named beside another: the other is what no policy answers ("does UHC follow
        # Cohere's criteria?"), unless a topic the policies never set is what is asked
        foreign = plan.foreign if not plan.named or not plan.unset else [p for p in plan.foreign if p in scope.ALWAYS_OUTSIDE]
        text = text or scope.outside_statement(foreign, plan.unset, indexed)
        verdict = verdicts.not_addressed(text)
        try:
            result = self.sources.retriever.search(plan.question, policy_ids=plan.policy_ids, top_k=top_k, intents=plan.intents)
        except (IndexNotReadyError, ServiceUnavailableError):
            result = None
        if result is None or not plan.addressed(result, self.settings):
            return AskResponse(answer=f"{text}\n\n{NOT_ADDRESSED}", citations=[], mode="extractive", verdict=verdict)
        hits = [h for h in result.hits if not self._kinds(h.clause_id) & verdicts.NEVER_DECIDE] or result.hits
        body, citations = compose_answer(plan.question, select_quotes(hits), kinds=self._kinds)
        return AskResponse(answer=f"{text}\n\nClosest text (not an answer):\n{body}", citations=citations,
                           mode="extractive", verdict=verdict)

    # --- retrieval answers -------------------------------------------------------------------
    def _retrieved(self, plan: QueryPlan, top_k: int) -> AskResponse:
        result = self.sources.retriever.search(plan.question, policy_ids=plan.policy_ids, top_k=top_k, intents=plan.intents)
        if not plan.addressed(result, self.settings):
            return AskResponse(answer=NOT_ADDRESSED, citations=[], mode="extractive", verdict=verdicts.not_addressed())
        verdict, lead = retrieved.verdict_from_hits(plan, result.hits, corpus=self.corpus, structure=self.structure,
                                                    kinds=self._kinds, citations=self._citations)
        quoted = result.hits if plan.intents & (_METADATA | {"list"}) else select_quotes(result.hits)
        answer, citations = compose_answer(plan.question, quoted, kinds=self._kinds)
        if plan.unmentioned:
            answer = (
                f"{UNMENTIONED} {', '.join(repr(w) for w in plan.unmentioned)}; "
                "the closest clauses are quoted below and may not answer the question directly.\n\n"
                + answer
            )
        return AskResponse(answer=answer, citations=_merge(lead, citations), mode="extractive", verdict=verdict)

    # --- guard and phrasing ------------------------------------------------------------------
    def _finished(self, plan: QueryPlan, response: AskResponse) -> AskResponse:
        """The response with its verdict checked against its citations, then phrased by the model
        when one is configured (``answer.guard``)."""
        checked = guard.check_response(plan.question, response, corpus=self.corpus,
                                       vocabulary=self.sources.fixed_vocabulary, kinds=self._kinds)
        return guard.phrase_response(plan.question, checked, chat_model=self.sources.chat_model, corpus=self.corpus,
                                     prompts_dir=self.settings.prompts_dir, vocabulary=self.sources.fixed_vocabulary,
                                     policy_ids=plan.policy_ids)

    # --- helpers -----------------------------------------------------------------------------
    def _kinds(self, clause_id: str) -> frozenset[str]:
        return self.structure.kinds.get(clause_id, frozenset())

    def _clauses(self, ids: Sequence[str]) -> list:
        clauses = (self.corpus.clause(cid) for cid in dict.fromkeys(ids))
        return [c for c in clauses if c is not None and not c.deleted]

    def _citations(self, ids: Sequence[str]) -> list[Citation]:
        return [
            Citation(clause_id=c.id, policy_id=c.policy_id, section=c.section, text=c.text, score=1.0)
            for c in self._clauses(ids)
        ]


def _ancestors(clause_id: str) -> list[str]:
    """'p#a.b.c' → ['p#a', 'p#a.b'] (outermost first)."""
    head, _, tail = clause_id.partition("#")
    parts = tail.split(".")
    return [f"{head}#{'.'.join(parts[:i])}" for i in range(1, len(parts))]


def _merge(first: Sequence[Citation], second: Sequence[Citation]) -> list[Citation]:
    """Citations of both, first's order first, each clause once."""
    out: dict[str, Citation] = {}
    for c in [*first, *second]:
        out.setdefault(c.clause_id, c)
    return list(out.values())
