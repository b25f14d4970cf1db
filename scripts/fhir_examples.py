"""Run every example request in the published PAS 2.2.1, DTR 2.0.1 and CRD 2.0.1 packages and
every published fixture in tests/fixtures/fhir through the server (in-process, loopback only),
check each response against the snapshots (mrs_assist.fhir.conformance), and print examples
tried / handled right per guide and must-support coverage per profile.

    PYTHONPATH=src python scripts/fhir_examples.py [--json]
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.fhir import conformance, profiles
from mrs_assist.service import Services

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "fhir"
H = {"Content-Type": "application/fhir+json"}
PAYERS = ("MARYLAND CAPITAL INSURANCE COMPANY", "Insurance Company", "Acme Insurance")
MEETS = {  # gold case gc-001's facts (eval/cases.yaml), answered in Cohere's DTR questionnaire: meets its criteria
    "known_brain_tumor": True, "brain_mass_or_lesion": True,
    "conventional_imaging_inconclusive": True, "tumor_recurrence_vs_treatment_effect": True,
}


def _client(tmp: Path) -> TestClient:
    payer_map = tmp / "payers.yaml"
    payer_map.write_text("rules:\n" + "".join(f"  - payer_name: {p}\n    policy_id: cohere-mrs\n" for p in PAYERS))
    settings = Settings(data_dir=tmp / "data", fhir_notify_interval_seconds=0, fhir_payer_map=payer_map)
    return TestClient(create_app(services=Services(settings), host="127.0.0.1"), base_url="http://127.0.0.1",
                      raise_server_exceptions=False)


def _request_bundles(reg):
    """(guide, name, bundle, inquiry?) for every request bundle example."""
    for name, data in reg.examples["davinci_pas_2.2.1.tgz"]:
        prof = " ".join((data.get("meta") or {}).get("profile") or [])
        if data.get("resourceType") == "Bundle" and "request-bundle" in prof:
            yield "PAS", name, data, "inquiry" in prof
    for path in sorted(FIXTURES.rglob("*.json")):
        data = json.loads(path.read_text())
        if data.get("resourceType") == "Bundle" and any(
                (e.get("resource") or {}).get("resourceType") == "Claim" for e in data.get("entry") or []):
            yield "fixtures", str(path.relative_to(FIXTURES)), data, False


def _own_requests(reg):
    """The project's own requests built on the IG's referral example: the service this policy
    governs (CPT 76390) with DTR answers that meet it (A1), and the same request from a payer
    no policy is configured for (a ClaimResponse with X12 error T4)."""
    base = dict(reg.examples["davinci_pas_2.2.1.tgz"])["Bundle-ReferralAuthorizationBundleExample.json"]
    approved = copy.deepcopy(base)
    claim = approved["entry"][0]["resource"]
    claim["identifier"][0]["value"] = "OWN-A1"
    claim["item"][0]["productOrService"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "76390"}]}
    claim["item"][0]["servicedDate"] = "2026-12-14"
    answers = {"resourceType": "QuestionnaireResponse", "id": "own-dtr", "status": "completed",
               "item": [{"linkId": k, "answer": [{"valueBoolean": v}]} for k, v in MEETS.items()]}
    approved["entry"].append({"fullUrl": "http://example.org/fhir/QuestionnaireResponse/own-dtr", "resource": answers})
    claim["supportingInfo"].append({"sequence": 2, "extension": copy.deepcopy(claim["supportingInfo"][0]["extension"]),
                                    "category": {"coding": [{
        "system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "code": "additionalInformation"}]},
        "valueReference": {"reference": "QuestionnaireResponse/own-dtr"}})
    yield "own", "referral example, CPT 76390 with DTR answers meeting the policy (A1)", approved, False
    unknown = copy.deepcopy(base)
    unknown["entry"][0]["resource"]["identifier"][0]["value"] = "OWN-T4"
    for entry in unknown["entry"]:
        if entry["resource"].get("name") == PAYERS[0]:
            entry["resource"]["name"] = "A payer with no configured policy"
    yield "own", "referral example from a payer no policy is configured for (error T4)", unknown, False


def _own_package_input(reg) -> tuple[str, dict]:
    """The DTR input example with the referral example's coverage (its insurer contained, a payer
    the map sends to a policy) and an order for CPT 76390: the package holds the policy's
    Questionnaire and the CQL Library that pre-populates it."""
    data = copy.deepcopy(dict(reg.examples["davinci_dtr_2.0.1.tgz"])["Parameters-QuestionnairePackageInputParamsExample.json"])
    referral = dict(reg.examples["davinci_pas_2.2.1.tgz"])["Bundle-ReferralAuthorizationBundleExample.json"]
    coverage = copy.deepcopy(next(e["resource"] for e in referral["entry"] if e["resource"]["resourceType"] == "Coverage"))
    insurer = next(e["resource"] for e in referral["entry"] if e["resource"].get("name") == PAYERS[0])
    coverage.update(contained=[{**insurer, "id": "payer"}], payor=[{"reference": "#payer"}])
    order = {"resourceType": "ServiceRequest", "id": "own-order", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/1"},
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "76390"}]}}
    data["parameter"] = [{"name": "coverage", "resource": coverage}, {"name": "order", "resource": order}]
    return "own: a mapped coverage and a CPT 76390 order (Questionnaire + Library)", data


def _answer(bundle: dict) -> str | None:
    """The first item's X12 306 review action, or the X12 901 error code, of a response bundle."""
    cr = next((e["resource"] for e in bundle.get("entry") or [] if e["resource"]["resourceType"] == "ClaimResponse"), {})
    for error in cr.get("error") or []:
        return error["code"]["coding"][0]["code"]
    for item in cr.get("item") or []:
        for sub in item["adjudication"][0]["extension"][0]["extension"]:
            if sub["url"].endswith("reviewActionCode"):
                return sub["valueCodeableConcept"]["coding"][0]["code"]
    return None


def run() -> dict:
    reg = conformance.registry()
    results, reports = [], []
    with tempfile.TemporaryDirectory() as tmp:
        client = _client(Path(tmp))
        for guide, name, bundle, inquiry in [*_request_bundles(reg), *_own_requests(reg)]:
            if inquiry:  # the request it asks about, first
                for _, other, data, inq in _request_bundles(reg):
                    if not inq and other.startswith("Bundle-ReferralAuthorization"):
                        client.post("/fhir/Claim/$submit", content=json.dumps(data), headers=H)
            r = client.post("/fhir/Claim/$inquire" if inquiry else "/fhir/Claim/$submit",
                            content=json.dumps(copy.deepcopy(bundle)), headers=H)
            body = r.json()
            conformant_request = not profiles.errors(profiles.check_request_bundle(bundle, inquiry=inquiry))
            bundles = [p["resource"] for p in body.get("parameter", [])] if inquiry else [body]
            errors = []
            for b in bundles if r.status_code == 200 else []:
                rep = conformance.validate(b, invariants=True)
                reports.append(rep)
                errors += rep.errors + profiles.errors(profiles.check_response_bundle(b, inquiry=inquiry))
            right = (r.status_code == 200 and not errors and (bundles or not inquiry)) if conformant_request else (
                400 <= r.status_code < 500 and body.get("resourceType") == "OperationOutcome")
            if guide == "own" and right:  # the answer each was built for: A1, or the X12 error T4
                right = _answer(body) == ("A1" if "(A1)" in name else "T4")
            results.append({"guide": guide, "example": name, "status": r.status_code, "request_conformant": conformant_request,
                            "response_errors": len(errors), "handled_right": bool(right)})
        # DTR: the package's $questionnaire-package input, and our own (a mapped coverage, a 76390 order)
        for name, data in [*reg.examples["davinci_dtr_2.0.1.tgz"], _own_package_input(reg)]:
            if data.get("resourceType") == "Parameters" and "qpackage-input" in json.dumps(data.get("meta", {})):
                r = client.post("/fhir/Questionnaire/$questionnaire-package", content=json.dumps(data), headers=H)
                rep = conformance.validate(r.json(), profiles.PAS.replace("davinci-pas", "davinci-dtr")
                                           + "dtr-qpackage-output-parameters", invariants=True) if r.status_code == 200 else None
                if rep:
                    reports.append(rep)
                kinds = [e["resource"]["resourceType"] for p in (r.json().get("parameter") or [])
                         if p.get("name") == "PackageBundle" for e in p["resource"].get("entry") or []]
                expected = ["Questionnaire", "Library"] if name.startswith("own") else []
                results.append({"guide": "DTR", "example": name, "status": r.status_code, "request_conformant": True,
                                "response_errors": len(rep.errors) if rep else None,
                                "handled_right": bool(rep and not rep.errors and kinds == expected)})
    cover = conformance.coverage(reports)
    examples = [conformance.validate(data, invariants=True) for items in reg.examples.values() for _, data in items]
    return {"results": results, "must_support": {u.rsplit("/", 1)[-1]: f"{a}/{b}" for u, (a, b) in sorted(cover.items())},
            "invariants": {"responses": _invariants(reports), "examples": _invariants(examples)}}


def _invariants(reports: list) -> dict:
    """FHIRPath invariants over `reports`: keys evaluated, evaluations, failures by key, keys the
    library could not evaluate."""
    total = conformance.Report()
    for report in reports:
        total.merge(report)
    return {"keys": len(total.invariants), "evaluations": sum(a + b for a, b in total.invariants.values()),
            "failed": {k: f for k, (_, f) in sorted(total.invariants.items()) if f},
            "unevaluated": sorted(total.unevaluated)}


def main() -> None:
    out = run()
    if "--json" in sys.argv:
        print(json.dumps(out, indent=2))
        return
    by_guide: dict[str, list[int]] = {}
    for r in out["results"]:
        tried_right = by_guide.setdefault(r["guide"], [0, 0])
        tried_right[0] += 1
        tried_right[1] += r["handled_right"]
        print(f"{r['guide']:9} {r['example']:60} {r['status']}  request-conformant={r['request_conformant']!s:5} "
              f"response-errors={r['response_errors']}  {'ok' if r['handled_right'] else 'WRONG'}")
    for guide, (tried, right) in by_guide.items():
        print(f"{guide}: {right}/{tried} handled right")
    for profile, cov in out["must_support"].items():
        print(f"must-support {profile}: {cov}")
    for what, inv in out["invariants"].items():
        print(f"invariants ({what}): {inv['keys']} keys, {inv['evaluations']} evaluations, failed {inv['failed'] or 'none'}, "
              f"not evaluable {inv['unevaluated'] or 'none'}")


if __name__ == "__main__":
    main()
