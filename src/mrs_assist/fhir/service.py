"""The FHIR use cases over the same `Services` and `RecordStore` the JSON API uses: no second
engine. Each method takes FHIR JSON and returns FHIR JSON; errors are FhirError (rendered as
an OperationOutcome by the router) or the library's own errors."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from mrs_assist.auth import User
from mrs_assist.errors import NotFoundError
from mrs_assist.fhir import dtr, pas
from mrs_assist.fhir.payers import PayerMap, load_payer_map
from mrs_assist.fhir.resources import FhirError, build, issue, parse

DTR_REASON = "answered in the DTR questionnaire (QuestionnaireResponse)"


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

        return Subscriptions(self.records, self.services.settings, base_url=self.base_url)

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
        request = pas.to_request(submission, self.payer_map)
        policy = self.services.policy(request.policy_id)
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        answered: dict[str, bool] = {}
        for response in submission.answers:
            answered |= dtr.facts_from_response(policy, questionnaire, response)
        existing = self._existing(submission.submitter_ref, request.policy_id)
        if existing is None:
            request = request.model_copy(update={"facts": answered or None})
            record = self.services.create_record(request, user=user, records=self.records,
                                                 submitter_ref=submission.submitter_ref)
        else:
            record = self._apply(existing, answered, user=user)
        return self._respond(record, submission, policy)

    def inquire(self, data: Any) -> dict[str, Any]:
        """$inquiry: the current state of a submitted request, found by its claim identifier."""
        submission = pas.read_bundle(data, inquiry=True)
        if not submission.submitter_ref:
            raise FhirError("the inquiry's Claim needs the identifier it was submitted with",
                            issues=[issue("Claim.identifier is required to find the request", code="required",
                                          expression="Claim.identifier")])
        record = self.records.find_submitted(submission.submitter_ref)
        policy = self.services.policy(record.response.policy_id)
        return self._respond(record, submission, policy, inquiry=True)

    def _respond(self, record, submission, policy, *, inquiry: bool = False) -> dict[str, Any]:
        pending = record.response.recommendation == "needs_more_information"
        return pas.response_bundle(record, submission, inquiry=inquiry,
                                   questionnaire=dtr.canonical(policy) if pending else None)

    def _existing(self, submitter_ref: str | None, policy_id: str):
        if not submitter_ref:
            return None
        try:
            record = self.records.find_submitted(submitter_ref)
        except NotFoundError:
            return None
        if record.response.policy_id != policy_id:
            raise FhirError("this claim identifier was submitted under another coverage policy", code="conflict",
                            http_status=409, issues=[issue("claim identifier already used under another policy",
                                                           code="conflict", expression="Claim.identifier")])
        return record

    def _apply(self, record, answered: dict[str, bool], *, user: User):
        """The record with `answered` facts applied: overrides on a draft (each audited, the
        checker re-run), or a correction of a signed record."""
        current = {f.name: f.value for f in record.response.facts}
        changed = {name: value for name, value in answered.items() if current.get(name) != value}
        if not changed:
            return record
        if record.status == "signed":
            request = record.request.model_copy(update={"facts": dict(record.request.facts or {}) | changed})
            return self.records.correct(record.id, user=user, request=request,
                                        response=self.services.determine(request))
        for name, value in changed.items():
            record = self.services.override_fact(record.id, name, value, DTR_REASON, user=user, records=self.records)
        return record

    # --- DTR ---------------------------------------------------------------------------------
    def _record_for(self, subject: dict[str, Any] | None):
        subject = subject or {}
        ref = subject.get("reference") or ""
        if ref.startswith("ClaimResponse/"):
            return self.records.get(ref.removeprefix("ClaimResponse/"))
        ident = subject.get("identifier") or {}
        if ident.get("value"):
            return self.records.find_submitted(f"{ident.get('system', '')}|{ident['value']}")
        raise FhirError("say which request the answers are for", issues=[issue(
            "subject must reference ClaimResponse/<id> or carry the PAS claim identifier", code="required",
            expression="QuestionnaireResponse.subject")])

    def answer(self, data: Any, *, user: User) -> dict[str, Any]:
        """POST QuestionnaireResponse: its answers become the record's facts (overriding
        extraction) and the checker re-runs. Returns the record's new state as Parameters."""
        parse(data, "QuestionnaireResponse")
        record = self._record_for(data.get("subject"))
        policy = self.services.policy(record.response.policy_id)
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        answered = dtr.facts_from_response(policy, questionnaire, data)
        record = self._apply(record, answered, user=user)
        return self._state(record)

    def package(self, data: Any) -> dict[str, Any]:
        """$questionnaire-package: Parameters in (`questionnaire` canonical or `policy` id, and
        optionally `context` = a record id), a Parameters out holding a collection Bundle with
        the Questionnaire and, for a record, a QuestionnaireResponse pre-filled with its facts."""
        parse(data, "Parameters")
        params = {p.get("name"): p for p in data.get("parameter") or []}
        record = None
        if "context" in params:
            record = self.records.get(str(params["context"].get("valueString") or params["context"].get("valueId") or ""))
        policy_id = record.response.policy_id if record else None
        if policy_id is None and "questionnaire" in params:
            url = str(params["questionnaire"].get("valueCanonical") or "").split("|")[0]
            policy_id = url.removeprefix(dtr.QUESTIONNAIRE_URL) if url.startswith(dtr.QUESTIONNAIRE_URL) else None
        if policy_id is None and "policy" in params:
            policy_id = str(params["policy"].get("valueString") or "")
        if not policy_id:
            raise FhirError("name the questionnaire, the policy or the request", issues=[issue(
                "give 'questionnaire' (valueCanonical), 'policy' (valueString) or 'context' (valueString record id)",
                code="required", expression="Parameters.parameter")])
        policy = self.services.policy(policy_id)
        questionnaire = dtr.build_questionnaire(policy, self.services.catalogue)
        entries = [{"fullUrl": f"{dtr.QUESTIONNAIRE_URL}{policy.policy_id}", "resource": questionnaire}]
        if record is not None:
            facts = {f.name: f.value for f in record.response.facts}
            response = dtr.prefilled_response(policy, questionnaire, facts,
                                              subject={"reference": f"ClaimResponse/{record.id}"})
            entries.append({"fullUrl": f"urn:uuid:qr-{record.id}", "resource": response})
        bundle = build("Bundle", {"type": "collection", "entry": entries})
        return build("Parameters", {"parameter": [{"name": "PackageBundle", "resource": bundle}]})

    def _state(self, record) -> dict[str, Any]:
        return build("Parameters", {"parameter": [
            {"name": "request", "valueString": record.id},
            {"name": "reviewAction", "valueCode": pas.review_action(record)},
            {"name": "recommendation", "valueCode": record.response.recommendation},
            {"name": "status", "valueCode": record.status},
        ]})
