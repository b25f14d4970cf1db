"""A cold `determine` imports medspaCy without torch and with nltk deferred (mrs_assist.lazy):
the extraction must be the same as with both loaded, and both must stay importable after."""

from __future__ import annotations

import json
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
state = {{"torch": "torch" in sys.modules, "nltk": type(sys.modules.get("nltk")).__name__}}
import nltk, torch  # both still importable afterwards
state["after"] = [hasattr(nltk, "word_tokenize"), hasattr(torch, "tensor")]
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
    assert lazy["state"] == {"torch": False, "nltk": "_Deferred", "after": [True, True]}
    assert full["state"]["torch"] is True and full["state"]["nltk"] == "module"
    assert lazy["facts"] == full["facts"]
    assert sum(len(f) for f in lazy["facts"]) > 40  # the notes do yield facts
