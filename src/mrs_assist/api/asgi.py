"""The ASGI app for uvicorn workers (`uvicorn mrs_assist.api.asgi:app`)."""

from mrs_assist.api.app import create_app

app = create_app()
