"""Every Markdown file the code, data and docs name exists in the repository (no DESIGN.md-style
references to files a reader cannot open)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"(?<![\w/.-])([\w./-]*[A-Za-z]\w*\.md)(?![\w-]|\.\w)")
NOT_IN_THE_REPO = {
    "report.md": "written by `mrs-assist eval` into its output folder",
    "TestSet.md": "a file of the upstream NegEx distribution, cited as the source of eval/negex",
}


def test_named_markdown_files_exist():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    names = {Path(t).name for t in tracked} | set(tracked)
    missing = []
    for path in tracked:
        if not path.endswith((".py", ".yaml", ".yml", ".md", ".toml")) or path.startswith("tests/"):
            continue
        text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
        for line_no, line in enumerate(text.splitlines(), 1):
            for ref in NAMED.findall(line):
                if "{" in ref or "*" in ref or ref.startswith("http"):
                    continue
                if ref not in names and Path(ref).name not in names | set(NOT_IN_THE_REPO):
                    missing.append(f"{path}:{line_no}: {ref}")
    assert not missing, "\n".join(missing)
