"""PHI stays where it belongs: canary PHI in the notes never reaches logs, error bodies, the
search index or the audit trail.

The flows: a stored determination with its letter, a fact override, a letter edit, a sign-off,
requests that fail validation, an unexpected exception inside determine, questions, and the
`mrs-assist determine` command in a subprocess. Logs are captured at DEBUG from every logger.

By design the notes *are* kept in the records table (``records.request_json``): that row is
the case record the reviewer's decision rests on. The letter, the override reason and the
reviewer's letter edit are kept there too. The audit trail holds only their hashes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from mrs_assist.api import create_app
from mrs_assist.config import Settings
from mrs_assist.index import build_index
from mrs_assist.index.fake import HashingEmbedder
from mrs_assist.records import dispose_engine
from mrs_assist.retrieve import Retriever
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

NAME = "Zyxwv Qwertyson"
MRN = "MRN-CANARY-90210"
DOB = "01/02/1903"
PHONE = "555-0199-CANARY"
CANARIES = (NAME, "Qwertyson", MRN, "CANARY-90210", DOB, PHONE)

NOTES = (
    f"Pt: {NAME}, {MRN}, DOB {DOB}, phone {PHONE}.\n"
    "58 y/o M, GBM s/p resection and XRT/TMZ 2023.\n"
    "MRI brain 08/2024 equivocal: recurrence vs radiation necrosis.\n"
    f"Spouse of {NAME} asks about timing. Request MRS brain.\n"
)
KEYS = "key-nurse=nurse-ann:reviewer,key-doctor=dr-lee:physician"
NURSE = {"X-API-Key": "key-nurse"}
DOCTOR = {"X-API-Key": "key-doctor"}


def assert_no_phi(where: str, blob: str | bytes) -> None:
    if isinstance(blob, bytes):
        found = [c for c in CANARIES if c.encode() in blob or c.encode("utf-16-le") in blob]
    else:
        escaped = json.dumps(blob)
        found = [c for c in CANARIES if c in blob or c in escaped]
    assert not found, f"PHI {found} found in {where}"


@pytest.fixture()
def all_loggers_at_debug(caplog):
    """caplog at DEBUG: the root at DEBUG (so every logger that inherits its level logs at
    DEBUG) and every mrs_assist logger at DEBUG. The third-party loggers the package pins on
    purpose because they would print note text (spaCy/medspaCy, SQLAlchemy's engine) keep
    their pins: those pins are part of what is under test."""
    manager = logging.Logger.manager
    saved = {name: lg.level for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    caplog.set_level(logging.DEBUG)
    for name in saved:
        if name.startswith("mrs_assist"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    yield caplog
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_the_pinned_library_loggers_stay_quiet_under_a_debug_root():
    from mrs_assist.extract.pipeline import silence_libraries
    from mrs_assist.records.db import _quiet_sql_logging

    silence_libraries()
    _quiet_sql_logging()
    for name in ("sqlalchemy.engine", "spacy", "medspacy", "PyRuSH"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name


@pytest.fixture(scope="module")
def index_settings(tmp_path_factory):
    """Settings whose data folder holds a small real index (the shipped corpus, fake embeddings)."""
    data = tmp_path_factory.mktemp("phi-data")
    settings = Settings(data_dir=data, auth="on", api_keys=KEYS, rate_limit_per_minute=0)
    build_index(settings, embedder=HashingEmbedder())
    return settings


@pytest.fixture()
def api(index_settings):
    services = Services(index_settings, retriever=Retriever.from_settings(index_settings, embedder=HashingEmbedder()))
    app = create_app(services=services, host="127.0.0.1")
    yield TestClient(app, base_url=LOCAL, raise_server_exceptions=False), services
    if "records" in services.__dict__:
        dispose_engine(services.records.url)


def determination(**extra) -> dict:
    return {"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": NOTES, "letter": True, **extra}


def test_the_record_flows_keep_phi_out_of_logs_errors_index_and_audit(api, all_loggers_at_debug, index_settings):
    client, services = api
    caplog = all_loggers_at_debug
    bodies: list[str] = []

    # A stored determination (the member's name also in the structured field the letter uses).
    r = client.post("/v1/determinations", json=determination(member={"name": NAME, "id": MRN}), headers=NURSE)
    assert r.status_code == 201, r.text
    record_id = r.json()["id"]
    assert NOTES not in r.text  # the API shows the record, not the request's notes

    # A reviewer's override, a letter edit and a physician's sign-off, each carrying PHI.
    r = client.post(
        f"/v1/determinations/{record_id}/facts",
        json={"name": "conventional_imaging_inconclusive", "value": True, "reason": f"per {NAME}'s outside MRI"},
        headers=NURSE,
    )
    assert r.status_code == 200, r.text
    edited = f"# Determination\n\nDear {NAME} ({MRN}, DOB {DOB}): approved."
    assert client.put(f"/v1/determinations/{record_id}/letter", json={"markdown": edited}, headers=NURSE).status_code == 200
    reviewed = {"review_hash": client.get(f"/v1/determinations/{record_id}", headers=DOCTOR).json()["review_hash"], "attest": True}
    assert client.post(f"/v1/determinations/{record_id}/sign", json=reviewed, headers=DOCTOR).status_code == 200
    r = client.post(f"/v1/determinations/{record_id}/sign", json=reviewed, headers=DOCTOR)
    assert r.status_code == 409
    bodies.append(r.text)

    # Requests that fail validation, each with PHI in the notes or a free-text field.
    bad = [
        determination(clinical_notes=NOTES + "\x00"),
        determination(clinical_notes=NOTES + "x " * 25_000),
        determination(clinical_notes=NOTES + "=" * 1001),
        {**determination(), "note": NOTES},
        determination(patient={"age_years": NAME}),
        determination(facts={NAME: True}),
        determination(facts={"known_brain_tumor": NAME}),
        determination(member={"name": NAME + "\x1b", "id": MRN}),
        determination(member={"name": NAME, "id": MRN * 20}),
        determination(urgency=NAME),
        {**determination(), "cpt_codes": NAME},
    ]
    for body in bad:
        r = client.post("/v1/determinations", json=body, headers=NURSE)
        assert r.status_code == 422, (r.status_code, r.text[:200])
        bodies.append(r.text)
    for body in ({"name": NAME, "value": True, "reason": NAME}, {"name": "known_brain_tumor", "value": NAME, "reason": "r"}):
        r = client.post(f"/v1/determinations/{record_id}/facts", json=body, headers=NURSE)
        assert r.status_code in (409, 422)
        bodies.append(r.text)
    r = client.post("/v1/determinations", content=json.dumps(determination())[:-5], headers={**NURSE, "content-type": "application/json"})
    assert r.status_code == 422
    bodies.append(r.text)
    r = client.post("/v1/determinations", json=determination(), headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    bodies.append(r.text)

    # Questions carrying PHI go through the real index.
    r = client.post("/v1/ask", json={"question": f"Does Cohere cover MRS for {NAME} ({MRN}) with recurrent glioma?"}, headers=NURSE)
    assert r.status_code == 200, r.text
    r = client.post("/v1/ask", json={"question": f"glioma {NAME}\x00"}, headers=NURSE)
    assert r.status_code == 422
    bodies.append(r.text)

    for body in bodies:
        assert_no_phi(f"an error body {body[:300]}", body)
    assert any(rec.name.startswith("mrs_assist") and rec.levelno == logging.DEBUG for rec in caplog.records)
    for rec in caplog.records:
        assert_no_phi(f"the log record {rec.name}:{rec.levelname} {rec.getMessage()[:300]!r}", rec.getMessage())
    assert_no_phi("the logs", caplog.text)
    assert_no_phi("the log records' arguments", repr([(rec.msg, rec.args) for rec in caplog.records]))

    # The index folder: every file, every byte.
    files = [p for p in index_settings.index_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert_no_phi(f"index file {path.name}", path.read_bytes())

    # The audit trail: every row, every column. The records table does hold the case, by design.
    engine = create_engine(services.records.url)
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all()
        records = conn.execute(text("SELECT request_json, letter_markdown FROM records")).all()
        revisions = conn.execute(text("SELECT markdown FROM letter_revisions")).all()
    engine.dispose()
    actions = [row._mapping["action"] for row in audit]
    assert len(audit) >= 4 and "sign" in " ".join(actions), actions
    for row in audit:
        assert_no_phi("the audit trail", json.dumps([str(v) for v in row]))
    assert any(NAME in json.loads(r.request_json)["clinical_notes"] for r in records)
    assert any(NAME in (r.markdown or "") for r in revisions)


def test_an_unexpected_error_inside_determine_leaks_nothing(api, all_loggers_at_debug, monkeypatch):
    client, services = api

    def explode(request):
        raise RuntimeError(f"could not read {request.clinical_notes}")

    monkeypatch.setattr(services, "determine", explode)
    r = client.post("/v1/determinations", json=determination(), headers=NURSE)
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": "internal error; the event was logged"}}
    assert "RuntimeError" in all_loggers_at_debug.text  # the event was logged, by type only
    assert_no_phi("the 500 body", r.text)
    assert_no_phi("the logs", all_loggers_at_debug.text)
    for record in all_loggers_at_debug.records:
        assert record.exc_info is None or not any(c in repr(record.exc_info[1]) for c in CANARIES)


def _cli(tmp_path: Path, notes: str, *args: str) -> subprocess.CompletedProcess:
    notes_file = tmp_path / "notes.txt"
    notes_file.write_text(notes, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRS_ASSIST_")}
    env |= {"MRS_ASSIST_DATA_DIR": str(tmp_path / "data"), "PYTHONWARNINGS": "default"}
    script = Path(sys.executable).with_name("mrs-assist")
    return subprocess.run(
        [str(script), "determine", "--policy", "cohere-mrs", "--notes-file", str(notes_file), *args],
        capture_output=True, text=True, env=env, timeout=180,
    )


def test_the_determine_command_writes_no_phi_to_stderr(tmp_path):
    ok = _cli(tmp_path, NOTES, "--json", "--letter")
    assert ok.returncode == 0, ok.stderr[-2000:]
    response, _ = json.JSONDecoder().raw_decode(ok.stdout)  # the letter follows the JSON
    assert response["recommendation"] == "meets_criteria"
    assert_no_phi("stderr of `mrs-assist determine`", ok.stderr)
    failed = _cli(tmp_path, NOTES + "\x00")
    assert failed.returncode == 1 and "control character U+0000" in failed.stderr
    assert_no_phi("stderr of a failed `mrs-assist determine`", failed.stderr + failed.stdout)
