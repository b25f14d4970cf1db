"""DTR: each policy's criteria tree as a Questionnaire, and QuestionnaireResponses round-tripped
into the same outcome as the same facts through the JSON API."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.questionnaire import Questionnaire
from support.fhir import answers, claim_response, mrs_bundle, payer_map
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrs_assist.api.app import create_app
from mrs_assist.config import Settings
from mrs_assist.fhir import dtr
from mrs_assist.records import dispose_engine
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services

SERVICES = Services(Settings())
POLICIES = sorted(SERVICES.policies)
QUESTIONNAIRES = {pid: dtr.build_questionnaire(SERVICES.policies[pid], SERVICES.catalogue) for pid in POLICIES}
NURSE = {"X-API-Key": "key-nurse", "Content-Type": "application/fhir+json"}


def leaves(pid):
    return [item["linkId"] for item in dtr._leaves(QUESTIONNAIRES[pid]["item"])]


def outcome(pid, facts, cpt=("76390",)):
    request = DeterminationRequest(policy_id=pid, cpt_codes=list(cpt), facts=facts)
    return SERVICES.determine(request)


@st.composite
def completions(draw, pid):
    """A questionnaire filled in order: each shown question answered yes, no, or left blank."""
    answers_: dict[str, bool] = {}
    for link in leaves(pid):
        if link in dtr.enabled_items(QUESTIONNAIRES[pid], answers_):
            value = draw(st.sampled_from([True, False, None]))
            if value is not None:
                answers_[link] = value
    return answers_


@pytest.mark.parametrize("pid", POLICIES)
def test_questionnaire_asks_each_formula_fact_once_and_cites_its_clause(pid):
    q = QUESTIONNAIRES[pid]
    Questionnaire.model_validate(q)
    policy = SERVICES.policies[pid]
    links = leaves(pid)
    assert len(links) == len(set(links))
    assert set(policy.formula_facts()) <= set(links)
    for item in dtr._leaves(q["item"]):
        (code,) = item["code"]
        clause = SERVICES.corpus.clause(code["code"])
        assert code["system"] == dtr.CLAUSE_SYSTEM and clause is not None and not clause.deleted
    assert q["url"].endswith(pid) and q["version"] == policy.version


@pytest.mark.parametrize("pid", POLICIES)
def test_enable_when_follows_the_tree(pid):
    q = QUESTIONNAIRES[pid]
    everything = set(leaves(pid))
    assert dtr.enabled_items(q, {}) == everything  # nothing answered: everything shown
    # A non-brain region decides the scope: nothing else is asked but the request's purposes
    # (once one purpose is stated the others read as absent, so they always matter) and the
    # safety/investigational documentation.
    assert "other_region_covered" not in everything  # the physician reviewer's finding is no question
    if SERVICES.policies[pid].scope.asked_region:
        # Under a policy that names a region without criteria (Cohere: muscle) another region
        # decides the scope only with that region answered no: a conjunction the questionnaire's
        # enableWhen (each a single answer) cannot express, so nothing is hidden (never wrong:
        # a shown question that cannot matter is answered and ignored).
        assert dtr.enabled_items(q, {"non_brain_mrs_requested": True}) == everything
        return
    purposes = {name for name in everything if SERVICES.catalogue.spec(name).role == "purpose"}
    assert dtr.enabled_items(q, {"non_brain_mrs_requested": True}) == {"non_brain_mrs_requested"} | purposes | {
        i["linkId"] for g in q["item"] if g["linkId"] == dtr.OTHER_GROUP for i in g["item"]}
    others = {i["linkId"] for g in q["item"] if g["linkId"] == dtr.OTHER_GROUP for i in g["item"]}
    if everything - purposes - others - {"non_brain_mrs_requested"}:  # something to hide (HealthHelp)
        assert len(dtr.enabled_items(q, {"non_brain_mrs_requested": True})) < len(everything)


@pytest.mark.parametrize("pid", POLICIES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_completion_decides_like_the_json_api_and_hidden_questions_never_matter(pid, data):
    policy, q = SERVICES.policies[pid], QUESTIONNAIRES[pid]
    filled = data.draw(completions(pid))
    facts = dtr.facts_from_response(policy, q, answers(pid, filled, version=policy.version))
    assert facts == filled  # nothing shown and answered is dropped
    result = outcome(pid, facts)
    hidden = set(leaves(pid)) - dtr.enabled_items(q, filled)
    for name in sorted(hidden):
        for value in (True, False):
            assert outcome(pid, facts | {name: value}).recommendation == result.recommendation, name
    if result.recommendation == "needs_more_information":
        missing = set(result.trace.missing_facts) - {"cpt_code_in_scope"}
        assert missing <= set(dtr.unanswered(q, filled))


def test_a_response_to_another_questionnaire_or_question_is_refused():
    policy, q = SERVICES.policies["cohere-mrs"], QUESTIONNAIRES["cohere-mrs"]
    with pytest.raises(dtr.FhirError):
        dtr.facts_from_response(policy, q, answers("nia-brain-mrs", {}, version="1"))
    with pytest.raises(dtr.FhirError):
        dtr.facts_from_response(policy, q, answers("cohere-mrs", {"not_a_question": True}))
    bad = answers("cohere-mrs", {})
    bad["item"] = [{"linkId": "known_brain_tumor", "answer": [{"valueString": "yes"}]}]
    with pytest.raises(dtr.FhirError):
        dtr.facts_from_response(policy, q, bad)


@pytest.fixture()
def api(tmp_path):
    made = []

    def make(pid):
        settings = Settings(data_dir=tmp_path / pid, auth="on", api_keys="key-nurse=nurse-ann:reviewer", fhir_notify_interval_seconds=0,
                            fhir_payer_map=payer_map(tmp_path, pid))
        services = Services(settings)
        made.append(services)
        return TestClient(create_app(services=services, host="127.0.0.1"), raise_server_exceptions=False)

    yield make
    for services in made:
        dispose_engine(services.records.url)


@pytest.mark.parametrize("pid", POLICIES)
def test_questionnaire_response_through_http_matches_the_json_api(api, pid):
    client = api(pid)
    q = client.get(f"/fhir/Questionnaire/{pid}", headers=NURSE).json()
    assert q == QUESTIONNAIRES[pid]
    shown = leaves(pid)
    for n, fill in enumerate([{name: True for name in shown}, {name: False for name in shown}, {}]):
        # fill in order, keeping only what stays shown
        filled: dict[str, bool] = {}
        for name in shown:
            if name in fill and name in dtr.enabled_items(q, filled):
                filled[name] = fill[name]
        sent = claim_response(client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id=f"C{n}")),
                                          headers=NURSE).json())
        qr = answers(pid, filled) | {"subject": {"reference": f"ClaimResponse/{sent['id']}"}}
        r = client.post("/fhir/QuestionnaireResponse", content=json.dumps(qr), headers=NURSE)
        assert r.status_code == 200, r.text
        state = {p["name"]: p.get("valueCode") or p.get("valueString") for p in r.json()["parameter"]}
        json_api = client.post("/v1/determinations", json={"policy_id": pid, "cpt_codes": ["76390"],
                                                           "clinical_notes": "", "facts": filled}, headers=NURSE)
        assert state["recommendation"] == json_api.json()["recommendation"]


def test_questionnaire_package_by_get_and_post(api):
    client = api("nia-brain-mrs")
    sent = claim_response(client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle()), headers=NURSE).json())
    by_get = client.get(f"/fhir/Questionnaire/$questionnaire-package?context={sent['id']}", headers=NURSE).json()
    by_post = client.post("/fhir/Questionnaire/$questionnaire-package", headers=NURSE, content=json.dumps(
        {"resourceType": "Parameters", "parameter": [{"name": "context", "valueString": sent["id"]}]})).json()
    assert by_get == by_post
    (bundle,) = [p["resource"] for p in by_get["parameter"]]
    # nia-brain-mrs asks nothing the EHR's coded data shows: no Library to carry
    assert dtr.library(SERVICES.policies["nia-brain-mrs"], QUESTIONNAIRES["nia-brain-mrs"]) is None
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Questionnaire", "QuestionnaireResponse"]
    qr = bundle["entry"][1]["resource"]
    assert qr["subject"]["type"] == "Patient"  # DTR: the subject is the patient (here by member identifier)
    assert bundle["entry"][1]["fullUrl"].startswith("urn:uuid:") and len(bundle["entry"][1]["fullUrl"]) == 45
    assert qr["identifier"]["value"]  # the PAS claim identifier: posting it back finds the request
    r = client.get("/fhir/Questionnaire/$questionnaire-package", headers=NURSE)
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"


def test_the_package_conforms_and_a_prefilled_response_posted_back_finds_its_request(api):
    from mrs_assist.fhir import conformance

    client = api("cohere-mrs")
    sent = claim_response(client.post("/fhir/Claim/$submit", content=json.dumps(mrs_bundle(claim_id="DTR-1")),
                                      headers=NURSE).json())
    package = client.get(f"/fhir/Questionnaire/$questionnaire-package?context={sent['id']}", headers=NURSE).json()
    assert conformance.validate(package).errors == []  # dtr-qpackage-output-parameters, DTR-QPackageBundle,
    bundle = package["parameter"][0]["resource"]  # dtr-std-questionnaire: the profiles each names
    assert package["meta"]["profile"] and bundle["meta"]["profile"] and bundle["entry"][0]["resource"]["meta"]["profile"]
    qr = {**bundle["entry"][2]["resource"], "status": "completed"}
    qr["item"] = answers("cohere-mrs", {"known_brain_tumor": True})["item"]
    r = client.post("/fhir/QuestionnaireResponse", content=json.dumps(qr), headers=NURSE)
    assert r.status_code == 200
    record = client.get(f"/v1/determinations/{sent['id']}", headers=NURSE).json()
    assert [o["name"] for o in record["overrides"]] == ["known_brain_tumor"]


def test_dtr_standard_input_coverage_and_order(api):
    from mrs_assist.fhir import conformance

    client = api("cohere-mrs")
    reg = conformance.registry()
    example = dict(reg.examples["davinci_dtr_2.0.1.tgz"])["Parameters-QuestionnairePackageInputParamsExample.json"]
    coverage = mrs_bundle()["entry"][3]["resource"]
    insurer = next(e["resource"] for e in mrs_bundle()["entry"] if e["resource"].get("id") == "InsurerExample")
    coverage = {**coverage, "contained": [{**insurer, "id": "payer"}], "payor": [{"reference": "#payer"}]}
    order = {"resourceType": "ServiceRequest", "id": "o1", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/1"},
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "76390"}]}}
    for params, expect in (
        (example, []),  # the guide's example orders a gas panel: no template applies, said in an outcome
        ({"resourceType": "Parameters", "parameter": [{"name": "coverage", "resource": coverage},
                                                      {"name": "order", "resource": order}]}, ["Questionnaire", "Library"]),
    ):
        r = client.post("/fhir/Questionnaire/$questionnaire-package", content=json.dumps(params), headers=NURSE)
        assert r.status_code == 200, r.text
        body = r.json()
        assert conformance.validate(body).errors == []
        bundle = body["parameter"][0]["resource"]
        assert [e["resource"]["resourceType"] for e in bundle.get("entry", [])] == expect
        assert (len(body["parameter"]) == 2) == (not expect)  # the outcome says why the package is empty


@pytest.mark.parametrize("pid", POLICIES)
def test_the_questionnaire_is_pre_populated_by_its_cql_library(pid):
    """DTR 2.0.1: the Questionnaire names its Library (cqf-library) and the patient launch
    context; each item the EHR's data can answer carries an initialExpression naming a define of
    that Library's CQL; nothing else is pre-populated."""
    import base64

    from mrs_assist.fhir import conformance, cql

    policy, q = SERVICES.policies[pid], QUESTIONNAIRES[pid]
    library = dtr.library(policy, q)
    expected = set(cql.prepopulated(set(leaves(pid))))
    if not expected:  # nothing the EHR's data can answer: no Library, no pre-population claimed
        assert library is None and not q.get("extension")
        return
    ext = {e["url"]: e for e in q["extension"]}
    assert ext[cql.CQF_LIBRARY]["valueCanonical"] == f"{library['url']}|{library['version']}"
    assert {e["url"]: e.get("valueCode") for e in ext[cql.LAUNCH_CONTEXT]["extension"]}["type"] == "Patient"
    text = base64.b64decode(library["content"][0]["data"]).decode()
    assert library["content"][0]["contentType"] == "text/cql" and text.startswith(f"library {library['name']} version")
    expressions = {i["linkId"]: e["valueExpression"]["expression"] for i in dtr._leaves(q["item"])
                   for e in i.get("extension") or [] if e["url"] == cql.INITIAL_EXPRESSION}
    assert set(expressions) == expected
    for link, expression in expressions.items():
        assert expression == f'"{library["name"]}"."{link}"' and f'define "{link}":' in text
    assert f"'{cql.ICD10CM}'" in text and "[Condition]" in text
    report = conformance.validate(q, invariants=True)  # dtr-std-questionnaire and its FHIRPath invariants
    assert report.errors == [] and not [i for i in report.issues if i["code"] == "invariant"]  # warnings too (que-0)
    Questionnaire.model_validate(q)


def test_the_cql_answers_only_what_the_data_shows():
    from mrs_assist.fhir import cql

    policy = SERVICES.policies["cohere-mrs"]
    text = cql.cql(policy, {"known_brain_tumor", "neonate", "conventional_imaging_inconclusive", "metabolic_disorder"})
    assert 'define "known_brain_tumor":' in text and "StartsWith(Code, 'C71')" in text and "else null" in text
    assert 'define "neonate":' in text and "AgeInDays() <= 28" in text
    assert "conventional_imaging_inconclusive" not in text  # an imaging reading no coded data shows: asked, not guessed
    assert "metabolic_disorder" not in text  # why the study is ordered: never inferred from a diagnosis
    assert len([n for n in POLICIES if dtr.library(SERVICES.policies[n], QUESTIONNAIRES[n])]) >= 2
