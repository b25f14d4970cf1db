"""The FHIR use cases over the same `Services` and `RecordStore` the JSON API uses: no second
engine. Each method takes FHIR JSON and returns FHIR JSON; errors are FhirError (rendered as
an OperationOutcome by the router) or the library's own errors."""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any

from mrs_assist.auth import Role, User
from mrs_assist.errors import NotFoundError
from mrs_assist.fhir import dtr, items, pas
from mrs_assist.fhir.payers import PayerMap, load_payer_map
from mrs_assist.fhir.resources import FhirError, build, issue, parse
from mrs_assist.intake.prepare import prepare_request

DTR_REASON = "answered in the DTR questionnaire (QuestionnaireResponse)"
DTR_CONFLICT_REASON = pas.DTR_CONFLICT_REASON
UNAPPLIED_STATUSES = frozenset({"entered-in-error", "stopped", "in-progress"})
"""QuestionnaireResponse statuses whose answers are not applied (not final, or withdrawn)."""


def visible(user: User | None, record) -> bool:
    """Whether `user` may see `record` through FHIR: staff see every request; a provider
    (submitting system) only its own organization's (the provider identifier it submitted)."""
    if user is None or user.role != Role.provider:
        return True
    provider = record.request.provider
    return bool(user.organization) and provider is not None and provider.id == user.organization


def latest_decided(versions: list) -> Any:
    """The version of a request to report, newest first given: a signed decision is final, so a
    newer unsigned version opened after it (new information) does not replace it until signed."""
    newest = versions[0]
    if newest.status != "signed" and newest.corrects_id:
        signed = next((v for v in versions if v.status == "signed"), None)
        if signed is not None:
            return signed
    return newest


class FhirService:
    """PAS, DTR and CRD over one `Services` (and its record store)."""

    def __init__(self, services, records=None, payer_map: PayerMap | None = None,
                 base_url: str = "http://127.0.0.1:8000") -> None:
        self.services = services
        self._records = records
        self._payer_map = payer_map
        self.base_url = base_url.rstrip("/")

    @cached_property
    def subscriptions(self):
        """PAS rest-hook subscriptions over the same database."""
        from mrs_assist.fhir.subscriptions import Subscriptions

        return Subscriptions(lambda: self.records, self.services.settings, base_url=self.base_url, render=self.response_for)

    @property
    def records(self):
        """The record store shared with the JSON API."""
        return self._records if self._records is not None else self.services.records

    @cached_property
    def payer_map(self) -> PayerMap:
        """The payer/plan → policy map (setting fhir_payer_map, else the shipped one)."""
        return self._payer_map or load_payer_map(getattr(self.services.settings, "fhir_payer_map", None))

    def questionnaire(self, policy_id: str) -> dict[str, Any]:
        """The DTR Questionnaire of a policy (raises UnknownPolicyError)."""
        return dtr.build_questionnaire(self.services.policy(policy_id), self.services.catalogue)

    # --- PAS ---------------------------------------------------------------------------------
    def submit(self, data: Any, *, user: User) -> dict[str, Any]:
        """$submit: check the request and store it as a record; a re-submission of the same
        claim identifier updates that record with the answers its QuestionnaireResponses carry.
        Returns the PAS Response Bundle."""
        submission = pas.read_bundle(data)
        try:
            request = pas.to_request(submission, self.payer_map)
        except FhirError as exc:
            if exc.code != "no_policy":
                raise
            # A business rejection, answered as PAS does: a ClaimResponse with `error` (X12 901
            # T4: payer name or identifier not one this payer reviews for), nothing stored.
            return pas.error_bundle(submission, code="T4", path="Claim.insurance.coverage", element="2010A-NM103")
        policy = self.services.policy(request.policy_id)
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        answered: dict[str, bool] = {}
        for response in submission.answers:
            if response.get("status") not in UNAPPLIED_STATUSES:
                answered |= dtr.facts_from_response(policy, questionnaire, response)
        original = pas.original_claim_ref(submission)
        if original is not None:  # a PASClaimUpdate: the request it updates must be ours to update
            existing = self._existing(submission, request.policy_id, user, ref=original, update=True)
            if existing is None:
                raise NotFoundError("the claim this update refers to was not submitted here")
        else:
            existing = self._existing(submission, request.policy_id, user)
        if existing is None:
            request = request.model_copy(update={"facts": answered or None})
            documents = None
            if request.documents:  # PDF / image attachments: read whole (text layer, else OCR), or refused whole
                request, documents = prepare_request(request)
            record = self.services.create_record(request, user=user, submitter_ref=submission.submitter_ref,
                                                 documents=documents)
        else:
            record = self._decided(self._apply(existing, answered, user=user))
        # the service lines as they now stand (added, modified, cancelled by an update), audited
        items.save(self.records, record.id, items.item_state(submission.claim, pas.cancelled), user=user)
        return self._respond(record, submission, unread_documents=existing is not None and bool(request.documents))

    def inquire(self, data: Any, *, user: User | None = None) -> dict[str, Any]:
        """$inquire (OperationDefinition Claim-inquiry): a Parameters with one `return` PAS Inquiry
        Response Bundle per matching request (none: zero returns). A request matches by its
        claim identifier, or its authorization number, together with the member identifier and
        the provider (PAS spec-53); each reports its latest decided state."""
        submission = pas.read_bundle(data, inquiry=True)
        returns = [self._respond(record, submission, inquiry=True) for record in self._matching(submission, user)]
        return build("Parameters", {"parameter": [{"name": "return", "resource": b} for b in returns]})

    def inquire_one(self, data: Any, *, user: User | None = None) -> dict[str, Any]:
        """The older `$inquiry` answer: the first match as an Inquiry Response Bundle (404 when none)."""
        submission = pas.read_bundle(data, inquiry=True)
        found = self._matching(submission, user)
        if not found:
            raise NotFoundError("no prior-authorization request matches that claim identifier, member and provider")
        return self._respond(found[0], submission, inquiry=True)

    def _matching(self, submission, user: User | None) -> list:
        keys = pas.match_keys(submission)
        candidates = self.records.find_claims(keys.claim_values)
        for number in keys.authorizations:
            try:
                record = self.records.get(number)
            except NotFoundError:
                continue
            if record.submitter_ref:
                candidates += self.records.find_claims([record.submitter_ref.split("|", 1)[-1]])
        groups: dict[str, list] = {}
        for record in candidates:
            if keys.matches(record) and visible(user, record):
                groups.setdefault(record.submitter_ref, [])
                if all(r.id != record.id for r in groups[record.submitter_ref]):
                    groups[record.submitter_ref].append(record)
        return [latest_decided(sorted(group, key=lambda r: r.created_at, reverse=True)) for group in groups.values()]

    def claim_response(self, id: str, *, user: User | None = None) -> dict[str, Any]:
        """GET ClaimResponse/{id}: the current PAS ClaimResponse of a submitted request (what a
        subscription notice points at; 404 for a record the caller may not see)."""
        record = self.records.get(str(id)[:64])
        if not record.submitter_ref or not visible(user, record):
            raise NotFoundError("no such ClaimResponse")
        return self.response_for(record)["entry"][0]["resource"]

    def response_for(self, record) -> dict[str, Any]:
        """The PAS Response Bundle of a stored request's latest decided state, without the
        submitted bundle (patient and provider referenced by identifier)."""
        record = self._decided(record)
        request = record.request
        system, _, value = record.submitter_ref.partition("|")
        claim: dict[str, Any] = {
            "resourceType": "Claim", "identifier": [{**({"system": system} if system else {}), "value": value}],
            "patient": {"identifier": {"value": request.member.id}} if request.member and request.member.id else None,
            "provider": {"identifier": {"value": request.provider.id}} if request.provider and request.provider.id else None,
            "insurer": {"display": record.response.policy_id},
            "item": self._stored_items(record) or [
                {"sequence": i, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": c}]}}
                for i, c in enumerate(request.cpt_codes, start=1)],
        }
        submission = pas.Submission(bundle={"entry": []}, claim={k: v for k, v in claim.items() if v},
                                    submitter_ref=record.submitter_ref)
        return self._respond(record, submission)

    def capability_statement(self) -> dict[str, Any]:
        """GET metadata: what this server offers, naming the PAS, DTR and CRD capabilities it implements."""
        return build("CapabilityStatement", {
            "status": "active", "date": "2026-12-06", "kind": "instance", "fhirVersion": "4.0.1",
            "format": ["json"], "implementation": {"description": "mrs-assist", "url": self.base_url + "/fhir"},
            "instantiates": ["http://hl7.org/fhir/us/davinci-pas/CapabilityStatement/IntermediaryCapabilities",
                             "http://hl7.org/fhir/us/davinci-dtr/CapabilityStatement/dtr-payer-service"],
            "rest": [{"mode": "server", "resource": [
                {"type": "Claim", "operation": [
                    {"name": "submit", "definition": "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit"},
                    {"name": "inquire", "definition": "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry"}]},
                {"type": "ClaimResponse", "interaction": [{"code": "read"}]},
                {"type": "Subscription", "interaction": [{"code": c} for c in ("create", "read", "update", "delete")],
                 "operation": [{"name": "status", "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"}]},
                {"type": "Questionnaire", "interaction": [{"code": "read"}], "operation": [
                    {"name": "questionnaire-package",
                     "definition": "http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/questionnaire-package"}]},
                {"type": "QuestionnaireResponse", "interaction": [{"code": "create"}]},
            ]}],
        })

    def _stored_items(self, record) -> list[dict[str, Any]] | None:
        """The request's service lines as its last submission or update left them (Claim items)."""
        stored = items.latest(self.records, record.id)
        return items.as_claim_items(stored, pas.INFO_CANCELLED) if stored else None

    def _respond(self, record, submission, *, inquiry: bool = False, unread_documents: bool = False) -> dict[str, Any]:
        policy = self.services.policy(record.response.policy_id)
        pending = record.response.recommendation == "needs_more_information"
        return pas.response_bundle(record, submission, inquiry=inquiry,
                                   stored_items=self._stored_items(record) if inquiry else None,
                                   questionnaire=dtr.canonical(policy) if pending else None,
                                   governed=frozenset(policy.scope.cpt_codes),
                                   valid_days=self.payer_map.authorization_valid_days,
                                   payer_url=self.base_url + "/fhir/Claim/$submit", unread_documents=unread_documents)

    def _existing(self, submission, policy_id: str, user: User, *, ref: str | None = None, update: bool = False):
        """The stored request this submission updates (same claim identifier, member and
        provider), or None; the identifier reused for another member or provider, or (outside a
        claim update) for other services, is a 409."""
        ref = ref or submission.submitter_ref
        if not ref:
            return None
        try:
            record = self.records.find_submitted(ref)
        except NotFoundError:
            return None
        if not update and set(pas.requested_cpts(submission)) != set(record.request.cpt_codes):
            raise FhirError("this claim identifier was submitted for other services: send a PAS claim update",
                            code="conflict", http_status=409, issues=[issue(
                                "claim identifier already used for other services (use PASClaimUpdate)",
                                code="conflict", expression="Claim.identifier")])
        if not pas.match_keys(submission).matches(record) or not visible(user, record):
            raise FhirError("this claim identifier was submitted for another member or provider", code="conflict",
                            http_status=409, issues=[issue("claim identifier already used for another member or "
                                                           "provider", code="conflict", expression="Claim.identifier")])
        if record.response.policy_id != policy_id:
            raise FhirError("this claim identifier was submitted under another coverage policy", code="conflict",
                            http_status=409, issues=[issue("claim identifier already used under another policy",
                                                           code="conflict", expression="Claim.identifier")])
        return record

    def _apply(self, record, answered: dict[str, bool], *, user: User):
        """The record with `answered` facts applied: overrides on a draft (each audited, the
        checker re-run), or, on a signed record (a signed decision is final), a new version
        that goes through review and sign-off again. An answer contradicting what the notes
        document is applied with a reason that keeps the request pended for a reviewer."""
        facts = {f.name: f for f in record.response.facts}
        changed = {name: value for name, value in answered.items()
                   if name not in facts or facts[name].value != value}
        if not changed:
            return record
        if record.status == "signed":
            request = record.request.model_copy(update={"facts": dict(record.request.facts or {}) | changed})
            return self.records.correct(record.id, user=user, request=request,
                                        response=self.services.determine(request))
        overridden = {o.name for o in record.overrides}
        for name, value in changed.items():
            fact = facts.get(name)
            contradicts = (fact is not None and fact.value is not None and bool(fact.evidence)
                           and name not in overridden)
            record = self.services.override_fact(record.id, name, value, DTR_CONFLICT_REASON if contradicts else DTR_REASON,
                                                 user=user)
        return record

    # --- DTR ---------------------------------------------------------------------------------
    def _record_for(self, data: dict[str, Any]):
        """The stored request a QuestionnaireResponse answers: `identifier` = the PAS claim
        identifier (as the pre-filled response carries it), or a subject naming ClaimResponse/<id>
        or (not a Patient) the claim identifier."""
        subject = data.get("subject") or {}
        ident = data.get("identifier") or {}
        if isinstance(ident, dict) and ident.get("value"):
            return self.records.find_submitted(f"{ident.get('system', '')}|{ident['value']}")
        ref = subject.get("reference") or ""
        if ref.startswith("ClaimResponse/"):
            return self.records.get(ref.removeprefix("ClaimResponse/")[:64])
        ident = subject.get("identifier") or {}
        if ident.get("value") and subject.get("type") != "Patient":
            return self.records.find_submitted(f"{ident.get('system', '')}|{ident['value']}")
        raise FhirError("say which request the answers are for", issues=[issue(
            "identifier must be the PAS claim identifier (or subject reference ClaimResponse/<id>)", code="required",
            expression="QuestionnaireResponse.identifier")])

    def answer(self, data: Any, *, user: User) -> dict[str, Any]:
        """POST QuestionnaireResponse: its answers become the record's facts (overriding
        extraction) and the checker re-runs. Returns the record's new state as Parameters."""
        parse(data, "QuestionnaireResponse")
        record = self._record_for(data)
        if not visible(user, record):
            raise NotFoundError("no such request")
        if record.submitter_ref:  # the newest version of the request takes new answers
            record = self.records.find_submitted(record.submitter_ref)
        policy = self.services.policy(record.response.policy_id)
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        if data.get("status") in UNAPPLIED_STATUSES:
            return self._state(record)  # not final or withdrawn: nothing is applied
        answered = dtr.facts_from_response(policy, questionnaire, data)
        record = self._apply(record, answered, user=user)
        return self._state(self._decided(record))

    def package(self, data: Any, *, user: User | None = None) -> dict[str, Any]:
        """$questionnaire-package (DTR 2.0.1 output: `PackageBundle`, a DTR-QPackageBundle).

        Input as DTR sends it: `coverage` and `order` resources (the questionnaire of the policy
        that governs the coverage, when it governs one of the orders' CPT codes; otherwise an
        empty package with an `operationOutcome` saying no documentation applies), and/or
        `questionnaire` (canonical), `policy` (id) or `context` (a stored request's id, whose
        facts pre-fill a QuestionnaireResponse)."""
        parse(data, "Parameters")
        parameters = [p for p in data.get("parameter") or [] if isinstance(p, dict)]
        params = {p.get("name"): p for p in parameters}
        record = None
        if "context" in params:
            record = self.records.get(str(params["context"].get("valueString") or params["context"].get("valueId") or "")[:64])
            if not visible(user, record):
                raise NotFoundError("no such request")
        policy_id = record.response.policy_id if record else None
        if policy_id is None and "questionnaire" in params:
            url = str(params["questionnaire"].get("valueCanonical") or "").split("|")[0]
            policy_id = url.removeprefix(dtr.QUESTIONNAIRE_URL) if url.startswith(dtr.QUESTIONNAIRE_URL) else None
        if policy_id is None and "policy" in params:
            policy_id = str(params["policy"].get("valueString") or "")
        if policy_id is None and ("coverage" in params or "order" in params):
            return self._package_for_orders(parameters)
        if not policy_id:
            raise FhirError("name the questionnaire, the policy or the request", issues=[issue(
                "give 'coverage' and 'order' resources, 'questionnaire' (valueCanonical), 'policy' (valueString) "
                "or 'context' (valueString record id)", code="required", expression="Parameters.parameter")])
        policy = self.services.policy(policy_id)
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        entries = self._template(policy, questionnaire)
        if record is not None:
            facts = {f.name: f.value for f in record.response.facts}
            member = record.request.member
            subject = ({"identifier": {"value": member.id}, "type": "Patient"} if member and member.id
                       else {"reference": f"ClaimResponse/{record.id}"})
            response = dtr.prefilled_response(policy, questionnaire, facts, subject=subject)
            if record.submitter_ref:  # which PAS request the answers document (posted back with them)
                system, _, value = record.submitter_ref.partition("|")
                response["identifier"] = {**({"system": system} if system else {}), "value": value}
            qr_id = uuid.uuid5(uuid.NAMESPACE_URL, f"mrs-assist:qr:{record.id}")
            entries.append({"fullUrl": f"urn:uuid:{qr_id}", "resource": response})
        return self._package(entries)

    def _package(self, entries: list[dict[str, Any]], outcome: dict[str, Any] | None = None) -> dict[str, Any]:
        bundle = build("Bundle", {"meta": {"profile": [dtr.PACKAGE_BUNDLE]}, "type": "collection",
                                  **({"entry": entries} if entries else {})})
        parameters = [{"name": "PackageBundle", "resource": bundle}]
        if outcome is not None:
            parameters.append({"name": "operationOutcome", "resource": outcome})
        return build("Parameters", {"meta": {"profile": [dtr.OUTPUT_PARAMETERS]}, "parameter": parameters})

    def _package_for_orders(self, parameters: list[dict[str, Any]]) -> dict[str, Any]:
        """DTR's standard input: the policy governing the coverage, if it governs an order's CPT code."""
        from mrs_assist.fhir import crd

        resources = [p["resource"] for p in parameters if p.get("name") in ("coverage", "order")
                     and isinstance(p.get("resource"), dict)]
        policy_id = self.payer_map.policy_for(crd.coverage_keys([r for r in resources if r.get("resourceType") == "Coverage"]))
        codes = {str(c.get("code")) for r in resources if r.get("resourceType") != "Coverage"
                 for c in (r.get("code") or {}).get("coding") or [] if c.get("system") in pas.CPT_SYSTEMS}
        policy = self.services.policies.get(policy_id) if policy_id else None
        if policy is None or not codes & set(policy.scope.cpt_codes):
            return self._package([], build("OperationOutcome", {"issue": [issue(
                "no documentation template applies to these orders under this coverage", code="informational",
                severity="information")]}))
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        return self._package(self._template(policy, questionnaire))

    @staticmethod
    def _template(policy, questionnaire: dict[str, Any]) -> list[dict[str, Any]]:
        """Package entries of a policy's questionnaire and the CQL Library it references."""
        entries = [{"fullUrl": f"{dtr.QUESTIONNAIRE_URL}{policy.policy_id}", "resource": questionnaire}]
        if (library := dtr.library(policy, questionnaire)) is not None:
            entries.append({"fullUrl": library["url"], "resource": library})
        return entries

    def _decided(self, record):
        """The latest decided version of `record`'s request (a signed decision stays until its new version is signed)."""
        if not record.submitter_ref:
            return record
        versions = [r for r in self.records.find_claims([record.submitter_ref.split("|", 1)[-1]])
                    if r.submitter_ref == record.submitter_ref]
        return latest_decided(versions) if versions else record

    def _state(self, record) -> dict[str, Any]:
        return build("Parameters", {"parameter": [
            {"name": "request", "valueString": record.id},
            {"name": "reviewAction", "valueCode": pas.review_action(record)},
            {"name": "recommendation", "valueCode": record.response.recommendation},
            {"name": "status", "valueCode": record.status},
        ]})
