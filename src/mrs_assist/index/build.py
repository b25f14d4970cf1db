"""Build the index: incremental by content hash, atomic by generation, one writer at a time.

A build (1) takes ``index_dir/.write.lock`` (non-blocking: a second writer gets
``IndexLockedError``); (2) compares a fingerprint of the corpus files, model and
chunking settings with the manifest and returns at once when nothing changed; otherwise
(3) chunks the corpus, (4) writes a new generation collection, copying the stored
embedding of every chunk whose content hash the current generation already holds and
embedding only the rest, (5) checks the new generation's count, (6) moves the pointer
(see ``store``) and (7) drops the older generations. Until step 6 readers keep using the
previous generation; an exception or a kill leaves at worst an orphan collection, which
the next build drops. The lock is a local file: in server mode, run builds from one place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from mrs_assist.corpus.loader import load_corpus
from mrs_assist.errors import IndexLockedError, ServiceUnavailableError
from mrs_assist.index import store
from mrs_assist.index.chunk import CHUNKER_VERSION, Chunk, chunk_corpus
from mrs_assist.index.embed import TextEmbedder, chroma_embedding_function, get_embedder

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from mrs_assist.config import Settings
    from mrs_assist.corpus.model import Corpus

log = logging.getLogger(__name__)
_EMBED_BATCH = 64
_READ_PAGE = 500


@dataclass(frozen=True)
class IndexReport:
    """What a build did."""

    embedded: int
    """Chunks embedded by the model in this build."""
    reused: int
    """Chunks whose stored embedding was copied from the previous generation."""
    removed: int
    """Chunk ids of the previous generation that the new one no longer has."""
    total: int
    """Chunks in the generation that now answers."""
    seconds: float
    generation: str
    """Name of the generation collection that now answers."""
    changed: bool
    """False when the previous generation was kept as it was."""


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """What Chroma stores beside a chunk's embedded text (enough to cite without the corpus)."""
    return {
        "clause_id": chunk.clause_id,
        "policy_id": chunk.policy_id,
        "payer": chunk.payer,
        "kind": chunk.kind,
        "section": chunk.section,
        "context": chunk.context,
        "text": chunk.text,
        "clause_text": chunk.clause_text,
        "content_hash": chunk.content_hash,
    }


def _fingerprint(settings: Settings, corpus: Corpus, model_id: str) -> str:
    """Digest of everything a build's output depends on, cheap to compute."""
    parts = {
        "documents": sorted((d.id, d.content_hash) for d in corpus.documents.values()),
        "model_id": model_id,
        "chunk_max_tokens": settings.chunk_max_tokens,
        "chunker": CHUNKER_VERSION,
        "collection": settings.collection,
        "target": store.chroma_target(settings),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _digest(chunks: Sequence[Chunk], policies: Sequence[store.PolicyName]) -> str:
    """Digest of exactly what a generation would store: equal digests, equal indexes."""
    rows = sorted(
        (c.id, c.embed_text, json.dumps(chunk_metadata(c), sort_keys=True)) for c in chunks
    )
    payload = json.dumps([rows, [asdict(p) for p in policies]], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


@contextlib.contextmanager
def _progress(enabled: bool | None, total: int) -> Iterator[Callable[[int], None]]:
    """An advance(n) callback drawing a rich bar on a terminal (or when enabled=True)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (console.is_terminal if enabled is None else enabled) or total == 0:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:
        task = bar.add_task("indexing chunks", total=total)
        yield lambda n: bar.advance(task, n)


def _stored(collection: Any) -> dict[str, tuple[str, Any]]:
    """id → (content hash, embedding) of every record in a generation, read page by page."""
    out: dict[str, tuple[str, Any]] = {}
    offset = 0
    while True:
        page = collection.get(include=["metadatas", "embeddings"], limit=_READ_PAGE, offset=offset)
        for cid, meta, emb in zip(page["ids"], page["metadatas"], page["embeddings"]):
            out[cid] = ((meta or {}).get("content_hash", ""), emb)
        if len(page["ids"]) < _READ_PAGE:
            return out
        offset += _READ_PAGE


def build_index(
    settings: Settings,
    *,
    corpus: Corpus | None = None,
    progress: bool | None = None,
    rebuild: bool = False,
    embedder: TextEmbedder | None = None,
) -> IndexReport:
    """Bring the index up to date with the corpus; returns an IndexReport.

    ``rebuild`` re-embeds every chunk. ``progress`` None draws a bar only on a terminal.
    Raises IndexLockedError when another process is building, CorpusError for an invalid
    corpus, ServiceUnavailableError when Chroma fails; the previous index keeps answering.
    """
    started = time.perf_counter()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.index_dir / ".write.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise IndexLockedError("another process is building the index") from exc
    try:
        corpus = corpus if corpus is not None else load_corpus(settings.corpus_dir)
        embedder = embedder if embedder is not None else get_embedder(settings)
        fingerprint = _fingerprint(settings, corpus, embedder.model_id)
        manifest = store.read_manifest(settings.index_dir)
        try:
            if (
                not rebuild
                and manifest is not None
                and manifest.get("fingerprint") == fingerprint
                and store.local_store_exists(settings)
                and _server_agrees(settings, manifest, embedder)
            ):
                total = int(manifest["total"])
                log.info("index up to date (%d chunks)", total)
                return IndexReport(0, total, 0, total, time.perf_counter() - started,
                                   manifest["generation"], changed=False)
            report = _build(settings, corpus, embedder, fingerprint, rebuild, progress)
        except Exception as exc:
            if _is_store_error(exc):
                raise ServiceUnavailableError(f"the vector store failed: {exc}") from exc
            raise
        return replace(report, seconds=time.perf_counter() - started)
    finally:
        lock.release()


def _is_store_error(exc: Exception) -> bool:
    """True for Chroma's errors and its HTTP transport's (not for our own or a bug's)."""
    import httpx
    from chromadb.errors import ChromaError

    return isinstance(exc, ChromaError | httpx.HTTPError | ConnectionError | TimeoutError)


def _server_agrees(settings: Settings, manifest: dict[str, Any], embedder: TextEmbedder) -> bool:
    """In server mode, True if the server's pointer is the manifest's generation."""
    if not settings.chroma_url:
        return True  # local mode: the manifest is trusted without opening Chroma
    client = store.open_client(settings)
    pointer = store.read_pointer(client, settings.collection, chroma_embedding_function(embedder))
    return pointer is not None and pointer.generation == manifest.get("generation")


def _build(
    settings: Settings,
    corpus: Corpus,
    embedder: TextEmbedder,
    fingerprint: str,
    rebuild: bool,
    progress: bool | None,
) -> IndexReport:
    """Write (or keep) a generation for the corpus; see the module docstring."""
    from chromadb.errors import NotFoundError

    chunks = chunk_corpus(
        corpus, embedder, model_id=embedder.model_id, max_tokens=settings.chunk_max_tokens
    )
    policies = store.policy_directory(corpus)
    digest = _digest(chunks, policies)
    client = store.open_client(settings)
    ef = chroma_embedding_function(embedder)
    name = settings.collection
    pointer = store.read_pointer(client, name, ef)
    previous = None
    if pointer is not None:
        try:
            previous = client.get_collection(pointer.generation, embedding_function=ef)
        except NotFoundError:
            log.warning("pointer names a missing generation %s; building afresh",
                        pointer.generation)
    generations = store.list_generations(client, name)
    for orphan in generations:  # left by an interrupted build
        if previous is None or orphan != previous.name:
            client.delete_collection(orphan)

    manifest = {"fingerprint": fingerprint, "model_id": embedder.model_id,
                "target": store.chroma_target(settings), "collection": name}
    if (
        not rebuild
        and previous is not None
        and pointer.model_id == embedder.model_id
        and pointer.chunks_digest == digest
        and previous.count() == len(chunks)
    ):  # same records (e.g. only comments changed): keep the generation
        store.write_manifest(settings.index_dir, {**manifest, "generation": previous.name,
                                                  "total": len(chunks)})
        return IndexReport(0, len(chunks), 0, len(chunks), 0.0, previous.name, changed=False)

    stored = _stored(previous) if previous is not None else {}
    by_hash = {}
    if not rebuild and pointer is not None and pointer.model_id == embedder.model_id:
        by_hash = {h: emb for h, emb in stored.values() if h}
    new_name = store.generation_name(name, max(generations.values(), default=0) + 1)
    # Clear the manifest's fingerprint first: if this build dies (even between moving the
    # pointer and writing the manifest), the next one takes the full path and drops orphans.
    old = store.read_manifest(settings.index_dir)
    if old is not None:
        store.write_manifest(settings.index_dir, {**old, "fingerprint": None})
    target = client.create_collection(
        new_name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=ef
    )
    try:
        embedded = _fill(target, chunks, by_hash, embedder, progress)
        if target.count() != len(chunks):
            raise ServiceUnavailableError(
                f"Chroma holds {target.count()} of {len(chunks)} chunks in {new_name}; "
                "the previous index is unchanged"
            )
        store.write_pointer(client, name, store.Pointer(
            generation=new_name, model_id=embedder.model_id, total=len(chunks),
            chunks_digest=digest, policies=policies,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        ), ef)
    except BaseException:
        with contextlib.suppress(Exception):  # unless the switch went through after all
            current = store.read_pointer(client, name, ef)
            if current is None or current.generation != new_name:
                client.delete_collection(new_name)
        raise
    store.write_manifest(settings.index_dir, {**manifest, "generation": new_name,
                                              "total": len(chunks)})
    if previous is not None:
        _drop(client, previous.name)
    removed = len(set(stored) - {c.id for c in chunks})
    log.info("index %s: %d embedded, %d reused, %d removed", new_name, embedded,
             len(chunks) - embedded, removed)
    return IndexReport(embedded, len(chunks) - embedded, removed, len(chunks), 0.0, new_name,
                       changed=True)


def _fill(
    target: Any,
    chunks: Sequence[Chunk],
    by_hash: dict[str, Any],
    embedder: TextEmbedder,
    progress: bool | None,
) -> int:
    """Add every chunk to target, embedding only unknown hashes; returns how many embedded."""
    reused = [c for c in chunks if c.content_hash in by_hash]
    # Similar lengths batch together: less padding, ~20% faster on CPU.
    fresh = sorted((c for c in chunks if c.content_hash not in by_hash),
                   key=lambda c: len(c.embed_text))
    with _progress(progress, len(chunks)) as advance:
        for start in range(0, len(reused), _READ_PAGE):
            batch = reused[start : start + _READ_PAGE]
            _add(target, batch, [by_hash[c.content_hash] for c in batch])
            advance(len(batch))
        for start in range(0, len(fresh), _EMBED_BATCH):
            batch = fresh[start : start + _EMBED_BATCH]
            _add(target, batch, embedder.embed([c.embed_text for c in batch]))
            advance(len(batch))
    return len(fresh)


def _add(target: Any, batch: Sequence[Chunk], embeddings: Sequence[Any]) -> None:
    import numpy as np

    target.add(
        ids=[c.id for c in batch],
        embeddings=[np.asarray(e, dtype=np.float32) for e in embeddings],
        documents=[c.embed_text for c in batch],
        metadatas=[chunk_metadata(c) for c in batch],
    )


def _drop(client: ClientAPI, generation: str) -> None:
    """Delete a superseded generation; a failure only leaves an orphan for the next build."""
    try:
        client.delete_collection(generation)
    except Exception as exc:  # noqa: BLE001 - best effort by design
        log.warning("could not drop old generation %s: %s", generation, exc)
