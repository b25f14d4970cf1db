"""The built wheel answers on its own: build it, install it into a fresh venv outside the
checkout, and run `index`, `ask` and `determine` there (offline: the wheel is installed with
--no-deps --no-index; its dependencies come from this venv's site-packages through a .pth file,
so nothing is downloaded or copied)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from mrs_assist.config import ROOT

pytestmark = pytest.mark.integration

NOTES = (
    "58 y/o M with GBM s/p resection and XRT 2023. New enhancing lesion on MRI, equivocal for "
    "recurrence vs radiation necrosis. MRS requested to differentiate recurrence from radiation necrosis.\n"
)


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{argv[1:]} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh venv's bin folder, the wheel)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(root / "dist"), str(source)],
         cwd=root, env=dict(os.environ))
    (wheel,) = (root / "dist").glob("mrs_assist-*.whl")

    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=root, env={"PATH": os.environ.get("PATH", "")}).strip())
    # Only folders: the checkout's editable-install .pth files inside them are not processed.
    (purelib / "_deps_from_test_venv.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         cwd=root, env=dict(os.environ))
    return env_dir / "bin", wheel


def test_wheel_ships_the_data_it_needs(installed):
    import zipfile

    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("mrs_assist/data/corpus/facts.yaml", "mrs_assist/data/corpus/cohere-mrs.criteria.yaml",
                   "mrs_assist/data/corpus/nia-brain-mrs.md", "mrs_assist/data/prompts/letter_draft.yaml",
                   "mrs_assist/data/prompts/answer_phrase.yaml", "mrs_assist/letters/templates/manifest.yaml",
                   "mrs_assist/extract/lexicon.yaml", "mrs_assist/records/migrations/env.py"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "mrs_assist/harness/")) for n in names)


def test_installed_wheel_indexes_answers_and_determines_outside_the_checkout(installed, tmp_path):
    bin_dir, _ = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "notes.txt").write_text(NOTES, encoding="utf-8")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "TOKENIZERS_PARALLELISM": "false",
           "LANG": "C.UTF-8"}
    where = _run([str(bin_dir / "python"), "-c",
                  "import mrs_assist, mrs_assist.config as c; print(mrs_assist.__file__); print(c.IN_CHECKOUT)"],
                 cwd=work, env=env).split()
    assert where[0].startswith(str(bin_dir.parent)) and where[1] == "False"

    cli = str(bin_dir / "mrs-assist")
    assert "index built" in _run([cli, "index"], cwd=work, env=env)
    assert (work / ".mrs-assist" / "index").is_dir()  # the state goes to the working folder

    answer = json.loads(_run([cli, "ask", "Does NIA cover MRS for glioma grading?", "--json"], cwd=work, env=env))
    assert answer["citations"] and any(c["policy_id"] == "nia-brain-mrs" for c in answer["citations"])

    body = json.loads(_run([cli, "determine", "--policy", "cohere-mrs", "--notes-file", "notes.txt", "--json"],
                           cwd=work, env=env))
    assert body["recommendation"] == "meets_criteria" and body["citations"] and body["id"]
