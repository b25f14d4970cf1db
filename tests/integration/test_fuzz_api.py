"""The OpenAPI contract, fuzzed: schemathesis drives every operation of the app in-process.

Every built-in check runs — no server error, status codes, content types, response headers
and bodies conforming to the declared responses, schema-invalid data rejected, schema-valid
data accepted, the Allow header of a 405, … — on a fixed budget of derandomized examples per
operation (MAX_EXAMPLES in the fuzzing phase, plus schemathesis's examples and coverage
phases), so CI is repeatable and quick. The services use the real corpus and criteria with a
keyword retriever instead of the index, and records live in a temporary SQLite file.

Auth is on, and every request carries a physician's key (the role that may call every
operation), so schemathesis's ``ignored_auth`` check runs too: for each operation it repeats
a successful request without the key and with a made-up one and requires a 401.
``test_protected_operations_need_a_key`` covers the operations no fuzzed request got a 2xx from.

Two hooks steer generation towards the interesting paths: a request body's ``policy_id`` is
sometimes a real policy id (otherwise nearly every determination would be a 404), and a
record ``id`` in a path is sometimes that of a stored determination (otherwise every record
operation would be a 404).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from test_api import KeywordRetriever

from mrs_assist.api import create_app
from mrs_assist.auth import Role, User
from mrs_assist.config import Settings
from mrs_assist.api.deps import get_readiness
from mrs_assist.readiness import ReadinessReport
from mrs_assist.records import dispose_engine
from mrs_assist.records.models import FACT_NAME_PATTERN
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

MAX_EXAMPLES = 25
SEED = 20241121
FACT_NAMES = ["conventional_imaging_inconclusive", "known_brain_tumor", "mri_unsafe_implant", "multiple_sclerosis"]
POLICY_IDS = ["cohere-mrs", "healthhelp-mrs", "nia-brain-mrs", "floridablue-mrs", "magellan-mrs-digest"]
KEY = "fuzz-physician-key"
CALLER = User("dr-fuzz", Role.physician)


class AlwaysReady:
    """Readiness without an index (the keyword retriever needs none)."""

    def check(self) -> ReadinessReport:
        return ReadinessReport(ready=True, checks={"index": {"ok": True, "message": "fake"}})

    def start_background(self) -> None:
        return None


def _fuzz_app():
    """The app under test; records go to a temporary SQLite file (removed when the module ends)."""
    folder = Path(tempfile.mkdtemp(prefix="mrs-fuzz-"))
    services = Services(Settings(data_dir=folder, auth="on", api_keys=f"{KEY}={CALLER.name}:{CALLER.role.value}",
                                 rate_limit_per_minute=0))
    services._retriever = KeywordRetriever(services.corpus)
    app = create_app(services=services)
    app.dependency_overrides[get_readiness] = AlwaysReady
    return app, folder


APP, FOLDER = _fuzz_app()

schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    APP,
    headers={"X-API-Key": KEY},  # with auth on, the schema needs a key like every other route
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "operations": [
                {
                    # A sign-off without a body names no reviewed version: 428 by design
                    # (README "Signing"); the body stays optional so old clients learn that.
                    "include-path": "/v1/determinations/{id}/sign",
                    "include-method": "POST",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "428", "429"]
                        }
                    },
                },
                {
                    # FHIR and CDS Hooks bodies are FHIR resources: the schema says "an object",
                    # the content rules (profiles, references, the payer map) answer 4xx.
                    "include-path-regex": "^/(fhir|cds-services)/",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
                        }
                    },
                },
                {
                    # A well-formed fact name that is not in the facts catalogue is a 422: the
                    # catalogue is data, so the schema cannot enumerate the names.
                    "include-path": "/v1/determinations/{id}/facts",
                    "include-method": "POST",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                        }
                    },
                }
            ],
        }
    ),
)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    services = APP.state.services
    if "records" in services.__dict__:
        dispose_engine(services.records.url)
    shutil.rmtree(FOLDER, ignore_errors=True)


@cache
def stored_record_ids() -> list[str]:
    """Three stored determinations (one per outcome, each with a letter), made on first use."""
    services = APP.state.services
    notes = [
        "58 y/o M, GBM s/p XRT/TMZ. MRI equivocal: recurrence vs radiation necrosis. Request MRS.",
        "44 y/o M, secondary progressive MS. Neuro requests MRS to evaluate MS progression.",
        "MR spectroscopy of brain, outpatient.",
    ]
    ids = []
    for text in notes:
        request = DeterminationRequest(policy_id="cohere-mrs", cpt_codes=["76390"], clinical_notes=text, letter=True)
        ids.append(services.records.create(request, services.determine(request), user=CALLER).id)
    return ids


def _plain_id(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 100 and value.isprintable()


@schema.hook
def flatmap_body(context, body):
    """Sometimes a real policy id or fact name (only where the generated one was valid, so that
    negative cases stay negative)."""
    path = context.operation.path if context.operation is not None else None
    field, known = {
        "/v1/determinations": ("policy_id", POLICY_IDS),
        "/v1/determinations/{id}/facts": ("name", FACT_NAMES),
    }.get(path, (None, []))
    if field is None or not isinstance(body, dict) or not _plain_id(body.get(field)):
        return st.just(body)
    if field == "name" and not re.fullmatch(FACT_NAME_PATTERN, body["name"]):
        return st.just(body)
    return st.sampled_from([*known, body[field]]).map(lambda value: {**body, field: value})


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Sometimes the id of a stored determination."""
    if not isinstance(path_parameters, dict) or not _plain_id(path_parameters.get("id")):
        return st.just(path_parameters)
    return st.sampled_from([*stored_record_ids(), path_parameters["id"]]).map(lambda i: {**path_parameters, "id": i})


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_its_schema(case):
    response = case.call_and_validate(headers={"X-API-Key": KEY})
    if response.headers.get("content-type", [""])[0].startswith("application/json"):
        # No stack trace, source path or module name in any answer.
        for leak in ("Traceback", 'File "', "/work/", "site-packages", '.py"'):
            assert leak not in response.text


# --- with auth on, everything but the probes needs a key --------------------------------------
def test_protected_operations_need_a_key(tmp_path):
    services = Services(Settings(data_dir=tmp_path, auth="on", api_keys="key-nurse=nurse-ann:reviewer"))
    app = create_app(services=services, host="127.0.0.1")
    client = TestClient(app, base_url=LOCAL, raise_server_exceptions=False)
    operations = [
        (method.upper(), path)
        for path, item in client.get("/openapi.json", headers={"X-API-Key": "key-nurse"}).json()["paths"].items()
        for method in item
    ]
    assert len(operations) >= 11
    record = "7f0c1c0e-0000-4000-8000-000000000000"
    bodies = {
        "/v1/ask": {"question": "glioma grading"},
        "/v1/determinations": {"policy_id": "cohere-mrs", "cpt_codes": ["76390"]},
        "/v1/determinations/{id}/facts": {"name": "known_brain_tumor", "value": True, "reason": "r"},
        "/v1/determinations/{id}/letter": {"markdown": "x"},
    }
    for method, path in operations:
        url = path.replace("{id}", record)
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
            r = client.request(method, url, json=bodies.get(path), headers=headers)
            if path in ("/healthz", "/readyz"):
                assert r.status_code in (200, 503)  # probes need no key
                continue
            assert r.status_code == 401, (method, path, headers, r.status_code)
            if path.startswith("/fhir/"):  # FHIR answers in FHIR's error shape
                assert r.json()["resourceType"] == "OperationOutcome" and r.json()["issue"][0]["code"] == "login"
            else:
                assert r.json()["error"]["code"] == "unauthorized"
    assert client.get("/v1/policies", headers={"X-API-Key": "key-nurse"}).status_code == 200
