"""A retriever stand-in with no index: verdicts that need none must stand without it."""

from __future__ import annotations

from mrs_assist.errors import IndexNotReadyError


class NoIndex:
    """Every search raises IndexNotReadyError, as an unbuilt index does."""

    def search(self, *args, **kwargs):
        raise IndexNotReadyError("no index in this test")

    rank = search
