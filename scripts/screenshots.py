"""Screenshots of a reviewer's day in the workbench, kept in docs/workbench/ (issue 21).

Runs the browser test that walks the day (tests/integration/test_browser.py::test_a_reviewers_day: intake
of a text note, a text PDF and a scanned page; the queue; a pend signed by a nurse; a denial
routed to and signed by a physician; the case reopened with its documents and history) with its
screenshots sent to docs/workbench/, replacing the ones there. Needs the test extras and
Debian's Chromium and Tesseract (`make install`, `scripts/ensure-system-deps.sh browser ocr`).

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "workbench"


def main() -> int:
    """Run the day's browser test into docs/workbench/; returns pytest's exit code."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    env = {**os.environ, "MRS_ASSIST_SCREENSHOTS": str(OUT)}
    test = "tests/integration/test_browser.py::test_a_reviewers_day"
    code = subprocess.call([sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"], cwd=ROOT, env=env)
    print(f"screenshots: {sorted(p.name for p in OUT.glob('*.png'))}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
