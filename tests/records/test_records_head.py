"""Opening the record store skips alembic when the database is already at the newest schema."""

from __future__ import annotations

import subprocess
import sys

from mrs_assist.records import current_revision, dispose_engine, head_revision, upgrade_database
from mrs_assist.records.db import HEAD_REVISION

_PROBE = """
import sys
from mrs_assist.records import upgrade_database
upgrade_database(sys.argv[1])
print("alembic" in sys.modules)
"""


def test_head_revision_constant_is_alembics_head():
    assert HEAD_REVISION == head_revision()


def test_a_database_at_head_opens_without_importing_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    upgrade_database(url)
    assert current_revision(url) == HEAD_REVISION
    dispose_engine(url)
    probe = [sys.executable, "-c", _PROBE, url]
    at_head = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=True)
    assert at_head.stdout.strip().splitlines()[-1] == "False"


def test_an_older_database_is_still_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    upgrade_database(url, "0003")
    assert current_revision(url) == "0003"
    upgrade_database(url)
    assert current_revision(url) == HEAD_REVISION
    dispose_engine(url)
