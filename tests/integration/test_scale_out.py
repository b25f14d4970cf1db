"""scripts/scale-out.sh, as a user runs it: a Chroma server, a PostgreSQL cluster, the index
built into the server and two uvicorn workers sharing both, all on 127.0.0.1 — then a short
bounded mixed load (ask, stored determinations, record reads) and the records check.

The long version (600 requests and every fault) is `scripts/resilience.py`; this one proves in
CI that the script itself works and that what it starts, it stops.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import free_port
from test_postgres import require_pg_bindir

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "scale-out.sh"

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_scale_out_serves_a_bounded_load_with_every_write_stored_and_stops_everything():
    require_pg_bindir()
    ports = {"--port": free_port(), "--chroma-port": free_port(), "--pg-port": free_port()}
    argv = ["bash", str(SCRIPT), "--workers", "2", "--load", "60", "--concurrency", "4"]
    for option, port in ports.items():
        argv += [option, str(port)]
    env = {**os.environ, "VENV": sys.prefix}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    assert "mrs-assist scale-out is up (2 workers" in proc.stdout
    figures = json.loads(proc.stdout[proc.stdout.index("\n{") + 1:])
    load, records = figures["load"], figures["records"]
    assert load["sent"] == 60 and load["errors"] == 0, load
    assert load["acknowledged_writes"] > 0
    assert records["missing"] == 0 and records["chain_ok"], records
    assert records["acknowledged"] == load["acknowledged_writes"] == records["records_in_database"], records

    # what it started, it stopped: no port still listening, the state folder gone
    assert not [port for port in ports.values() if _listening(port)]
    state = re.search(r"state in (\S+)\)", proc.stdout).group(1)
    assert not Path(state).exists()
