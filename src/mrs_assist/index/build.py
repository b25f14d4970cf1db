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

Before moving the pointer, the build reads the new generation back and records its
self-check (``selfcheck.make_record``: digests of records and embeddings, golden queries) in
the pointer and the manifest. ``rebuild`` first checks the local folder (`check_index`) and,
when it is damaged — Chroma cannot read it, or it no longer matches its record — moves it
aside (``chroma.damaged-<time>``) and builds afresh; generation numbers keep counting from
the manifest's, so readers never mistake the new generation for the damaged one.
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
from mrs_assist.errors import IndexLockedError, MrsAssistError, ServiceUnavailableError
from mrs_assist.index import selfcheck, store
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
    corpus, ServiceUnavailableError when Chroma fails (IndexNotReadyError with code
    ``index_damaged`` when it panics on a damaged local folder); the previous index keeps
    answering.
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
                and manifest.get("selfcheck") is not None
                and store.local_store_exists(settings)
                and _server_agrees(settings, manifest, embedder)
            ):
                total = int(manifest["total"])
                log.info("index up to date (%d chunks)", total)
                return IndexReport(0, total, 0, total, time.perf_counter() - started,
                                   manifest["generation"], changed=False)
            moved = rebuild and _quarantine_if_damaged(settings, embedder)
            try:
                report = _build(settings, corpus, embedder, fingerprint, rebuild, progress)
            except BaseException as exc:
                # Damage the self-check did not reach (e.g. pages only a write touches):
                # with --rebuild, move the folder aside and build afresh, once.
                if not (rebuild and not moved and not settings.chroma_url and _is_store_error(exc)):
                    raise
                log.warning("rebuild failed on the existing folder (%s); moving it aside", exc)
                store.quarantine_local_store(settings)
                report = _build(settings, corpus, embedder, fingerprint, rebuild, progress)
        except BaseException as exc:
            if isinstance(exc, MrsAssistError) or not _is_store_error(exc):
                raise
            if type(exc).__name__ == "PanicException":
                raise store.store_error(settings, exc, "building") from exc
            hint = "" if settings.chroma_url else (
                "; if the local index folder is damaged, `mrs-assist index --rebuild` moves it aside and rebuilds")
            raise ServiceUnavailableError(f"the vector store failed: {exc}{hint}") from exc
        return replace(report, seconds=time.perf_counter() - started)
    finally:
        lock.release()


def _is_store_error(exc: BaseException) -> bool:
    """True for Chroma's errors, its HTTP transport's and its core's panics (not our own or a bug's)."""
    return store.is_store_failure(exc)


def _quarantine_if_damaged(settings: Settings, embedder: TextEmbedder) -> bool:
    """Move a damaged local Chroma folder aside before a rebuild; True if it did (server mode: never)."""
    if settings.chroma_url or not store.local_store_exists(settings):
        return False
    store.reset_local_client(settings)  # read the files as they are now, not this process's cache
    health = selfcheck.check_index(settings, embedder=embedder)
    if health.code != store.DAMAGED:
        return False
    log.warning("rebuilding over a damaged index: %s", health.message)
    store.quarantine_local_store(settings)
    return True


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
        record = selfcheck.parse_record(pointer.selfcheck)
        if record is None:  # built before self-checks existed: record this one now
            record = selfcheck.make_record(previous, embedder, expected_records=_records_digest(chunks))
            store.write_pointer(client, name, replace(pointer, selfcheck=json.dumps(record)), ef)
        store.write_manifest(settings.index_dir, {**manifest, "generation": previous.name,
                                                  "total": len(chunks), "selfcheck": record})
        return IndexReport(0, len(chunks), 0, len(chunks), 0.0, previous.name, changed=False)

    stored = _stored(previous) if previous is not None else {}
    by_hash = {}
    if not rebuild and pointer is not None and pointer.model_id == embedder.model_id:
        by_hash = {h: emb for h, emb in stored.values() if h}
    new_name = store.generation_name(name, _next_number(generations, pointer, store.read_manifest(settings.index_dir)))
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
        record = selfcheck.make_record(target, embedder, expected_records=_records_digest(chunks))
        store.write_pointer(client, name, store.Pointer(
            generation=new_name, model_id=embedder.model_id, total=len(chunks),
            chunks_digest=digest, policies=policies,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            selfcheck=json.dumps(record),
        ), ef)
    except BaseException:
        with contextlib.suppress(Exception):  # unless the switch went through after all
            current = store.read_pointer(client, name, ef)
            if current is None or current.generation != new_name:
                client.delete_collection(new_name)
        raise
    # Drop the superseded generation before the manifest vouches for the new one: a build
    # killed in between leaves the fingerprint cleared, so the next build drops the orphan
    # (measured: killed after the manifest but before the drop, the old generation lingered).
    if previous is not None:
        _drop(client, previous.name)
    store.write_manifest(settings.index_dir, {**manifest, "generation": new_name,
                                              "total": len(chunks), "selfcheck": record})
    removed = len(set(stored) - {c.id for c in chunks})
    log.info("index %s: %d embedded, %d reused, %d removed", new_name, embedded,
             len(chunks) - embedded, removed)
    return IndexReport(embedded, len(chunks) - embedded, removed, len(chunks), 0.0, new_name,
                       changed=True)


def _records_digest(chunks: Sequence[Chunk]) -> str:
    """The self-check digest of exactly the records a generation of these chunks holds."""
    return selfcheck.records_digest(
        [c.id for c in chunks], [c.embed_text for c in chunks], [chunk_metadata(c) for c in chunks]
    )


def _next_number(generations: dict[str, int], pointer: store.Pointer | None, manifest: dict[str, Any] | None) -> int:
    """One past every generation number seen: in the store, its pointer and the manifest.

    After a damaged folder was moved aside the store is empty, but the manifest still names
    the old generation: counting on from it keeps names unique for readers that cached it.
    """
    numbers = list(generations.values())
    for gen in (pointer.generation if pointer else None, (manifest or {}).get("generation")):
        if isinstance(gen, str) and (tail := gen.rpartition("_g")[2]).isdigit():
            numbers.append(int(tail))
    return max(numbers, default=0) + 1


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
