"""The ASGI app for uvicorn workers (`uvicorn mrs_assist.api.asgi:app`).

`mrs-assist serve` passes the interface it listens on in MRS_ASSIST_BIND_HOST so the
app knows whether an API key is required; a bare `uvicorn` run decides per request.

Each worker is one process serving one request at a time on the CPU: its math
libraries get one thread each (set before numpy loads), or several workers on two cores
oversubscribe them and throughput falls (measured: 51 → 87 requests/s with two workers).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from mrs_assist.api.app import create_app  # noqa: E402  (after the thread caps)

app = create_app(host=os.environ.get("MRS_ASSIST_BIND_HOST") or None)
