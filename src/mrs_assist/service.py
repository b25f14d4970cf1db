"""The library's front door: the functions the API and the CLI both call.

`Services` holds what is loaded once per process (corpus, policies, catalogue, retriever)
and answers the contract's requests. It owns no logic of its own beyond wiring the
stages together in one direction (README "How it works").
"""

from __future__ import annotations

import copy
import logging
import threading
from functools import cached_property

from mrs_assist.answer.vocabulary import Vocabulary
from mrs_assist.config import Settings, get_settings
from mrs_assist.corpus import Corpus, load_corpus
from mrs_assist.criteria import Catalogue, Evaluation, FactValue, Policy, evaluate, load_catalogue, load_policies, resolve_facts
from mrs_assist.errors import ConflictError, ForbiddenError, InvalidRequestError, UnknownPolicyError
from mrs_assist.schemas import (
    AskRequest,
    AskResponse,
    Citation,
    CompareCell,
    CompareResponse,
    CompareRow,
    DeterminationRequest,
    DeterminationResponse,
    EvidenceOut,
    FactOut,
    Letter,
    PolicySummary,
    Trace,
)


log = logging.getLogger("mrs_assist.service")


class Services:
    """Loaded state and the use cases over it; one per process (or per test).

    It owns what the API serves from — the record store, the authenticator, the FHIR service
    and readiness — so `mrs_assist.api.app.create_app` builds exactly one and the routes'
    dependencies only read its attributes. A test hands in its own `retriever`, `records` or
    `authenticator`, or the `embedder` questions go through (default: setting query_embedder),
    which the retriever and the readiness self-check then share.
    """

    def __init__(self, settings: Settings | None = None, *, retriever=None, records=None, authenticator=None,
                 embedder=None) -> None:
        self.settings = settings or get_settings()
        self._retriever = retriever
        self._embedder = embedder
        self._records = records
        self._authenticator = authenticator
        self._lock = threading.Lock()
        self._records_lock = threading.Lock()

    # --- loaded state --------------------------------------------------------------------
    @cached_property
    def corpus(self) -> Corpus:
        """The curated corpus (raises CorpusError if invalid)."""
        return load_corpus(self.settings.corpus_dir)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Word prefixes used anywhere in the corpus."""
        return Vocabulary(self.corpus)

    @cached_property
    def fixed_vocabulary(self) -> frozenset[str]:
        """Wording a model's draft may use without a source: the letters' templates, settings
        and glossary, and this corpus's fact labels."""
        from mrs_assist.letters.vocabulary import fixed_vocabulary

        return fixed_vocabulary(self.settings.corpus_dir / "facts.yaml")

    @cached_property
    def catalogue(self) -> Catalogue:
        """The shared facts catalogue."""
        return load_catalogue(self.settings.corpus_dir / "facts.yaml")

    @cached_property
    def policies(self) -> dict[str, Policy]:
        """Every policy's criteria, by policy id."""
        return load_policies(self.settings.corpus_dir, self.catalogue)

    def policy(self, policy_id: str) -> Policy:
        """One policy's criteria; raises UnknownPolicyError listing the known ids."""
        try:
            return self.policies[policy_id]
        except KeyError:
            raise UnknownPolicyError(policy_id, list(self.policies)) from None

    @cached_property
    def detector(self):
        """The extraction pipeline for this catalogue (built on first use, shared by equal catalogues)."""
        from mrs_assist.extract.pipeline import get_detector

        return get_detector(self.catalogue, cache_dir=self.settings.data_dir / "cache")

    @property
    def records(self):
        """The determination record store, opened (and migrated) on first use. Raises
        ServiceUnavailableError while the database is down; nothing is cached then, so the next
        use tries again."""
        if self._records is None:
            with self._records_lock:
                if self._records is None:
                    from mrs_assist.records import RecordStore

                    self._records = RecordStore.from_settings(self.settings)
        return self._records

    @property
    def authenticator(self):
        """Who is calling the API (`mrs_assist.auth.Authenticator`), built by `serve_on` (or,
        for a Services that never serves, from the settings on first use)."""
        if self._authenticator is None:
            from mrs_assist.auth import Authenticator

            self._authenticator = Authenticator.from_settings(self.settings)
        return self._authenticator

    @cached_property
    def fhir(self):
        """The FHIR PAS/DTR/CRD use cases over these services and their record store; absolute
        URLs come from the setting public_url, never from a request."""
        from mrs_assist.fhir.service import FhirService

        return FhirService(self, base_url=self.settings.public_url)

    @cached_property
    def readiness(self):
        """The readiness probe (`mrs_assist.readiness`): the index self-check and the records database."""
        from mrs_assist.readiness import Readiness

        return Readiness(self.settings, records=lambda: self.records, embedder=self._embedder)

    def serve_on(self, host: str | None) -> Services:
        """Build now what serving the API on `host` needs (None: unknown, decided per request),
        so a configuration error stops start-up instead of a request: the authenticator (raises
        ConfigError when a key is required and none is configured), the FHIR service, readiness."""
        from mrs_assist.auth import Authenticator

        if self._authenticator is None or host is not None:
            self._authenticator = Authenticator.from_settings(self.settings, host=host)
        self.fhir, self.readiness  # noqa: B018 - built here, read by the routes
        return self

    def replace(self, *, records=None, authenticator=None) -> Services:
        """A copy sharing everything already loaded (corpus, policies, retriever, models) over
        another record store and/or authenticator; its FHIR service and readiness are its own."""
        clone = copy.copy(self)
        for name in ("fhir", "readiness"):
            clone.__dict__.pop(name, None)
        clone._records_lock = threading.Lock()
        if records is not None:
            clone._records = records
        if authenticator is not None:
            clone._authenticator = authenticator
        return clone

    def close(self) -> None:
        """Release what this process opened: the records database's pooled connections."""
        if self._records is not None and hasattr(self._records, "url"):
            from mrs_assist.records.db import dispose_engine

            dispose_engine(self._records.url)

    @property
    def retriever(self):
        """The hybrid retriever, loaded on first use (raises IndexNotReadyError)."""
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    from mrs_assist.retrieve import Retriever

                    self._retriever = Retriever.from_settings(self.settings, embedder=self._embedder)
        return self._retriever

    def check_policy_ids(self, policy_ids: list[str] | None) -> None:
        """Raise UnknownPolicyError for any id that is not in the corpus."""
        known = list(self.corpus.documents)
        for pid in policy_ids or []:
            if pid not in known:
                raise UnknownPolicyError(pid, known)

    def check_fact_names(self, names) -> None:
        """Raise InvalidRequestError when a name is not in the facts catalogue (the names are not
        echoed: the caller wrote them, and the message goes back verbatim)."""

        unknown = [name for name in names if name not in self.catalogue.facts]
        if unknown:
            raise InvalidRequestError(
                f"{len(unknown)} fact name(s) are not in the facts catalogue; see the catalogue for valid names"
            )

    # --- use cases -------------------------------------------------------------------------
    def list_policies(self) -> list[PolicySummary]:
        """Every document in the corpus, guidelines first."""
        docs = sorted(self.corpus.documents.values(), key=lambda d: (d.meta.kind != "guideline", d.id))
        return [
            PolicySummary(
                policy_id=d.id,
                payer=d.meta.payer,
                title=d.meta.title,
                kind=d.meta.kind,
                version=d.meta.version,
                dates={k: v.isoformat() for k, v in d.meta.dates.items()},
                cpt_codes=d.meta.cpt_codes,
                body_region=d.meta.body_region,
                clauses=sum(1 for c in d.clauses if not c.deleted),
            )
            for d in docs
        ]

    @cached_property
    def asker(self):
        """The ask use case over these services: this corpus, its criteria and (lazily) its index."""
        from mrs_assist.answer.ask import Asker

        return Asker(self)

    def extract_facts(self, text: str, age_years: float | None = None):
        """Facts read from `text` against this corpus's catalogue (a question's stated case)."""
        from mrs_assist.extract import extract_facts

        return extract_facts(text, catalogue=self.catalogue, age_years=age_years, mrs_requested=True)

    def ask(self, request: AskRequest) -> AskResponse:
        """A verdict-first, cited answer to a free-text question (``answer.ask.Asker``)."""
        self.check_policy_ids(request.policy_ids)
        return self.asker.ask(request)

    @cached_property
    def matrix(self) -> CompareResponse:
        """The indications × policies matrix (computed once)."""
        return self.compare()

    def determine(self, request: DeterminationRequest, *, pend_on_screening: bool = True) -> DeterminationResponse:
        """Extract facts from the notes, check them against the policy, cite every decided clause.

        The notes are screened once (`mrs_assist.screening`): anything hidden, encoded, addressed
        to the system or contradicting itself is a safety flag naming what and where, the
        determination requires physician review, and an approval pends instead
        (``pend_on_screening``; a reviewer's fact override re-runs the checker without it).
        """
        from mrs_assist.extract import extract_facts
        from mrs_assist.screening import screen_notes

        policy = self.policy(request.policy_id)
        self.check_fact_names(request.facts or {})
        extracted = extract_facts(
            request.clinical_notes, age_years=request.patient.age_years, detector=self.detector, mrs_requested=True
        )

        def section_facts(text: str) -> dict[str, bool | None]:
            found = extract_facts(text, age_years=request.patient.age_years, detector=self.detector, mrs_requested=True)
            # a fact of separate instances (treatments) is not contradicted by another instance's denial
            return {name: fv.value for name, fv in found.items() if not self.detector.specs[name].any_instance}

        findings = screen_notes(request.clinical_notes, extract=section_facts)
        facts = resolve_facts(extracted, request.facts, self.catalogue)
        return self._respond(request, policy, facts, findings=findings, pend=pend_on_screening)

    def recompute(self, request: DeterminationRequest, facts: dict[str, bool | None]) -> DeterminationResponse:
        """Re-run the checker with reviewer-set facts on top of the request's (fact overrides)."""
        merged = dict(request.facts or {}) | dict(facts)
        return self.determine(request.model_copy(update={"facts": merged}), pend_on_screening=False)

    def _respond(
        self, request: DeterminationRequest, policy: Policy, facts: dict[str, FactValue], *, findings=(), pend: bool = True
    ) -> DeterminationResponse:
        from mrs_assist.extract.packets import place_in_packet

        evaluation = evaluate(policy, facts, request.cpt_codes, catalogue=self.catalogue)
        outcome = evaluation.outcome
        if findings and pend and outcome == "meets_criteria":
            outcome = "needs_more_information"  # a screened note is never approved automatically
        response = DeterminationResponse(
            recommendation=outcome,
            requires_physician_review=evaluation.requires_physician_review or bool(findings),
            policy_id=policy.policy_id,
            policy_version=policy.version,
            facts=place_in_packet(request.clinical_notes, self._facts_out(policy, facts)),
            trace=_trace_body(evaluation),
            missing_information=evaluation.missing_questions,
            citations=self._citations(evaluation),
            safety_flags=[f"{f.label} [{f.clause_id}]" for f in evaluation.safety_flags] + [f.flag() for f in findings],
        )
        if request.letter and outcome == evaluation.outcome:
            response.letter = self.draft_letter(request, response)
        return response

    def _facts_out(self, policy: Policy, facts: dict[str, FactValue]) -> list[FactOut]:
        used = set(policy.all_facts())
        return [
            FactOut(
                name=name,
                value=fv.value,
                evidence=[_evidence_out(e) for e in fv.evidence],
                contrary=[_evidence_out(e) for e in fv.contrary],
            )
            for name, fv in facts.items()
            if name in used or fv.source in ("notes", "request", "mention")
        ]

    def _citations(self, evaluation: Evaluation) -> list[Citation]:
        """Verbatim clauses: the deciding ones first, then every other decided criterion."""
        ids = list(evaluation.deciding_clauses)
        for node in evaluation.trace.walk():
            if node.clause_id and node.value is not None:
                ids.append(node.clause_id)
        ids += [f.clause_id for f in evaluation.safety_flags + evaluation.investigational]
        ids += [n.clause_id for n in evaluation.notices]
        citations = []
        for clause_id in dict.fromkeys(ids):
            clause = self.corpus.clause(clause_id)
            if clause is None or clause.deleted:
                continue  # a policy test proves this never happens for shipped policies
            citations.append(
                Citation(
                    clause_id=clause.id,
                    policy_id=clause.policy_id,
                    section=clause.section,
                    text=clause.text,
                    score=1.0,
                )
            )
        return citations

    def compare(self) -> CompareResponse:
        """The indications × policies matrix derived from the criteria trees."""
        from mrs_assist.criteria import compare_policies, policy_inconsistencies

        matrix = compare_policies(self.policies, self.catalogue)
        return CompareResponse(
            policy_ids=list(matrix.policy_ids),
            rows=[
                CompareRow(
                    fact=row.fact,
                    label=row.label,
                    cells={
                        pid: CompareCell(
                            status=c.status,
                            clause_ids=list(c.clause_ids),
                            conditions=list(c.conditions),
                            condition_facts=list(c.condition_facts),
                        )
                        for pid, c in row.cells.items()
                    },
                )
                for row in matrix.rows
            ],
            inconsistencies=[i.model_dump(mode="json") for i in policy_inconsistencies(self.policies)],
        )

    @cached_property
    def chat_model(self):
        """The configured chat model, or None (the embedded default: no model at all)."""
        if not (self.settings.llm_local or (self.settings.llm_base_url and self.settings.llm_model)):
            return None  # checked here too so the default path never imports LangChain's model code
        from mrs_assist.llm import make_chat_model

        return make_chat_model(self.settings)

    def draft_letter(self, request: DeterminationRequest, response: DeterminationResponse) -> Letter:
        """The letter for a determination: the template, or a validated model draft of it."""
        from mrs_assist.letters import draft_letter

        letter = draft_letter(
            response,
            request,
            corpus=self.corpus,
            chat_model=self.chat_model,
            facts_file=self.settings.corpus_dir / "facts.yaml",
            prompts_dir=self.settings.prompts_dir,
        )
        return letter

    def render_letter_pdf(self, letter_or_record) -> bytes:
        """PDF bytes of a letter (a response's `letter`, or a stored record's current letter,
        signed ones with their electronic-signature line)."""
        from mrs_assist.letters import render_pdf
        from mrs_assist.letters.model import record_letter

        if isinstance(letter_or_record, Letter):
            return render_pdf(letter_or_record)
        return render_pdf(record_letter(letter_or_record))

    def record_body(self, record, *, documents: bool):
        """The API body of a stored `record`: its letter as it reads now (a signed one released,
        with its electronic-signature line); with `documents`, the case's documents too."""
        from mrs_assist.letters.model import record_letter

        return record.to_response(letter=record_letter(record), documents=documents)

    def letter_template(self, record):
        """The record's template letter regenerated from its request and determination, as locked
        regions and fields; None when there is none to compare with (no letter, a model-written
        letter, a policy no longer in the corpus)."""
        from mrs_assist.errors import MrsAssistError
        from mrs_assist.letters.draft import letter_template

        letter = record.response.letter
        if record.letter_markdown is None or letter is None or letter.mode != "template":
            return None
        try:
            return letter_template(
                record.response, record.request, corpus=self.corpus, facts_file=self.settings.corpus_dir / "facts.yaml"
            )
        except MrsAssistError:
            return None


    # --- record workflows (the API and the CLI call these; RecordStore persists and audits) ---
    # Each checks who may do it and what it was given, computes what changes, and hands the
    # result to the store.
    def create_record(
        self, request: DeterminationRequest, *, user, submitter_ref: str | None = None, documents=None
    ):
        """Determine `request` and store it as a draft record (raises ForbiddenError for admin);
        `submitter_ref` is a FHIR PAS claim identifier ('system|value') that $inquiry finds it by;
        `documents` place each document's pages in the notes (`mrs_assist.intake.prepare_request`)."""
        _require_role(user, "store a determination", submitting=True)
        return self.records.create(
            request, self.determine(request), user=user, submitter_ref=submitter_ref, documents=documents
        )

    def open_record(self, id: str, *, user):
        """Record `id` for `user`, and whether to show its documents: to a reviewer or physician
        only, each reading audited first (not shown when that audit entry cannot be written)."""
        from mrs_assist.users import CLINICAL_ROLES

        if user.role not in CLINICAL_ROLES:
            return self.records.get(id), False
        return self.records.open_documents(id, user=user)

    def assign(self, id: str, assignee: str | None, routed_to: str | None, *, user):
        """Assign draft `id` to `assignee` (None or blank: nobody) and route it to the physician
        queue (``'physician'``) or not (409 once signed or voided)."""
        _require_role(user, "assign a case")
        if routed_to not in (None, "physician"):
            raise InvalidRequestError("routed_to is 'physician' or null")
        return self.records.assign(id, (assignee or "").strip() or None, routed_to, user=user)

    def void(self, id: str, reason: str, *, user):
        """Mark draft `id` as entered by mistake, for `reason` (409 once signed or already voided)."""
        _require_role(user, "void a case")
        return self.records.void(id, _reason(reason, "voiding"), user=user)

    def extend(self, id: str, days: int, reason: str, *, user):
        """Extend draft `id`'s decision timeframe once by `days` for `reason` (409 once signed or extended)."""
        from mrs_assist.clocks import MAX_EXTENSION_DAYS

        _require_role(user, "extend a decision timeframe")
        if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
            raise InvalidRequestError(f"an extension is 1 to {MAX_EXTENSION_DAYS} calendar days")
        return self.records.extend(id, days, _reason(reason, "an extension"), user=user)

    def override_fact(self, id: str, name: str, value: bool | None, reason: str, *, user):
        """Set one fact of draft `id` with a reason and re-run the checker (409 once signed; 422 for a
        name not in the catalogue). The checker runs outside the store's transaction, on the record
        as read; the store refuses the result if the record changed since, and this retries once."""
        _require_role(user, "override a fact", submitting=True)
        self.check_fact_names([name])
        if value is not None and not isinstance(value, bool):
            raise InvalidRequestError("fact value must be true, false or null")
        reason = _reason(reason, "an override")
        for attempt in range(2):
            record = self.records.get(id)
            facts = dict(record.request.facts or {}) | {o.name: o.value for o in record.overrides} | {name: value}
            response = self.recompute(record.request, facts) if record.status == "draft" else record.response
            try:
                return self.records.override_fact(
                    id, name, value, reason, user=user, response=response, computed_from=record.review_hash
                )
            except ConflictError as exc:
                if exc.code != "record_changed" or attempt:
                    raise
        raise AssertionError("unreachable")

    def edit_letter(self, id: str, markdown: str, *, user):
        """Replace draft `id`'s letter; its HTML is rendered from the same Markdown (409 once signed)."""
        from mrs_assist.letters.render import markdown_html
        from mrs_assist.records.models import MAX_LETTER_CHARS, has_visible_text

        _require_role(user, "edit a letter")
        if not has_visible_text(markdown) or len(markdown) > MAX_LETTER_CHARS:
            raise InvalidRequestError(f"a letter is 1 to {MAX_LETTER_CHARS} characters of Markdown")
        return self.records.edit_letter(id, markdown, user=user, html=markdown_html(markdown))

    def sign(self, id: str, *, user, review_hash: str | None, attested: bool = False):
        """Sign draft `id` as reviewed (`review_hash`), attesting to it, if the sign-off rule
        (`mrs_assist.signoff`) lets `user` sign its outcome and letter: the letter is compared with
        its template regenerated from the record, region by region.

        The rule is checked on the record as read here, once its review hash is `review_hash`;
        the store signs only if it still is inside its transaction — the hash covers the outcome
        and the letter, so what was authorized is what gets signed.

        Raises InvalidRequestError ``attestation_required`` (422) without the attestation,
        ``letter_incomplete`` (422) for a placeholder left to fill; 428 without a hash; 409 changed;
        403 ``physician_required``.
        """
        from mrs_assist.letters.settings import load_letter_settings
        from mrs_assist.signoff import require_signer

        store = self.records
        if review_hash and attested is not True:
            raise InvalidRequestError(
                "signing requires the attestation: send \"attest\": true to confirm you reviewed this "
                "determination and its letter and sign them electronically",
                code="attestation_required",
            )
        _require_role(user, "sign a determination")
        record = store.require_signable(id, review_hash)  # 409 signed, voided, tampered or changed; 428 no hash
        placeholders = load_letter_settings().placeholders.model_dump()
        details = require_signer(record.response.recommendation, record.letter_markdown, user,
                                 template=self.letter_template(record), placeholders=placeholders)
        return store.sign(id, user=user, review_hash=review_hash, details={**details, "attested": True})


def _require_role(user, action: str, *, submitting: bool = False) -> None:
    """Raise ForbiddenError unless `user` has a clinical role; with `submitting`, a provider's
    submitting system too (FHIR: a request, its DTR answers)."""
    from mrs_assist.users import CLINICAL_ROLES, SUBMITTING_ROLES

    if user.role not in (SUBMITTING_ROLES if submitting else CLINICAL_ROLES):
        raise ForbiddenError(f"role {user.role.value!r} may not {action} (reviewer or physician only)")


def _reason(reason: str | None, what: str) -> str:
    """The reason stripped; raises InvalidRequestError unless it has 1 to MAX_REASON_CHARS visible characters."""
    from mrs_assist.records.models import MAX_REASON_CHARS, has_visible_text

    reason = (reason or "").strip()
    if not has_visible_text(reason) or len(reason) > MAX_REASON_CHARS:
        raise InvalidRequestError(f"{what} needs a reason of 1 to {MAX_REASON_CHARS} characters")
    return reason


def _trace_body(evaluation: Evaluation) -> Trace:
    """The contract's `trace`: the evaluated tree and what decided it."""
    return Trace(
        outcome=evaluation.outcome,
        root=evaluation.trace,
        deciding_clauses=evaluation.deciding_clauses,
        missing_facts=evaluation.missing_facts,
        asked=evaluation.asked,
        investigational=evaluation.investigational,
        safety=evaluation.safety_flags,
        notices=evaluation.notices,
    )


def _evidence_out(e) -> EvidenceOut:
    return EvidenceOut(text=e.text, start=e.start, end=e.end, section=e.section, modifiers=list(e.modifiers))
