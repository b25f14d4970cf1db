"""The tests mirror the package (as medspaCy's do): a folder of tests/ is a package of
src/mrs_assist/ (or `integration/`, for what crosses them), the tests of a top-level module sit in
tests/ itself, and every test file a doc, script or docstring names exists."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import mrs_assist

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PACKAGE = Path(mrs_assist.__file__).parent
NOT_PACKAGES = {"integration": "tests crossing packages", "support": "helpers", "fixtures": "data"}
NAMED_TEST = re.compile(r"\btests/[\w/]*test_\w+\.py")


def _tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def test_each_test_folder_is_a_package_of_the_code():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.parent.relative_to(TESTS).parts[0] for p in TESTS.rglob("test_*.py") if p.parent != TESTS}
    assert folders, "no test folders"
    assert folders - set(NOT_PACKAGES) <= packages, sorted(folders - set(NOT_PACKAGES) - packages)


def test_tests_in_the_top_folder_are_of_top_level_modules():
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {"layering", "doc_references", "test_layout"}
    loose = {p.stem.removeprefix("test_") for p in TESTS.glob("test_*.py")}
    modules.add("settings")  # config.py's Settings
    # a top-level test names its module, or starts with it (test_lazy_imports: lazy.py)
    strays = sorted(n for n in loose if not any(n == m or n.startswith(f"{m}_") for m in modules))
    assert not strays, f"put these in the folder of the package they test: {strays}"


def test_every_test_folder_is_on_the_path():
    """Test modules import helpers from each other by module name, whichever folder they sit in."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["pytest"]["ini_options"]["pythonpath"])
    folders = {str(p.parent.relative_to(ROOT)) for p in TESTS.rglob("test_*.py")}
    assert folders <= listed, sorted(folders - listed)


def test_named_test_files_exist():
    missing = []
    for path in _tracked():
        if not path.endswith((".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".j2")) and "Dockerfile" not in path:
            continue
        text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
        for line_no, line in enumerate(text.splitlines(), 1):
            missing += [f"{path}:{line_no}: {ref}" for ref in NAMED_TEST.findall(line) if not (ROOT / ref).is_file()]
    assert not missing, "\n".join(missing)
