"""The HTTP API: wiring only; every route calls a `Services` method."""

from mrs_assist.api.app import create_app

__all__ = ["create_app"]
