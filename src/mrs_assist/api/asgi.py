"""The ASGI app for uvicorn workers (`uvicorn mrs_assist.api.asgi:app`).

`mrs-assist serve` passes the interface it listens on in MRS_ASSIST_BIND_HOST so the
app knows whether an API key is required; a bare `uvicorn` run decides per request.

Each worker serves its requests on the CPU, so its math libraries get one thread each, or
several workers on two cores oversubscribe them and throughput falls (measured with two
workers on two cores: 74 → 97 asks/s). Importing this module imports the `mrs_assist.api`
package first, and that loads numpy: an environment variable set here would come too late
for numpy's OpenBLAS, so threadpoolctl caps the libraries already loaded, and the variables
cap those loaded later (torch, with ``query_embedder = "sentence-transformers"``). A thread
count the operator set in the environment is kept.
"""

import os

from threadpoolctl import threadpool_limits

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
if not any(var in os.environ for var in _THREAD_VARS):
    for _var in _THREAD_VARS:
        os.environ[_var] = "1"
    threadpool_limits(limits=1)

from mrs_assist.api.app import create_app  # noqa: E402  (after the thread caps)

app = create_app(host=os.environ.get("MRS_ASSIST_BIND_HOST") or None)
