"""The built wheel answers on its own: build it, install it into a fresh venv outside the
checkout, and run `index`, `ask` and `determine` there (offline: the wheel is installed with
--no-deps --no-index; its dependencies come from this venv's site-packages through a .pth file,
so nothing is downloaded or copied). `corpus/` and `prompts/` sit at the repository root: the
wheel carries them (setuptools' package-dir mapping) and an editable install reads the root
folders themselves."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
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


PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def _copy_checkout(root: Path) -> Path:
    """What a build reads from the checkout (code, the root data folders, the build config)."""
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for folder in ("src", "corpus", "prompts"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    return source


def _fresh_venv(env_dir: Path) -> Path:
    """A venv without pip whose dependencies are this venv's site-packages; returns its python."""
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=env_dir, env={"PATH": os.environ.get("PATH", "")}).strip())
    # Only folders: the checkout's editable-install .pth files inside them are not processed.
    (purelib / "_deps_from_test_venv.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    return python


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh venv's bin folder, the wheel)."""
    root = tmp_path_factory.mktemp("wheel")
    source = _copy_checkout(root)
    _run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(root / "dist"), str(source)],
         cwd=root, env=dict(os.environ))
    (wheel,) = (root / "dist").glob("mrs_assist-*.whl")

    python = _fresh_venv(root / "venv")
    _run([*PIP, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         cwd=root, env=dict(os.environ))
    return python.parent, wheel


def test_every_package_folder_is_listed_for_the_build():
    """pyproject lists the packages (a find directive cannot add the mapped root folders), so a
    new folder under src/mrs_assist must be listed there or the wheel silently lacks it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package = ROOT / "src" / "mrs_assist"
    folders = {".".join(("mrs_assist", *p.relative_to(package).parts)) for p in package.rglob("*")
               if p.is_dir() and p.name != "__pycache__" and any(f.is_file() for f in p.iterdir())}
    assert folders | {"mrs_assist"} == set(config["packages"]) - {"mrs_assist.data.corpus", "mrs_assist.data.prompts"}
    assert config["package-dir"] == {"": "src", "mrs_assist.data.corpus": "corpus", "mrs_assist.data.prompts": "prompts"}
    assert not (package / "data" / "corpus").exists() and (ROOT / "corpus" / "facts.yaml").is_file()


def test_wheel_ships_the_data_it_needs(installed):
    import zipfile

    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in [*(ROOT / "corpus").iterdir(), *(ROOT / "prompts").iterdir()]:  # every root data file ships
        assert f"mrs_assist/data/{path.parent.name}/{path.name}" in names, path
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
    # outside a checkout the state goes to the user's data directory (platformdirs, under HOME)
    assert (tmp_path / ".local" / "share" / "mrs-assist" / "index").is_dir()
    assert not (work / ".mrs-assist").exists()

    answer = json.loads(_run([cli, "ask", "Does NIA cover MRS for glioma grading?", "--json"], cwd=work, env=env))
    assert answer["citations"] and any(c["policy_id"] == "nia-brain-mrs" for c in answer["citations"])

    body = json.loads(_run([cli, "determine", "--policy", "cohere-mrs", "--notes-file", "notes.txt", "--json"],
                           cwd=work, env=env))
    assert body["recommendation"] == "meets_criteria" and body["citations"] and body["id"]


def test_editable_install_serves_the_root_folders(tmp_path):
    """`pip install -e .` (offline, into a fresh venv): the code runs from the checkout's src/ and
    reads corpus/ and prompts/ from the checkout's root, edits included, from any working folder."""
    source = _copy_checkout(tmp_path)
    python = _fresh_venv(tmp_path / "venv")
    _run([str(python), "-m", "pip", "--disable-pip-version-check", "install", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-e", str(source)], cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    (source / "prompts" / "retry.yaml").write_text(
        (source / "prompts" / "retry.yaml").read_text(encoding="utf-8").replace("version:", "# edited in place\nversion:", 1),
        encoding="utf-8")
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = ("import mrs_assist; from mrs_assist.config import Settings; from mrs_assist.criteria.policy import load_policies; "
             "s = Settings(); print(mrs_assist.__file__); print(s.corpus_dir); print(s.prompts_dir); "
             "print(','.join(sorted(load_policies(s.corpus_dir)))); print((s.prompts_dir / 'retry.yaml').read_text()[:200])")
    out = _run([str(python), "-c", probe], cwd=work,
               env={"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}).splitlines()
    assert out[0] == str(source / "src" / "mrs_assist" / "__init__.py")
    assert out[1:3] == [str(source / "corpus"), str(source / "prompts")]
    assert out[3] == "cohere-mrs,floridablue-mrs,healthhelp-mrs,nia-brain-mrs"
    assert "# edited in place" in "\n".join(out[4:])
