"""A cold `determine` imports medspaCy without torch and with nltk deferred (mrs_assist.lazy):
the extraction must be the same as with both loaded, and both must stay importable after."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from mrs_assist.config import ROOT

SCRIPT = """
import json, sys
{preload}
from mrs_assist.config import Settings
from mrs_assist.criteria import load_catalogue
from mrs_assist.extract import extract_facts
catalogue = load_catalogue(Settings().corpus_dir / "facts.yaml")
notes = json.loads(sys.stdin.read())
facts = [
    {{k: [v.value, [[e.start, e.end] for e in v.evidence]] for k, v in extract_facts(n, catalogue=catalogue).items()}}
    for n in notes
]
state = {{"torch": "torch" in sys.modules, "nltk": type(sys.modules.get("nltk")).__name__,
         "spacy.cli": "spacy.cli" in sys.modules}}
import nltk, spacy, torch  # all still importable and usable afterwards
state["after"] = [hasattr(nltk, "word_tokenize"), hasattr(torch, "tensor"), spacy.info()["spacy_version"] == spacy.__version__]
print(json.dumps({{"state": state, "facts": facts}}))
"""


def _extract(notes: list[str], preload: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(preload=preload)],
        input=json.dumps(notes), capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_lazy_medspacy_import_extracts_the_same_facts():
    cases = yaml.safe_load((ROOT / "eval" / "cases.yaml").read_text(encoding="utf-8"))
    notes = [c["notes"] for c in cases[:40]]
    lazy = _extract(notes, preload="")
    full = _extract(notes, preload="import torch, nltk")
    assert lazy["state"] == {"torch": False, "nltk": "_Deferred", "spacy.cli": False, "after": [True, True, True]}
    assert full["state"]["torch"] is True and full["state"]["nltk"] == "module"
    assert lazy["facts"] == full["facts"]
    assert sum(len(f) for f in lazy["facts"]) > 40  # the notes do yield facts


def test_cold_cli_determine_imports_no_web_framework(tmp_path):
    """A local `determine` stores its record without importing FastAPI (users live apart from auth),
    LangChain or the PDF renderer (no letter asked: mrs_assist.letters imports on first use), or the
    retrieval stack; it keeps its compiled regular expressions for the next one (extract.recache).
    The garbage collector stays off while it loads (it ran ~450 times in a cold `determine`, three
    full passes among them), and the records database is closed at exit even though the heap is
    then frozen (cli._at_exit): no write-ahead log is left beside it."""
    notes = tmp_path / "notes.txt"
    cases = yaml.safe_load((ROOT / "eval" / "cases.yaml").read_text(encoding="utf-8"))
    notes.write_text(cases[0]["notes"], encoding="utf-8")
    script = (
        "import gc, json, sys\n"
        "from mrs_assist.cli import main\n"
        f"sys.argv = ['mrs-assist', 'determine', '--policy', 'cohere-mrs', '--notes-file', {str(notes)!r}, '--json']\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: runs.append(info['generation']) if phase == 'stop' else None)\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(json.dumps({'collections': len(runs), 'enabled': gc.isenabled()}), file=sys.stderr)\n"
        "print(json.dumps([m for m in ('fastapi', 'starlette', 'spacy.cli', 'torch', 'langchain_core', "
        "'reportlab', 'chromadb', 'sentence_transformers') if m in sys.modules]), file=sys.stderr)\n"
    )
    env = {**os.environ, "MRS_ASSIST_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["recommendation"] in {"meets_criteria", "does_not_meet_criteria", "needs_more_information"}
    *_, collector, imported = proc.stderr.strip().splitlines()
    assert json.loads(imported) == []
    assert json.loads(collector)["enabled"] is True
    assert json.loads(collector)["collections"] < 200  # the parsing before the command only
    assert (tmp_path / "data" / "cache" / "regex-code.json").stat().st_size > 100_000
    assert sorted(p.name for p in (tmp_path / "data").glob("records.sqlite3*")) == ["records.sqlite3"]
