"""The index self-check: what a build records about its generation, and the check that the
stored index still matches it (at API start-up, in readiness probes, before a rebuild).

**Recorded at build** (`make_record`), in the pointer and, in local mode, in the manifest —
a file outside the Chroma folder, so damage to that folder cannot rewrite it:

- the chunk count, a digest of every record (id, embedded text, metadata) and a digest of
  the stored embeddings (float32 bytes, in id order);
- golden queries: a fixed reviewer question and the texts of three chunks spread over the
  index, each with the chunk the dense search ranked first and its cosine similarity.

**Checked** (`check_index`): the pointer can be read and names a generation (in local mode,
a manifest naming a generation while Chroma has no pointer is damage); the generation holds
exactly the recorded records and embeddings; a dense query asking for every chunk returns
every chunk (the vector index covers them all — Chroma silently answers from what is left
when its segment files are damaged); each golden query's recorded chunk is again the best,
with the same similarity (± ``TOLERANCE``). The check reads every record once.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mrs_assist.errors import MrsAssistError, ServiceUnavailableError
from mrs_assist.index import store

if TYPE_CHECKING:
    from mrs_assist.config import Settings
    from mrs_assist.index.embed import TextEmbedder

RECORD_FORMAT = 1
GOLDEN_QUESTION = "Is MR spectroscopy medically necessary to tell recurrent brain tumor from radiation necrosis?"
"""A reviewer's question asked of every index; its top chunk is recorded at build."""
SELF_QUERIES = 3
"""Chunks whose own text is asked as a question (first, middle and last id)."""
TOLERANCE = 1e-3
"""Cosine similarities may differ this much between the build's and the reader's embedder
(sentence-transformers and numpy agree within 1e-6)."""
_GOLDEN_RESULTS = 10
_COVERAGE_LIMIT = 20_000
"""Above this many chunks the every-chunk query is skipped (it costs a full scan)."""
_PAGE = 500


@dataclass(frozen=True)
class CheckResult:
    """Outcome of `check_index`."""

    ok: bool
    code: str
    """'ok', 'no_index', 'index_damaged', 'model_mismatch', 'no_record', 'service_unavailable', or
    the code of the error that stopped the check (e.g. 'config_invalid')."""
    message: str
    generation: str | None = None
    total: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (what readiness reports)."""
        return {k: (round(v, 3) if k == "seconds" else v) for k, v in asdict(self).items()}


@dataclass
class _Contents:
    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    embeddings: list[Any]


def records_digest(ids: Sequence[str], documents: Sequence[str], metadatas: Sequence[dict[str, Any] | None]) -> str:
    """sha256 of every (id, text, metadata) in id order: equal digests, equal stored records."""
    rows = sorted(
        (cid, doc or "", json.dumps(meta or {}, sort_keys=True)) for cid, doc, meta in zip(ids, documents, metadatas)
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def embeddings_digest(ids: Sequence[str], embeddings: Sequence[Any]) -> str:
    """sha256 of the embeddings as float32 bytes, in id order."""
    digest = hashlib.sha256()
    for _, emb in sorted(zip(ids, embeddings), key=lambda pair: pair[0]):
        digest.update(np.asarray(emb, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _read_all(collection: Any) -> _Contents:
    out = _Contents([], [], [], [])
    while True:
        page = collection.get(
            include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=len(out.ids)
        )
        out.ids += page["ids"]
        out.documents += page["documents"]
        out.metadatas += page["metadatas"]
        out.embeddings += list(page["embeddings"])
        if len(page["ids"]) < _PAGE:
            return out


def _query(collection: Any, embedding: Any, n: int) -> list[tuple[str, float]]:
    """(chunk id, cosine similarity) of the n nearest chunks, best first."""
    res = collection.query(
        query_embeddings=[np.asarray(embedding, dtype=np.float32)], n_results=n, include=["distances"]
    )
    return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]


def _questions(contents: _Contents) -> list[str]:
    order = sorted(range(len(contents.ids)), key=lambda i: contents.ids[i])
    picks = dict.fromkeys(order[j] for j in (0, len(order) // 2, len(order) - 1)) if order else {}
    return [GOLDEN_QUESTION, *(contents.documents[i] for i in list(picks)[:SELF_QUERIES])]


def make_record(collection: Any, embedder: TextEmbedder, *, expected_records: str | None = None) -> dict[str, Any]:
    """The self-check record of a freshly written generation (read back from Chroma).

    Raises ServiceUnavailableError when Chroma hands back other records than
    ``expected_records`` (the digest of what the build wrote).
    """
    contents = _read_all(collection)
    digest = records_digest(contents.ids, contents.documents, contents.metadatas)
    if expected_records is not None and digest != expected_records:
        raise ServiceUnavailableError(
            "Chroma returned other records than the build wrote; the previous index is unchanged"
        )
    golden = []
    if contents.ids:
        questions = _questions(contents)
        n = min(_GOLDEN_RESULTS, len(contents.ids))
        for question, embedding in zip(questions, embedder.embed(questions)):
            best_id, best_sim = _query(collection, embedding, n)[0]
            golden.append({"question": question, "top_chunk_id": best_id, "similarity": round(best_sim, 6)})
    return {
        "format": RECORD_FORMAT,
        "total": len(contents.ids),
        "records_sha256": digest,
        "embeddings_sha256": embeddings_digest(contents.ids, contents.embeddings),
        "golden": golden,
    }


def parse_record(text: str | None) -> dict[str, Any] | None:
    """A pointer's self-check record, or None when absent or unreadable."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    return data


def check_index(settings: Settings, *, embedder: TextEmbedder | None = None, client: Any = None) -> CheckResult:
    """Check the current generation against its self-check record; never raises for store failures.

    ``embedder`` defaults to the query embedder (``settings.query_embedder``); ``client`` to
    a new one from ``store.open_client``.
    """
    started = time.perf_counter()
    try:
        result = _check(settings, embedder, client)
    except BaseException as exc:
        if not (isinstance(exc, MrsAssistError) or store.is_store_failure(exc)):
            raise
        err = store.store_error(settings, exc, "checking the index")
        result = CheckResult(False, err.code, err.message)
    return CheckResult(**{**asdict(result), "seconds": time.perf_counter() - started})


def _damaged(message: str, pointer: store.Pointer | None = None) -> CheckResult:
    return CheckResult(
        False,
        store.DAMAGED,
        f"{message}: run `mrs-assist index --rebuild`",
        generation=pointer.generation if pointer else None,
        total=pointer.total if pointer else None,
    )


def _check(settings: Settings, embedder: TextEmbedder | None, client: Any) -> CheckResult:
    from chromadb.errors import NotFoundError

    from mrs_assist.index.embed import chroma_embedding_function, get_query_embedder

    manifest = _local_manifest(settings)
    if not settings.chroma_url and manifest and not store.local_store_exists(settings):
        return _damaged(f"the manifest records generation {manifest.get('generation')} but the Chroma folder "
                        f"{store.local_path(settings)} has no catalogue")
    if not settings.chroma_url and not store.local_store_exists(settings):
        return CheckResult(False, "no_index", "no index has been built yet: run `mrs-assist index`")
    client = client if client is not None else store.open_client(settings)
    pointer = store.read_pointer(client, settings.collection, None)
    if pointer is None:
        if manifest and manifest.get("generation"):
            return _damaged(f"the manifest records generation {manifest['generation']} "
                            f"({manifest.get('total')} chunks) but the Chroma store has no index pointer")
        return CheckResult(False, "no_index", "no index has been built yet: run `mrs-assist index`")
    record = parse_record(pointer.selfcheck)
    if manifest and manifest.get("generation") == pointer.generation:
        kept = manifest.get("selfcheck")
        if kept is not None and kept != record:
            return _damaged(f"the index pointer of {pointer.generation} disagrees with the manifest", pointer)
    if record is None:
        return CheckResult(False, "no_record",
                           f"index generation {pointer.generation} carries no self-check record (built by an "
                           "older version): run `mrs-assist index --rebuild`", pointer.generation, pointer.total)
    embedder = embedder if embedder is not None else get_query_embedder(settings)
    if pointer.model_id != embedder.model_id:
        return CheckResult(False, "model_mismatch",
                           f"the index was built with embedding model {pointer.model_id}, but this process uses "
                           f"{embedder.model_id}: run `mrs-assist index`", pointer.generation, pointer.total)
    try:
        collection = client.get_collection(pointer.generation, embedding_function=chroma_embedding_function(embedder))
    except NotFoundError:
        return _damaged(f"index generation {pointer.generation} is missing from the store", pointer)
    contents = _read_all(collection)
    problem = _compare(contents, record)
    if problem is None:
        problem = _query_problem(collection, embedder, contents, record)
    if problem is not None:
        return _damaged(f"index generation {pointer.generation} failed its self-check: {problem}", pointer)
    return CheckResult(True, "ok", f"index generation {pointer.generation} passed its self-check "
                       f"({record['total']} chunks, {len(record['golden'])} golden queries)",
                       pointer.generation, record["total"])


def _local_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest when it describes this store and collection (the builder's machine)."""
    manifest = store.read_manifest(settings.index_dir)
    if not manifest or manifest.get("target") != store.chroma_target(settings):
        return None
    if manifest.get("collection") != settings.collection:
        return None
    return manifest


def _compare(contents: _Contents, record: dict[str, Any]) -> str | None:
    if len(contents.ids) != record["total"]:
        return f"it holds {len(contents.ids)} chunks, {record['total']} were written"
    if records_digest(contents.ids, contents.documents, contents.metadatas) != record["records_sha256"]:
        return "its chunk texts or metadata differ from those written"
    if embeddings_digest(contents.ids, contents.embeddings) != record["embeddings_sha256"]:
        return "its stored embeddings differ from those written"
    return None


def _query_problem(collection: Any, embedder: TextEmbedder, contents: _Contents, record: dict[str, Any]) -> str | None:
    golden = record.get("golden") or []
    if not golden:
        return None if not contents.ids else "no golden query was recorded"
    embeddings = embedder.embed([g["question"] for g in golden])
    total = len(contents.ids)
    if total <= _COVERAGE_LIMIT:
        found = {cid for cid, _ in _query(collection, embeddings[0], total)}
        if found != set(contents.ids):
            return f"the vector index returns {len(found)} of its {total} chunks"
    n = min(_GOLDEN_RESULTS, total)
    for g, embedding in zip(golden, embeddings):
        results = _query(collection, embedding, n)
        best = results[0][1] if results else -1.0
        sims = dict(results)
        sim = sims.get(g["top_chunk_id"])
        if sim is None or sim < best - TOLERANCE or abs(sim - g["similarity"]) > TOLERANCE:
            top = results[0][0] if results else "nothing"
            return (f"golden query {g['question'][:60]!r} ranks {top} first, "
                    f"{g['top_chunk_id']} was recorded at build")
    return None
