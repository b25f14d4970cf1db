"""Data files: the one way to find one shipped with mrs_assist (importlib.resources, so a wheel
works) and the one way to read a YAML one (:class:`YamlFile`, errors name file and line).

``corpus/`` and ``prompts/`` sit at the repository root, where policy authors find them; the wheel
carries them as ``mrs_assist/data/corpus`` and ``mrs_assist/data/prompts`` (setuptools' package-dir
mapping in pyproject.toml). An editable install or a source tree on PYTHONPATH has no such folder
inside the package, so there they are the root folders beside ``src/``: setuptools' editable
finder cannot import a mapped folder that has no ``__init__.py``, and reading the folders beside
the code actually imported keeps a worktree on PYTHONPATH from reading another checkout's corpus.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from mrs_assist.data.yamlfile import YamlFile, load_yaml

__all__ = ["ROOT_FOLDERS", "YamlFile", "load_yaml", "shipped"]

ROOT_FOLDERS = ("corpus", "prompts")
"""Folders kept at the repository root and shipped in the wheel under ``mrs_assist/data/``."""


@cache
def _package() -> Path:
    return Path(str(files("mrs_assist")))


def shipped(name: str) -> Path:
    """The path of a file or folder shipped with mrs_assist, named as it sits in the installed
    package: ``shipped("fhir/payers.yaml")``, ``shipped("data/corpus/facts.yaml")``."""
    package = _package()
    path = package / name
    parts = Path(name).parts
    if len(parts) > 1 and parts[0] == "data" and parts[1] in ROOT_FOLDERS and not (package / "data" / parts[1]).is_dir():
        return package.parents[1].joinpath(*parts[1:])
    return path
