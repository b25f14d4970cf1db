"""An API worker's math libraries run one thread each unless the operator says otherwise
(several threads per worker oversubscribe the cores: see mrs_assist.api.asgi)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


_PROBE = """
import json
from threadpoolctl import threadpool_info
import mrs_assist.api.asgi
print(json.dumps([(i["internal_api"], i["num_threads"]) for i in threadpool_info()]))
"""
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _threads_in_a_worker(**env: str) -> list[tuple[str, int]]:
    base = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**base, **env}, capture_output=True, text=True,
                         timeout=120, check=True)
    return [tuple(pair) for pair in json.loads(out.stdout.strip().splitlines()[-1])]


def test_a_worker_runs_one_blas_thread_although_numpy_loads_before_the_module():
    threads = _threads_in_a_worker()
    assert any(api == "openblas" for api, _ in threads), threads
    assert all(n == 1 for _, n in threads), threads


def test_a_thread_count_set_by_the_operator_is_kept():
    threads = _threads_in_a_worker(OPENBLAS_NUM_THREADS="2")
    assert ("openblas", 2) in threads, threads
