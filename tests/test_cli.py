"""The CLI: --json prints the API's body; bad input is one readable line and a non-zero exit."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from mrs_assist import cli
from mrs_assist.api import create_app
from mrs_assist.config import get_settings
from mrs_assist.service import Services

NOTES = (
    "58 y/o M with GBM s/p resection and XRT 2023. New enhancing lesion on MRI, equivocal for "
    "recurrence vs radiation necrosis. MRS requested to differentiate recurrence from radiation "
    "necrosis. No pacemaker.\n"
)


@pytest.fixture()
def run(monkeypatch, tmp_path, capsys):
    """Run `mrs-assist ARGS…` in-process with a temporary data folder; (exit code, stdout, stderr)."""
    monkeypatch.setenv("MRS_ASSIST_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()

    def _run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.argv", ["mrs-assist", *args])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return code, out, err

    yield _run
    get_settings.cache_clear()


def test_determine_json_is_the_api_body(run, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    code, out, _ = run("determine", "--policy", "cohere-mrs", "--notes-file", str(notes), "--age", "58", "--json")
    assert code == 0
    body = json.loads(out)

    api = TestClient(create_app(services=Services(get_settings())), base_url="http://127.0.0.1")
    expected = api.post(
        "/v1/determinations",
        json={"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": NOTES, "patient": {"age_years": 58}},
    ).json()
    assert set(body) == set(expected)
    for key in ("recommendation", "requires_physician_review", "policy_id", "policy_version", "facts",
                "trace", "missing_information", "citations", "safety_flags"):
        assert body[key] == expected[key], key
    assert body["recommendation"] == "meets_criteria" and body["id"] != expected["id"]
    for fact in body["facts"]:
        for span in fact["evidence"]:
            assert NOTES[span["start"] : span["end"]] == span["text"]

    code, out, _ = run("audit", "verify")
    assert code == 0 and out.startswith("audit chain OK: 2 entries")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["determine", "--policy", "aetna-mrs", "--notes-file", "NOTES"], "unknown policy id; known policy ids"),
        (["determine", "--policy", "cohere-mrs", "--notes-file", "/nonexistent/notes.txt"], "notes file not found"),
        (["determine", "--policy", "cohere-mrs", "--notes-file", "NOTES", "--age", "-3"], "patient.age_years"),
        (["determine", "--policy", "cohere-mrs", "--notes-file", "NOTES", "--letter", "--format", "docx"], "--format must be md, html or pdf"),
        (["ask", ""], "question"),
        (["nosuch"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(run, tmp_path, args, message):
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    args = [str(notes) if a == "NOTES" else a for a in args]
    code, out, err = run(*args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err + out


def test_letter_pdf_needs_out(run, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    out_file = tmp_path / "letter.pdf"
    code, _, err = run("determine", "--policy", "nia-brain-mrs", "--notes-file", str(notes), "--letter", "--format", "pdf", "--out", str(out_file))
    assert code == 0, err
    assert out_file.read_bytes().startswith(b"%PDF")


def test_determine_letter_json_prints_one_json_document(run, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    code, out, err = run("determine", "--policy", "cohere-mrs", "--notes-file", str(notes), "--letter", "--json")
    assert code == 0, err
    body = json.loads(out)  # the whole of stdout: no letter text after the JSON
    assert body["recommendation"] == "meets_criteria"
    assert body["letter"]["markdown"].strip() and body["id"]


def test_determine_batch_one_body_a_line_and_errors_in_place(run, tmp_path):
    requests = [
        {"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": NOTES, "patient": {"age_years": 58}},
        {"policy_id": "aetna-mrs", "cpt_codes": ["76390"], "clinical_notes": NOTES},
        "{not json",
        {"policy_id": "nia-brain-mrs", "cpt_codes": ["76390"], "clinical_notes": "Headache for two weeks. MRS requested."},
    ]
    batch = tmp_path / "cases.jsonl"
    batch.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n\n", encoding="utf-8")
    code, out, err = run("determine", "--batch", str(batch))
    assert code == 1 and err.strip() == "error: 2 of 4 lines failed (their lines hold the error)"
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4
    services = Services(get_settings())
    from mrs_assist.schemas import DeterminationRequest

    for i in (0, 3):
        expected = services.determine(DeterminationRequest(**requests[i])).model_dump(mode="json")
        for key in ("recommendation", "facts", "trace", "citations", "missing_information"):
            assert lines[i][key] == expected[key], (i, key)
        assert lines[i]["id"]
    assert lines[1] == {"error": {"code": "unknown_policy", "message": lines[1]["error"]["message"]}, "line": 2}
    assert lines[2]["error"]["code"] == "invalid_request" and lines[2]["line"] == 3
    assert "{not json" not in out  # caller values are not echoed

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(requests[0]) + "\n", encoding="utf-8")
    result = tmp_path / "out.jsonl"
    code, out, err = run("determine", "--batch", str(good), "--out", str(result))
    assert code == 0 and out == "", err
    assert json.loads(result.read_text(encoding="utf-8"))["recommendation"] == "meets_criteria"


@pytest.mark.parametrize(
    "args",
    [["determine", "--batch", "B", "--policy", "cohere-mrs"], ["determine", "--policy", "cohere-mrs"]],
)
def test_determine_batch_and_single_are_exclusive(run, tmp_path, args):
    batch = tmp_path / "b.jsonl"
    batch.write_text("", encoding="utf-8")
    code, out, err = run(*[str(batch) if a == "B" else a for a in args])
    assert code != 0 and err.startswith("error: ") and len(err.strip().splitlines()) == 1 and out == ""


def test_determine_server_prints_the_running_apis_body(tmp_path):
    """`determine --server URL` loads no pipeline: it posts to a running API and prints its body."""
    import subprocess
    import sys

    from support.servers import ApiServer

    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    env = {"MRS_ASSIST_DATA_DIR": str(tmp_path / "data"), "MRS_ASSIST_AUTH": "auto"}
    server = ApiServer(env, log=tmp_path / "api.log").start()
    try:
        cli_env = {**server.env, "MRS_ASSIST_SERVER_URL": server.url}
        argv = [sys.executable, "-c", "from mrs_assist.cli import main; main()", "determine",
                "--policy", "cohere-mrs", "--notes-file", str(notes), "--age", "58", "--json"]
        proc = subprocess.run(argv, env=cli_env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        body = json.loads(proc.stdout)
        assert body["recommendation"] == "meets_criteria" and body["id"] and body["status"] == "draft"
        stored = httpx_get_json(f"{server.url}/v1/determinations/{body['id']}")
        assert stored["id"] == body["id"] and stored["facts"] == body["facts"]

        bad = subprocess.run([*argv[:4], "--policy", "aetna-mrs", "--notes-file", str(notes)],
                             env=cli_env, capture_output=True, text=True, timeout=120, check=False)
        assert bad.returncode == 1 and bad.stderr.startswith("error: unknown policy id"), bad.stderr
        assert "aetna-mrs" not in bad.stderr  # the API does not echo caller values
        assert len(bad.stderr.strip().splitlines()) == 1
    finally:
        server.stop()


def httpx_get_json(url: str) -> dict:
    import httpx

    reply = httpx.get(url, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_api_key_issues_a_key_and_the_keys_file_line_that_admits_it(run, tmp_path):
    from mrs_assist.auth import Authenticator, Role, load_api_keys
    from mrs_assist.config import Settings

    code, out, _ = run("api-key", "dr-lee", "physician")
    assert code == 0
    key = out.splitlines()[0].rpartition(": ")[2]
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(out.splitlines()[1].removeprefix("keys file line: ") + "\n", encoding="utf-8")
    assert key not in keys_file.read_text(encoding="utf-8")  # the file never holds the key itself
    user = Authenticator(load_api_keys(Settings(api_keys_file=keys_file)), mode="on").authenticate(key)
    assert (user.name, user.role) == ("dr-lee", Role.physician)
    code, _, err = run("api-key", "dr-lee", "nurse")
    assert code == 1 and err.startswith("error: role")


# --- PDF and image notes (issue 21): the API's intake, from a file --------------------------------
HISTORY = ["58 y/o M with glioblastoma s/p resection and radiation 2023.", "No pacemaker or other implant."]
FINDINGS = ["New enhancing lesion on MRI, equivocal for recurrence", "versus radiation necrosis. MRS requested to differentiate."]


def _sample(kind: str) -> bytes:
    from mrs_assist.intake.samples import scan_png, text_pdf

    return {"pdf": lambda: text_pdf([HISTORY, FINDINGS]), "png": lambda: scan_png(HISTORY + FINDINGS)}[kind]()


@pytest.mark.parametrize(
    ("name", "kind", "pages"),
    [("referral.pdf", "pdf", [(1, "pdf_text"), (2, "pdf_text")]), ("fax page.PNG", "png", [(1, "ocr")])],
)
def test_determine_reads_a_pdf_or_a_scanned_page_as_the_api_does(run, tmp_path, name, kind, pages):
    import base64

    path = tmp_path / name
    path.write_bytes(_sample(kind))
    code, out, err = run("determine", "--policy", "cohere-mrs", "--notes-file", str(path), "--json")
    assert code == 0, err
    body = json.loads(out)
    docs = body["documents"]
    assert [(d["name"], d["method"]) for d in docs] == [(name, m) for _, m in pages]
    assert [d["page"] for d in docs] == [p for p, _ in pages]
    assert body["recommendation"] == "meets_criteria"
    # every evidence span lies inside one page and quotes that page's text
    for fact in body["facts"]:
        for span in fact["evidence"]:
            page = next(d for d in docs if d["start"] <= span["start"] and span["end"] <= d["end"])
            assert page["text"][span["start"] - page["start"] : span["end"] - page["start"]] == span["text"]

    api = TestClient(create_app(services=Services(get_settings())), base_url="http://127.0.0.1")
    media = "application/pdf" if kind == "pdf" else "image/png"
    expected = api.post("/v1/determinations", json={
        "policy_id": "cohere-mrs", "cpt_codes": ["76390"],
        "documents": [{"name": name, "media_type": media, "content_base64": base64.b64encode(path.read_bytes()).decode()}],
    }).json()
    assert set(body) == set(expected)
    for key in ("recommendation", "facts", "trace", "missing_information", "documents"):
        assert body[key] == expected[key], key


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("referral.pdf", b"%PDF-1.4 not really", "referral.pdf is not a readable PDF"),
        ("blank.png", "SCAN_BLANK", "blank.png: OCR found no readable text"),
        ("photo.jpg", b"\xff\xd8 not a jpeg", "photo.jpg is not a readable image"),
        ("empty.txt", b"  \n", "no clinical notes"),
    ],
)
def test_unreadable_notes_files_are_one_line_and_non_zero(run, tmp_path, name, data, message):
    from mrs_assist.intake.samples import scan_png

    path = tmp_path / name
    path.write_bytes(scan_png([]) if data == "SCAN_BLANK" else data)
    code, out, err = run("determine", "--policy", "cohere-mrs", "--notes-file", str(path), "--json")
    lines = err.strip().splitlines()
    assert code == 1 and out == "" and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_determine_batch_reads_the_documents_of_each_line(run, tmp_path):
    import base64

    upload = {"name": "referral.pdf", "media_type": "application/pdf", "content_base64": base64.b64encode(_sample("pdf")).decode()}
    batch = tmp_path / "cases.jsonl"
    batch.write_text(json.dumps({"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "documents": [upload]}) + "\n"
                     + json.dumps({"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": " "}) + "\n",
                     encoding="utf-8")
    code, out, err = run("determine", "--batch", str(batch))
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 1
    assert first["recommendation"] == "meets_criteria" and [d["page"] for d in first["documents"]] == [1, 2]
    assert second["error"]["code"] == "empty_request" and second["line"] == 2


@pytest.mark.parametrize(("env", "expected"), [(None, "numpy"), ("onnx", "onnx"), ("sentence-transformers", "sentence-transformers")])
def test_a_one_question_process_embeds_with_numpy_unless_set(monkeypatch, env, expected):
    # Building the onnxruntime graph costs a cold `ask` more than it saves on one question.
    if env is None:
        monkeypatch.delenv("MRS_ASSIST_QUERY_EMBEDDER", raising=False)
    else:
        monkeypatch.setenv("MRS_ASSIST_QUERY_EMBEDDER", env)
    get_settings.cache_clear()
    try:
        assert cli._services(one_question=True).settings.query_embedder == expected
        assert cli._services().settings.query_embedder == (env or "onnx")  # long-lived users: the setting
    finally:
        get_settings.cache_clear()
