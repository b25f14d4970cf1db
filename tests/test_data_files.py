"""Shipped data files are found one way (mrs_assist.data.shipped): corpus/ and prompts/ at the
repository root, every other data file inside the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import mrs_assist
from mrs_assist.config import Settings
from mrs_assist.data import shipped

PACKAGE = Path(mrs_assist.__file__).parent
CHECKOUT = PACKAGE.parents[1]


@pytest.mark.parametrize(("name", "where"), [
    ("data/corpus", CHECKOUT / "corpus"),
    ("data/corpus/facts.yaml", CHECKOUT / "corpus" / "facts.yaml"),
    ("data/prompts/letter_draft.yaml", CHECKOUT / "prompts" / "letter_draft.yaml"),
    ("fhir/payers.yaml", PACKAGE / "fhir" / "payers.yaml"),
    ("letters/templates", PACKAGE / "letters" / "templates"),
])
def test_shipped_names_a_file_by_its_place_in_the_wheel(name, where):
    assert shipped(name) == where and where.exists()


def test_settings_default_to_the_root_folders():
    settings = Settings()
    assert settings.corpus_dir == CHECKOUT / "corpus" and settings.prompts_dir == CHECKOUT / "prompts"


def test_no_module_finds_data_beside_its_own_file():
    """Path(__file__) breaks when the data moves (as corpus/ did); shipped() is the one way.
    (config.ROOT is the checkout itself, for eval/ and local state, which no wheel ships.)"""
    offenders = [f"{path.relative_to(PACKAGE)}:{n}" for path in PACKAGE.rglob("*.py")
                 if path.parent.name != "data" and path.name != "config.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "Path(__file__)" in line or "files(\"mrs_assist" in line]
    assert offenders == []
