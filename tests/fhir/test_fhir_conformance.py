"""The profile checker driven by the published Da Vinci packages (mrs_assist.fhir.conformance):
every example the three guides publish passes it, and each class of rule it reads from a
snapshot (cardinality, fixed/pattern value, required binding, slicing, type profile) catches a
broken copy of a published example."""

from __future__ import annotations

import copy

import pytest

from mrs_assist.fhir import conformance, profiles

REG = conformance.registry()
EXAMPLES = [(pkg, name) for pkg, items in sorted(REG.examples.items()) for name, _ in items]
PAS_PKG = "davinci_pas_2.2.1.tgz"


def example(name: str, pkg: str = PAS_PKG) -> dict:
    return copy.deepcopy(dict(REG.examples[pkg])[name])


def test_the_three_packages_are_loaded_with_their_examples():
    assert {len(REG.examples[p]) > 10 for p in conformance.PACKAGES} == {True}
    assert len(REG.profiles[profiles.CLAIM_RESPONSE].must_support) == 72  # what Inferno counts


@pytest.mark.parametrize("pkg, name", EXAMPLES)
def test_every_published_example_passes_the_profiles_it_claims(pkg, name):
    data = dict(REG.examples[pkg])[name]
    assert conformance.validate(data).errors == []
    report = conformance.validate(data, invariants=True)  # and its FHIRPath invariants (fhirpathpy)
    assert report.errors == []
    claimed = [p for p in (data.get("meta") or {}).get("profile") or [] if p.split("|")[0] in REG.profiles]
    assert bool(report.invariants) == bool(claimed)  # evaluated wherever a packaged profile applies


def _task():
    return example("Task-AdditionalInformationTaskExample.json")


@pytest.mark.parametrize("make, key", [
    # PASTask's own invariant: an attachment request names the attachments needed
    (lambda: {**_task(), "input": [i for i in _task()["input"] if i["type"]["coding"][0]["code"] != "attachments-needed"]
              + [{"type": {"text": "a note"}, "valueString": "no attachment named"}]}, "AttachmentNeeded"),
    # ext-1: an extension has a value or sub-extensions, not both
    (lambda: {**_task(), "extension": [{"url": "http://example.org/x", "valueString": "a",
                                        "extension": [{"url": "y", "valueString": "b"}]}]}, "ext-1"),
    # ele-1: no empty elements
    (lambda: {**_task(), "statusReason": {"id": "only-an-id"}}, "ele-1"),
    # the PAS response bundle: the ClaimResponse first
    (lambda: {**example("Bundle-ReferralAuthorizationResponseBundleExample.json"),
              "entry": example("Bundle-ReferralAuthorizationResponseBundleExample.json")["entry"][::-1]},
     "ClaimResponseFirst"),
])
def test_fhirpath_invariants_of_the_snapshots_catch_a_broken_example(make, key):
    data = make()
    assert conformance.validate(data).errors == []  # only the invariant says so
    report = conformance.validate(data, invariants=True)
    assert any(i["code"] == "invariant" and i["diagnostics"].startswith(key + ":") for i in report.errors), report.errors
    assert report.invariants[key][1] >= 1


def _review_code(cr: dict) -> dict:
    return cr["item"][0]["adjudication"][0]["extension"][0]["extension"][0]


@pytest.mark.parametrize("name, break_it, rule", [
    ("ClaimResponse-PractitionerRequestorPendingResponseExample.json", lambda r: r.pop("created"),
     "profile-claimresponse#ClaimResponse.created: at least 1 required"),
    ("ClaimResponse-PractitionerRequestorPendingResponseExample.json", lambda r: r.update(status="draft"),
     "profile-claimresponse#ClaimResponse.status: must match the pattern"),
    ("ClaimResponse-PractitionerRequestorPendingResponseExample.json", lambda r: r.update(outcome="queued"),
     "profile-claimresponse#ClaimResponse.outcome: code not in the required value set"),
    ("ClaimResponse-PractitionerRequestorPendingResponseExample.json",
     lambda r: r["item"][0]["adjudication"][0]["extension"].append(r["item"][0]["adjudication"][0]["extension"][0]),
     "profile-claimresponse#ClaimResponse.item.adjudication.extension:reviewAction: at most 1 allowed"),
    ("ClaimResponse-PractitionerRequestorPendingResponseExample.json",
     lambda r: _review_code(r).update(valueCodeableConcept=None, valueString="A1") or _review_code(r).pop("valueCodeableConcept"),
     "type String is not allowed"),
    ("Bundle-ReferralAuthorizationBundleExample.json", lambda b: b["entry"].pop(0),
     "profile-pas-request-bundle#Bundle.entry:Claim: at least 1 required"),
    ("Bundle-ReferralAuthorizationBundleExample.json", lambda b: b["entry"][0]["resource"].pop("item"),
     "#Claim.item: at least 1 required"),
    ("Bundle-ReferralAuthorizationBundleExample.json", lambda b: b.update(type="batch"),
     "profile-pas-request-bundle#Bundle.type: must"),
    ("Bundle-ReferralAuthorizationResponseBundleExample.json", lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])),
     "profile-pas-response-bundle#Bundle.entry:ClaimResponse: at most 1 allowed"),
    ("Bundle-ReferralAuthorizationResponseBundleExample.json", lambda b: b["entry"][0]["resource"].update(use="claim"),
     "profile-claimresponse#ClaimResponse.use"),
])
def test_each_class_of_snapshot_rule_catches_a_broken_published_example(name, break_it, rule):
    data = example(name)
    break_it(data)
    found = [i["diagnostics"] for i in conformance.validate(data).errors]
    assert any(rule in d for d in found), found


def test_must_support_coverage_is_reported_per_profile():
    reports = [conformance.validate(example(n)) for n in (
        "ClaimResponse-PractitionerRequestorPendingResponseExample.json", "ClaimResponse-ErrorResponseExample.json")]
    cover = conformance.coverage(reports)
    seen, total = cover[profiles.CLAIM_RESPONSE]
    assert total == 72 and 0 < seen < total
    assert seen > conformance.coverage(reports[:1])[profiles.CLAIM_RESPONSE][0]  # the error example adds `error`


def test_deep_nesting_is_refused_not_recursed_without_bound():
    cr = example("ClaimResponse-PractitionerRequestorPendingResponseExample.json")
    ext: dict = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(200):
        ext = {"url": "http://example.org/x", "extension": [ext]}
    cr["extension"] = [ext]
    conformance.validate(cr)  # returns (no RecursionError)


def test_every_packaged_request_example_and_fixture_is_handled_right_by_the_server():
    """scripts/fhir_examples.py: each PAS request/inquiry example, each published request fixture
    and the DTR package input through the server; conformant requests get 200 and responses
    with 0 checker errors, non-conformant ones a 4xx OperationOutcome."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "scripts" / "fhir_examples.py"
    spec = importlib.util.spec_from_file_location("fhir_examples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.run()
    tried = {g: sum(1 for r in out["results"] if r["guide"] == g) for g in ("PAS", "fixtures", "own", "DTR")}
    assert tried == {"PAS": 6, "fixtures": 2, "own": 2, "DTR": 2}
    assert [r["example"] for r in out["results"] if not r["handled_right"]] == []
    assert out["must_support"]["profile-pas-response-bundle"] == "8/8"
    seen, total = map(int, out["must_support"]["profile-claimresponse"].split("/"))
    assert total == 72 and seen >= 37  # 23 before preAuthPeriod, trace numbers, transmission ids, errorElement...
    assert "profile-task" in out["must_support"]  # the Task of a document pend, checked against PASTask
    responses = out["invariants"]["responses"]  # every response's FHIRPath invariants hold
    assert responses["evaluations"] > 0 and responses["failed"] == {} and responses["unevaluated"] == []
