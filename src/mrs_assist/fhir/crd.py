"""Da Vinci CRD, light: a CDS Hooks service (`order-select`, `order-sign`, `order-dispatch`,
`appointment-book`; the same card logic for each) that answers "is prior
authorization required for MR spectroscopy (CPT 76390) under this coverage, and what must be
documented?" with one card citing the policy's clauses."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from mrs_assist.criteria import Policy
from mrs_assist.errors import InvalidRequestError
from mrs_assist.fhir import dtr
from mrs_assist.fhir.pas import CPT_SYSTEMS
from mrs_assist.fhir.payers import CoverageKeys, PayerMap
from mrs_assist.fhir.resources import FhirError, parse

HOOKS = ("order-select", "order-sign", "order-dispatch", "appointment-book")
SERVICE_IDS = {f"mrs-assist-{hook}": hook for hook in HOOKS}
CRD_VERSION = "2.0.1"
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
CARD_TOPIC = {"system": CRD_TEMP, "code": "coverage-info", "display": "Coverage Information"}
"""CRD card type (cdshooks-card-type, the `_cardType` codes of CRD's temp code system)."""


PREFETCH = {
    "order-dispatch": {"orders": "ServiceRequest?_id={{context.dispatchedOrders.ServiceRequest.id}}"},
    "appointment-book": {"orders": "ServiceRequest?_id={{context.appointments.Appointment.basedOn.reference}}"},
}
"""Prefetch beyond the coverage: the dispatched orders, and the orders appointments are based on."""


class BadHookResource(InvalidRequestError):
    """A hook call carrying a FHIR resource that does not validate: CDS Hooks answers 400."""

    http_status = 400


def _source(payer: str | None) -> dict[str, Any]:
    """A card's source: the payer's name (as the member's coverage names it) and the CRD card type."""
    return {"label": (payer or "the member's payer")[:100], "topic": CARD_TOPIC}


def discovery(cpt_codes: list[str]) -> dict[str, Any]:
    """The CDS Hooks discovery document (GET /cds-services)."""
    return {"services": [
        {
            "hook": hook,
            "id": service_id,
            "title": "Prior authorization requirements for MR spectroscopy",
            "description": f"Says whether CPT {', '.join(cpt_codes)} needs prior authorization under the member's "
                           "coverage and which documentation the policy asks for, citing its clauses.",
            "prefetch": {"coverage": "Coverage?patient={{context.patientId}}&status=active", **PREFETCH.get(hook, {})},
            "extension": {"davinci-crd.version": CRD_VERSION},
        }
        for service_id, hook in SERVICE_IDS.items()
    ]}


def _resources(value: Any) -> list[dict[str, Any]]:
    """The resources of a Bundle (its entries) or a single resource, each validated by fhir.resources."""
    if value is None:
        return []
    if not isinstance(value, dict) or "resourceType" not in value:
        raise InvalidRequestError("draftOrders and prefetch items must be FHIR resources or Bundles")
    try:
        if value["resourceType"] == "Bundle":
            parse(value, "Bundle")
            return [e["resource"] for e in value.get("entry") or [] if isinstance(e.get("resource"), dict)]
        parse(value, str(value["resourceType"]))
    except FhirError as exc:
        raise BadHookResource(f"{exc.message}: {exc.issues[0].get('diagnostics', '')}") from None
    return [value]


def _codes_of(resource: dict[str, Any], others: dict[str, dict[str, Any]]) -> list[str]:
    """The CPT codes a request asks for: an order's `code`; an Appointment's `serviceType` and
    the orders it is `basedOn` (found among the call's other resources)."""
    concepts = [resource.get("code") or {}]
    if resource.get("resourceType") == "Appointment":
        concepts += [c for c in resource.get("serviceType") or [] if isinstance(c, dict)]
        concepts += [(others.get(ref.get("reference", "")) or {}).get("code") or {}
                     for ref in resource.get("basedOn") or [] if isinstance(ref, dict)]
    return [str(c["code"]) for concept in concepts if isinstance(concept, dict) for c in concept.get("coding") or []
            if isinstance(c, dict) and c.get("system") in CPT_SYSTEMS and c.get("code")]


def _ordered_codes(orders: list[dict[str, Any]], selections: list[str] | None,
                   others: dict[str, dict[str, Any]] | None = None) -> list[str]:
    codes = []
    for order in orders:
        if selections is not None and f"{order.get('resourceType')}/{order.get('id')}" not in selections:
            continue
        codes += _codes_of(order, others or {})
    return codes


def _hook_orders(hook: str, context: dict[str, Any], prefetch: dict[str, Any]
                 ) -> tuple[list[dict[str, Any]], list[str] | None, dict[str, dict[str, Any]]]:
    """(the requests a hook is about, the 'Type/id' selection among them or None, every other
    resource of the call by 'Type/id'): order-select/order-sign `draftOrders`;
    order-dispatch the `dispatchedOrders` (references) found in the prefetched resources;
    appointment-book the `appointments` Bundle (with the orders they are based on, prefetched)."""
    fetched = [r for key, value in prefetch.items() if key != "coverage" for r in _resources(value)]
    if hook == "appointment-book":
        orders = _resources(context.get("appointments"))
        selections = None
    elif hook == "order-dispatch":
        selections = context.get("dispatchedOrders")
        if not (isinstance(selections, list) and selections and all(isinstance(s, str) for s in selections)):
            raise InvalidRequestError("context.dispatchedOrders must be a list of 'Type/id' references")
        orders = [*_resources(context.get("draftOrders")), *fetched]
    else:
        orders = _resources(context.get("draftOrders"))
        selections = context.get("selections") if hook == "order-select" else None
    others = {f"{r.get('resourceType')}/{r.get('id')}": r for r in [*orders, *fetched]}
    return orders, selections, others


def coverage_keys(resources: list[dict[str, Any]]) -> CoverageKeys:
    """What Coverage resources (with contained or listed payor Organizations) offer to match the payer map."""
    keys = CoverageKeys()
    by_ref = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources}
    for coverage in (r for r in resources if r.get("resourceType") == "Coverage"):
        contained = {f"#{c.get('id')}": c for c in coverage.get("contained") or []}
        for payor in coverage.get("payor") or []:
            org = contained.get(payor.get("reference", "")) or by_ref.get(payor.get("reference", ""))
            if payor.get("display"):
                keys.payer_names.add(payor["display"].casefold())
            if org and org.get("name"):
                keys.payer_names.add(org["name"].casefold())
            for ident in [payor.get("identifier") or {}, *((org or {}).get("identifier") or [])]:
                if ident.get("value"):
                    keys.payer_identifiers.add(f"{ident.get('system', '')}|{ident['value']}")
        for cls in coverage.get("class") or []:
            for coding in (cls.get("type") or {}).get("coding") or []:
                if coding.get("code") and cls.get("value"):
                    keys.classes.setdefault(coding["code"], set()).add(cls["value"])
    return keys


def _documentation(policy: Policy) -> list[str]:
    """What the policy asks to be documented: each indication criterion and the exclusions, with clauses."""
    lines = []
    criteria = policy.indications.children if policy.indications.kind in ("all", "any") else [policy.indications]
    joiner = "all of" if policy.indications.kind == "all" else "one of"
    for node in criteria:
        label = node.label or (node.fact or "").replace("_", " ")
        lines.append(f"- {label} [{node.clause}]" if node.clause else f"- {label}")
    text = [f"Document {joiner} the following:", *lines]
    if policy.exclusions:
        text.append(f"and that none of the policy's exclusions applies [{policy.exclusions_clause or policy.exclusions[0].clause}]"
                    " (MRI-unsafe implants and devices included).")
    return text


def cards(hook: str, request: dict[str, Any], *, payer_map: PayerMap, policies: dict[str, Policy],
          base_url: str) -> dict[str, Any]:
    """The CDS Hooks response (`{"cards": [...]}`) for a hook call; raises InvalidRequestError for a malformed call."""
    context = request.get("context")
    if request.get("hook") not in (None, hook) or not isinstance(context, dict):
        raise InvalidRequestError(f"a {hook} call needs 'context' (and 'hook' = {hook})")
    prefetch = request.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise InvalidRequestError("prefetch must be an object")
    orders, selections, others = _hook_orders(hook, context, prefetch)
    if selections is not None and not (isinstance(selections, list) and all(isinstance(s, str) for s in selections)):
        raise InvalidRequestError("context.selections must be a list of 'Type/id' strings")
    governed = {c for p in policies.values() for c in p.scope.cpt_codes}
    codes = [c for c in _ordered_codes(orders, selections, others) if c in governed]
    if not codes:
        return {"cards": []}
    coverages = _resources(prefetch.get("coverage"))
    keys = coverage_keys(coverages)
    payer = next(iter(sorted(keys.payer_names)), None)
    payer_label = _payer_display(coverages) or payer
    policy_id = payer_map.policy_for(keys)
    if policy_id is None or policy_id not in policies:
        return {"cards": [{
            "summary": f"CPT {codes[0]}: no coverage policy is configured for this member's plan",
            "indicator": "info", "source": _source(payer_label),
            "detail": "mrs-assist cannot say whether prior authorization is required; ask the payer.",
        }]}
    policy = policies[policy_id]
    return {
        "cards": [{
            "summary": f"Prior authorization required for CPT {codes[0]} ({policy_id})"[:140],
            "indicator": "warning",
            "source": _source(payer_label),
            "detail": "\n".join([
                f"Under policy {policy_id} (version {policy.version}) MR spectroscopy needs prior authorization "
                f"[{policy.scope.cpt_clause}].", "", *_documentation(policy)]),
            "links": [{"label": "Complete the documentation questionnaire (DTR)", "type": "absolute",
                       "url": f"{base_url.rstrip('/')}/fhir/Questionnaire/{policy_id}"}],
            "extension": {"clauses": [policy.scope.cpt_clause, *(n.clause for n in policy.indications.children if n.clause)],
                          "questionnaire": dtr.canonical(policy)},
        }],
        "systemActions": _coverage_actions(orders, selections, governed, coverages, policy, request, others),
    }


def _payer_display(coverages: list[dict[str, Any]]) -> str | None:
    for coverage in coverages:
        contained = {f"#{c.get('id')}": c for c in coverage.get("contained") or []}
        for payor in coverage.get("payor") or []:
            org = contained.get(payor.get("reference", "")) or {}
            if org.get("name") or payor.get("display"):
                return str(org.get("name") or payor.get("display"))
    return None


def _coverage_actions(orders: list[dict[str, Any]], selections: list[str] | None, governed: set[str],
                      coverages: list[dict[str, Any]], policy: Policy, request: dict[str, Any],
                      others: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """CRD coverage-information system actions: each governed order, updated with an
    ext-coverage-information saying it is covered conditionally, needs prior authorization and
    clinical documentation with the PA, with the policy's DTR questionnaire."""
    coverage = next((c for c in coverages if c.get("id")), None)
    if coverage is None:
        return []
    actions = []
    for order in orders:
        key = f"{order.get('resourceType')}/{order.get('id')}"
        if selections is not None and key not in selections:
            continue
        if not set(_codes_of(order, others or {})) & governed & set(policy.scope.cpt_codes):
            continue
        assertion = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mrs-assist:crd:{request.get('hookInstance', '')}:{key}"))
        info = {"url": COVERAGE_INFORMATION, "extension": [
            {"url": "coverage", "valueReference": {"reference": f"Coverage/{coverage['id']}"}},
            {"url": "covered", "valueCode": "conditional"},
            {"url": "pa-needed", "valueCode": "auth-needed"},
            {"url": "doc-needed", "valueCode": "clinical"},
            {"url": "doc-purpose", "valueCode": "withpa"},
            {"url": "questionnaire", "valueCanonical": dtr.canonical(policy)},
            {"url": "date", "valueDate": date.today().isoformat()},
            {"url": "coverage-assertion-id", "valueString": assertion},
        ]}
        updated = {**order, "extension": [*(order.get("extension") or []), info]}
        actions.append({"type": "update", "description": f"Coverage information for {key}", "resource": updated})
    return actions
