"""The ASGI app for uvicorn workers (`uvicorn mrs_assist.api.asgi:app`).

`mrs-assist serve` passes the interface it listens on in MRS_ASSIST_BIND_HOST so the
app knows whether an API key is required; a bare `uvicorn` run decides per request.
"""

import os

from mrs_assist.api.app import create_app

app = create_app(host=os.environ.get("MRS_ASSIST_BIND_HOST") or None)
