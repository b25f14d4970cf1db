"""Records on SQLite under faults: kill -9 of the API during concurrent writes, and a full disk.

The scenarios are `tests/support/faults.py` (the same code `scripts/resilience.py` runs
longer); these are their short versions, each against a real uvicorn process on 127.0.0.1.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.exc import OperationalError

from mrs_assist.errors import ServiceUnavailableError
from support.faults import disk_full, kill_during_writes
from mrs_assist.records.db import _translate_errors

pytestmark = pytest.mark.integration


def test_every_acknowledged_write_survives_kill_9_of_the_api(tmp_path):
    env = {"MRS_ASSIST_DATA_DIR": str(tmp_path / "data"), "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "0",
           "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": "3"}
    figures = kill_during_writes(env, f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}", rounds=2, requests=120,
                                 concurrency=8, workers=2, log=tmp_path / "api.log")
    assert figures["kills"] == 2, figures
    assert figures["acknowledged"] >= 2 * 120 // 5, figures
    assert figures["http_5xx_before_kill"] == 0, figures
    assert figures["missing_in_database"] == 0 and figures["missing_via_api"] == 0, figures
    assert figures["chain_ok"], figures
    # nothing half-written either: every stored record was acknowledged or in flight at a kill
    assert figures["acknowledged"] <= figures["records_in_database"] <= figures["requests_sent"], figures


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (the fallback is tested below)")
def test_full_disk_answers_503_loses_nothing_and_recovers(tmp_path):
    figures = disk_full(tmp_path, timeout=3, log=tmp_path / "api.log")
    assert figures["mode"] in ("tmpfs 2 MiB", "ext4-loop 2 MiB"), figures["mode"]
    _check_disk_full(figures)


def test_full_database_fallback_answers_503_loses_nothing_and_recovers(tmp_path):
    """Where nothing can be mounted: SQLite's max_page_count stands in for the full disk."""
    figures = disk_full(tmp_path, timeout=3, force_fallback=True)
    assert figures["mode"].startswith("sqlite max_page_count")
    _check_disk_full(figures)


def _check_disk_full(figures: dict) -> None:
    assert figures["acknowledged_before_full"] > 0
    assert figures["http_500s"] == 0 and set(figures["statuses_while_filling"]) == {"201", "503"}
    [error] = figures["errors"]
    assert error.startswith("503 service_unavailable: the records database is out of disk space")
    assert figures["liveness_while_full"] == 200 and figures["read_while_full"] == 200
    assert figures["statuses_after_freeing"] == [201] * 5
    assert figures["missing_in_database"] == 0 and figures["chain_ok"]
    assert figures["records_in_database"] == figures["acknowledged_total"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("database or disk is full", "out of disk space"),
        ("could not extend file: No space left on device", "out of disk space"),
        ("the database did not answer within 5 s; connection dropped", "did not answer in time"),
        ("canceling statement due to lock timeout", "did not answer in time"),
        ("connection refused", "is unavailable"),
        ("database disk image is malformed", "is damaged"),
    ],
)
def test_outage_messages_say_what_happened_without_the_details(message, expected):
    with pytest.raises(ServiceUnavailableError) as caught:
        with _translate_errors():
            raise OperationalError("INSERT INTO records ... (secret statement)", {}, Exception(message))
    assert expected in caught.value.message
    assert "secret" not in caught.value.message and "INSERT" not in caught.value.message


_MIGRATE_AT = """
import sys, time
from mrs_assist.records import RecordStore
start = float(sys.argv[2])
while time.time() < start:
    pass
RecordStore(f"sqlite:///{sys.argv[1]}")
"""


def test_workers_starting_together_on_a_new_sqlite_file_all_migrate(tmp_path):
    """Found here: two workers migrating a new file at once made one answer 503 'database is locked'."""
    import subprocess
    import sys
    import time

    for trial in range(3):
        path = tmp_path / f"records-{trial}.sqlite3"
        start = str(time.time() + 1.5)
        procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE_AT, str(path), start], stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err[-500:]
