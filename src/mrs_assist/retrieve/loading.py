"""Loading and verifying an index generation, and the one mapper of Chroma's failures.

``load_generation`` reads the pointer's generation (every chunk and its embedding, paged),
checks it against the count and self-check digests the build recorded, and builds BM25, the
clause structure and the dense matrix over the same stored records. ``store_failure`` turns anything Chroma raises —
panics included — into our errors: a damaged or unreadable local folder is an
IndexNotReadyError, a server that is down or too slow a ServiceUnavailableError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mrs_assist.errors import IndexNotReadyError, MrsAssistError, ServiceUnavailableError
from mrs_assist.index import selfcheck, store
from mrs_assist.retrieve.bm25 import BM25Index
from mrs_assist.retrieve.structure import ClauseStructure

if TYPE_CHECKING:
    from mrs_assist.config import Settings

_PAGE = 500


@dataclass
class Loaded:
    """One generation as the searches read it (replaced whole on reload, never mutated)."""

    pointer: store.Pointer
    generation: str
    collection: Any
    ids: list[str]
    """Chunk ids, in stored order (the row order of ``bm25`` and ``policy_of``)."""
    pos: dict[str, int]
    meta: dict[str, dict[str, Any]]
    policy_of: np.ndarray
    vectors: np.ndarray
    """The stored embeddings, (chunks × dimensions) float32 in ``ids`` order: dense ranking is
    an exact cosine over them in memory (~0.05 ms), not a Chroma query per search (~0.7 ms)."""
    bm25: BM25Index
    policies: tuple[store.PolicyName, ...]
    structure: ClauseStructure
    """Clause kinds (history, date, code, …) and list parents/items."""


def store_failure(settings: Settings, exc: BaseException, action: str) -> BaseException | None:
    """The error to raise for ``exc`` raised by Chroma while ``action``; None means re-raise
    ``exc`` unchanged (our own errors, KeyboardInterrupt, SystemExit).

    A local store that failed is dropped from Chroma's per-folder cache, so the next call
    opens the files afresh (they may have been rebuilt meanwhile).
    """
    damaged = isinstance(exc, IndexNotReadyError) and exc.code == store.DAMAGED
    if isinstance(exc, MrsAssistError) and not damaged:
        return None
    if not (isinstance(exc, Exception) or store.is_store_failure(exc)):
        return None
    if not settings.chroma_url:
        store.reset_local_client(settings)
    if damaged or store.is_store_failure(exc):
        return store.store_error(settings, exc, action)
    return ServiceUnavailableError(f"{action} failed: {exc}")


def guarded(settings: Settings, read, action: str = "reading the index"):
    """read(), with Chroma's failures mapped by ``store_failure``."""
    try:
        return read()
    except BaseException as exc:
        mapped = store_failure(settings, exc, action)
        if mapped is None:
            raise
        raise mapped from exc


def read_all(collection: Any) -> tuple[list[str], list[str], list[dict[str, Any]], list[Any]]:
    """Every (id, document, metadata, embedding) of a collection, paged."""
    ids: list[str] = []
    docs: list[str] = []
    metas: list[dict[str, Any]] = []
    embeddings: list[Any] = []
    while True:
        page = collection.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=len(ids))
        ids += page["ids"]
        docs += page["documents"]
        metas += page["metadatas"]
        embeddings += list(page["embeddings"])
        if len(page["ids"]) < _PAGE:
            return ids, docs, metas, embeddings


def load_generation(client: Any, settings: Settings, model_id: str, ef: Any) -> Loaded:
    """Open the pointer's generation, verify it, and build BM25 and the clause structure.

    Raises IndexNotReadyError: no index, another embedding model, a missing generation, or
    one whose records no longer match what the build recorded (code ``store.DAMAGED``).
    """
    from chromadb.errors import NotFoundError

    pointer = store.read_pointer(client, settings.collection, ef)
    if pointer is None:
        raise IndexNotReadyError("no index has been built yet: run `mrs-assist index`")
    if pointer.model_id != model_id:
        raise IndexNotReadyError(
            f"the index was built with embedding model {pointer.model_id}, but this process "
            f"uses {model_id}: run `mrs-assist index`"
        )
    try:
        collection = client.get_collection(pointer.generation, embedding_function=ef)
        ids, docs, metas, embeddings = read_all(collection)
    except NotFoundError as exc:
        raise IndexNotReadyError(
            f"index generation {pointer.generation} is missing: run `mrs-assist index`"
        ) from exc
    _verify(pointer, ids, docs, metas, embeddings)
    return Loaded(
        pointer=pointer,
        generation=pointer.generation,
        collection=collection,
        ids=ids,
        pos={cid: i for i, cid in enumerate(ids)},
        meta=dict(zip(ids, metas)),
        policy_of=np.array([m["policy_id"] for m in metas], dtype=object),
        vectors=np.asarray(embeddings, dtype=np.float32).reshape(len(ids), -1),
        bm25=BM25Index(docs),
        policies=pointer.policies,
        structure=ClauseStructure(metas),
    )


def _verify(pointer: store.Pointer, ids: list[str], docs: list[str], metas: list[dict], embeddings: list[Any]) -> None:
    """Raise IndexNotReadyError (DAMAGED) unless the records are the ones the build wrote."""
    if len(ids) != pointer.total:
        raise IndexNotReadyError(
            f"index generation {pointer.generation} holds {len(ids)} chunks, expected "
            f"{pointer.total}: run `mrs-assist index --rebuild`",
            code=store.DAMAGED,
        )
    record = selfcheck.parse_record(pointer.selfcheck)
    if record is not None and (
        selfcheck.records_digest(ids, docs, metas) != record["records_sha256"]
        # The searches rank by these vectors, so they are held to the build's digest too.
        or selfcheck.embeddings_digest(ids, embeddings) != record["embeddings_sha256"]
    ):
        raise IndexNotReadyError(
            f"index generation {pointer.generation} no longer holds the chunks it was built with: "
            "run `mrs-assist index --rebuild`",
            code=store.DAMAGED,
        )
