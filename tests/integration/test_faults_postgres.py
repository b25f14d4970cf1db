"""Records on PostgreSQL under faults: kill -9 of the API during writes, and the database
stopped or frozen under a running API (503 within the timeout, recovery without a restart).

A cluster of this module's own (it is stopped and frozen here), durable as in production:
with ``synchronous_commit=off`` a crash of PostgreSQL itself may lose the last commits it
had acknowledged — not a setting to run records on.
"""

from __future__ import annotations

import pytest

from support.faults import backend_outage, kill_during_writes
from support.load import verify_writes
from support.servers import ApiServer, PostgresServer
from test_postgres import require_pg_bindir

pytestmark = [
    pytest.mark.integration,
]
TIMEOUT = 1.5


@pytest.fixture(scope="module")
def pg():
    require_pg_bindir()
    server = PostgresServer(durable=True).start()
    yield server
    server.destroy()


def _env(tmp_path, url: str) -> dict[str, str]:
    return {"MRS_ASSIST_DATA_DIR": str(tmp_path / "data"), "MRS_ASSIST_DATABASE_URL": url,
            "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "0", "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": str(TIMEOUT)}


def test_every_acknowledged_write_survives_kill_9_of_the_api(pg, tmp_path):
    url = pg.create_database("kill_writes")
    figures = kill_during_writes(_env(tmp_path, url), url, rounds=2, requests=100, concurrency=8, workers=1,
                                 log=tmp_path / "api.log")
    assert figures["kills"] == 2 and figures["http_5xx_before_kill"] == 0, figures
    assert figures["missing_in_database"] == 0 and figures["missing_via_api"] == 0, figures
    assert figures["chain_ok"], figures


@pytest.mark.parametrize("mode", ["stop", "freeze"])
def test_database_down_is_503_within_the_timeout_and_recovers(mode, pg, tmp_path):
    url = pg.create_database(f"outage_{mode}")
    api = ApiServer(_env(tmp_path, url), workers=2, log=tmp_path / "api.log").start()
    try:
        figures = backend_outage(api.url, pg, kind="database", mode=mode, down_requests=2, after_requests=6)
    finally:
        api.stop()
    assert figures["status_before"] == 201
    assert figures["statuses_during"] == {"503": 2}
    assert figures["error_codes_during"] == ["service_unavailable"]
    expected = "is unavailable" if mode == "stop" else "did not answer in time"
    assert expected in figures["message_during"]
    # bounded: a refused connection at once; a frozen server by the client-side deadlines — a
    # pooled connection's pre-ping gives up after timeout + 2 s, each reconnect attempt after
    # ceil(timeout) s (measured 5.5 s, now and then 8.3 s, with timeout 1.5 s)
    assert figures["slowest_answer_during_s"] < 4 * TIMEOUT + 5, figures["answers_during_s"]
    assert figures["readiness_during"] == 503 and "database:" in figures["readiness_message"]
    assert figures["first_request_after"] == 201  # the next request after the return: no API restart
    assert figures["next_requests_ok"] == figures["next_requests"]
    checked = verify_writes(url, figures["acknowledged"], env=_env(tmp_path, url))
    assert checked["missing"] == 0 and checked["chain_ok"]
