"""Da Vinci CRD, light: a CDS Hooks service (`order-select`, `order-sign`) that answers "is prior
authorization required for MR spectroscopy (CPT 76390) under this coverage, and what must be
documented?" with one card citing the policy's clauses."""

from __future__ import annotations

from typing import Any

from mrs_assist.criteria import Policy
from mrs_assist.errors import InvalidRequestError
from mrs_assist.fhir import dtr
from mrs_assist.fhir.pas import CPT_SYSTEMS
from mrs_assist.fhir.payers import CoverageKeys, PayerMap
from mrs_assist.fhir.resources import FhirError, parse

HOOKS = ("order-select", "order-sign")
SERVICE_IDS = {f"mrs-assist-{hook}": hook for hook in HOOKS}
SOURCE = {"label": "mrs-assist coverage requirements", "topic": {
    "system": "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp", "code": "prior-auth", "display": "Prior authorization"}}


def discovery(cpt_codes: list[str]) -> dict[str, Any]:
    """The CDS Hooks discovery document (GET /cds-services)."""
    return {"services": [
        {
            "hook": hook,
            "id": service_id,
            "title": "Prior authorization requirements for MR spectroscopy",
            "description": f"Says whether CPT {', '.join(cpt_codes)} needs prior authorization under the member's "
                           "coverage and which documentation the policy asks for, citing its clauses.",
            "prefetch": {"coverage": "Coverage?patient={{context.patientId}}&status=active"},
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
        raise InvalidRequestError(f"{exc.message}: {exc.issues[0].get('diagnostics', '')}") from None
    return [value]


def _ordered_codes(orders: list[dict[str, Any]], selections: list[str] | None) -> list[str]:
    codes = []
    for order in orders:
        if selections is not None and f"{order.get('resourceType')}/{order.get('id')}" not in selections:
            continue
        for coding in (order.get("code") or {}).get("coding") or []:
            if coding.get("system") in CPT_SYSTEMS and coding.get("code"):
                codes.append(str(coding["code"]))
    return codes


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
        lines.append(f"- {label} [{node.clause}]")
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
    orders = _resources(context.get("draftOrders"))
    selections = context.get("selections") if hook == "order-select" else None
    if selections is not None and not (isinstance(selections, list) and all(isinstance(s, str) for s in selections)):
        raise InvalidRequestError("context.selections must be a list of 'Type/id' strings")
    prefetch = request.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise InvalidRequestError("prefetch must be an object")
    governed = {c for p in policies.values() for c in p.scope.cpt_codes}
    codes = [c for c in _ordered_codes(orders, selections) if c in governed]
    if not codes:
        return {"cards": []}
    policy_id = payer_map.policy_for(coverage_keys(_resources(prefetch.get("coverage"))))
    if policy_id is None or policy_id not in policies:
        return {"cards": [{
            "summary": f"CPT {codes[0]}: no coverage policy is configured for this member's plan",
            "indicator": "info", "source": SOURCE,
            "detail": "mrs-assist cannot say whether prior authorization is required; ask the payer.",
        }]}
    policy = policies[policy_id]
    return {"cards": [{
        "summary": f"Prior authorization required for CPT {codes[0]} ({policy_id})"[:140],
        "indicator": "warning",
        "source": SOURCE,
        "detail": "\n".join([
            f"Under policy {policy_id} (version {policy.version}) MR spectroscopy needs prior authorization "
            f"[{policy.scope.cpt_clause}].", "", *_documentation(policy)]),
        "links": [{"label": "Complete the documentation questionnaire (DTR)", "type": "absolute",
                   "url": f"{base_url.rstrip('/')}/fhir/Questionnaire/{policy_id}"}],
        "extension": {"clauses": [policy.scope.cpt_clause, *(n.clause for n in policy.indications.children if n.clause)],
                      "questionnaire": dtr.canonical(policy)},
    }]}
