"""Hybrid retrieval: dense (Chroma, cosine) + BM25, fused by reciprocal rank, per clause.

A ``Retriever`` loads once per ``Services`` (which holds it): it reads
the pointer, opens the current generation and builds BM25 over the same stored chunk
texts. Before each search it re-reads the pointer (one small catalogue read) and reloads
when a build has moved it, so long-running API workers follow rebuilds.

``search(question)`` with ``policy_ids=None`` detects payers named in the question
(``detect_policies``); pass ``policy_ids`` to choose explicitly, or ``detect=False`` to
search everything. With more than one policy, each gets its own quota of hits so every
payer appears (top_k is raised to the number of policies when it is smaller).

Failures never hang and never surface as a 500: a Chroma server that is down or does not
answer within ``backend_timeout_seconds`` is a ServiceUnavailableError (the next search after
it returns succeeds: nothing is cached across the failure); a local folder Chroma cannot read,
or whose records no longer match the self-check digest the build recorded, is an
IndexNotReadyError. In local mode the retriever also opens a new client when the folder was
replaced (a rebuild moved a damaged one aside) or after a read failed (`store.client_token`).

``best_dense_similarity`` counts only chunks sharing a word with the question: dense
similarity alone rates "copay for a knee MRI" as close to the MRI-safety clauses as some
on-topic questions are to their answers; requiring lexical support separates them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mrs_assist.errors import (
    IndexNotReadyError,
    InvalidRequestError,
    MrsAssistError,
    ServiceUnavailableError,
    UnknownPolicyError,
)
from mrs_assist.index import selfcheck, store
from mrs_assist.index.embed import TextEmbedder, chroma_embedding_function, get_query_embedder
from mrs_assist.retrieve.bm25 import BM25Index
from mrs_assist.retrieve.fusion import reciprocal_rank_fusion
from mrs_assist.retrieve.policies import detect_policies

if TYPE_CHECKING:
    from mrs_assist.config import Settings

_CANDIDATES = 100
"""Chunks each ranker contributes to fusion (per policy searched)."""
_PAGE = 500


@dataclass(frozen=True)
class Hit:
    """One retrieved clause (the best of its chunks)."""

    clause_id: str
    policy_id: str
    payer: str
    section: str
    text: str
    """The whole clause, verbatim: what a citation quotes."""
    score: float
    """Reciprocal-rank-fusion score (higher is better; comparable within one result)."""
    dense_similarity: float | None
    """Cosine similarity of the question and the best chunk; None if outside dense candidates."""
    bm25_score: float
    rank: int
    """1-based position in the result."""
    chunk_id: str = ""


@dataclass(frozen=True)
class RetrievalResult:
    """Hits for one question, and whether anything in the guidelines addresses it."""

    question: str
    hits: list[Hit]
    best_dense_similarity: float
    """Highest cosine similarity among the searched chunks that also share a (non-stop) word
    with the question; -1.0 when none does."""
    addressed: bool
    """best_dense_similarity reached settings.min_relevance."""
    policy_ids: list[str] = field(default_factory=list)
    """Policies searched ([] means all)."""
    per_policy: bool = False
    """Each policy had its own quota (several policies were searched)."""
    generation: str = ""


@dataclass
class _Loaded:
    pointer: store.Pointer
    generation: str
    collection: Any
    ids: list[str]
    pos: dict[str, int]
    meta: dict[str, dict[str, Any]]
    policy_of: np.ndarray
    bm25: BM25Index
    policies: tuple[store.PolicyName, ...]


class Retriever:
    """Hybrid search over the current index generation (thread-safe; reloads after rebuilds)."""

    def __init__(self, settings: Settings, embedder: TextEmbedder, client: Any) -> None:
        self.settings = settings
        self.embedder = embedder
        self._client = client
        self._token = store.client_token(settings)
        self._ef = chroma_embedding_function(embedder)
        self._lock = threading.Lock()
        self._state = self._guarded(self._load)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, embedder: TextEmbedder | None = None
    ) -> Retriever:
        """A loaded retriever; raises IndexNotReadyError (no index, or a damaged one) or
        ServiceUnavailableError (the Chroma server is down or too slow)."""
        # Questions only: settings.query_embedder (numpy by default, no torch at start-up).
        embedder = embedder if embedder is not None else get_query_embedder(settings)
        return cls(settings, embedder, store.open_client(settings))

    def _guarded(self, read):
        """read(), with Chroma's failures (panics included) turned into our errors.

        A local store that failed is dropped from Chroma's per-folder cache, so the next call
        opens the files afresh (they may have been rebuilt meanwhile).
        """
        try:
            return read()
        except BaseException as exc:
            damaged = isinstance(exc, IndexNotReadyError) and exc.code == store.DAMAGED
            if isinstance(exc, MrsAssistError) and not damaged:
                raise
            if not (isinstance(exc, Exception) or store.is_store_failure(exc)):
                raise  # KeyboardInterrupt, SystemExit
            if not self.settings.chroma_url:
                store.reset_local_client(self.settings)
            if damaged or store.is_store_failure(exc):
                raise store.store_error(self.settings, exc, "reading the index") from exc
            raise ServiceUnavailableError(f"cannot read the index: {exc}") from exc

    def _reopen_if_replaced(self) -> bool:
        """Open a new local client when the folder was replaced or the cache reset; True if it did."""
        if store.client_token(self.settings) == self._token:
            return False
        self._client, self._token = store.reopen_client(self.settings, self._token)
        return True

    @property
    def policies(self) -> tuple[store.PolicyName, ...]:
        """Payer directory of the indexed documents (ids, payers, aliases, kinds)."""
        return self._state.policies

    @property
    def generation(self) -> str:
        """Name of the generation this retriever answers from."""
        return self._state.generation

    def _read_pointer(self) -> store.Pointer | None:
        return store.read_pointer(self._client, self.settings.collection, self._ef)

    def _load(self) -> _Loaded:
        """Open the pointer's generation and build BM25 over it; raises IndexNotReadyError."""
        from chromadb.errors import NotFoundError

        pointer = self._read_pointer()
        if pointer is None:
            raise IndexNotReadyError("no index has been built yet: run `mrs-assist index`")
        if pointer.model_id != self.embedder.model_id:
            raise IndexNotReadyError(
                f"the index was built with embedding model {pointer.model_id}, but this process "
                f"uses {self.embedder.model_id}: run `mrs-assist index`"
            )
        try:
            collection = self._client.get_collection(
                pointer.generation, embedding_function=self._ef
            )
            ids, docs, metas = [], [], []
            while True:
                page = collection.get(
                    include=["documents", "metadatas"], limit=_PAGE, offset=len(ids)
                )
                ids += page["ids"]
                docs += page["documents"]
                metas += page["metadatas"]
                if len(page["ids"]) < _PAGE:
                    break
        except NotFoundError as exc:
            raise IndexNotReadyError(
                f"index generation {pointer.generation} is missing: run `mrs-assist index`"
            ) from exc
        if len(ids) != pointer.total:
            raise IndexNotReadyError(
                f"index generation {pointer.generation} holds {len(ids)} chunks, expected "
                f"{pointer.total}: run `mrs-assist index --rebuild`",
                code=store.DAMAGED,
            )
        record = selfcheck.parse_record(pointer.selfcheck)
        if record is not None and selfcheck.records_digest(ids, docs, metas) != record["records_sha256"]:
            raise IndexNotReadyError(
                f"index generation {pointer.generation} no longer holds the chunks it was built with: "
                "run `mrs-assist index --rebuild`",
                code=store.DAMAGED,
            )
        return _Loaded(
            pointer=pointer,
            generation=pointer.generation,
            collection=collection,
            ids=ids,
            pos={cid: i for i, cid in enumerate(ids)},
            meta=dict(zip(ids, metas)),
            policy_of=np.array([m["policy_id"] for m in metas], dtype=object),
            bm25=BM25Index(docs),
            policies=pointer.policies,
        )

    def refresh(self, *, force: bool = False) -> bool:
        """Reload if a build moved the pointer (or the local folder was replaced); True when it reloaded.

        Raises IndexNotReadyError or ServiceUnavailableError like `from_settings`.
        """
        return self._guarded(lambda: self._refresh(force))

    def _refresh(self, force: bool) -> bool:
        with self._lock:
            force = self._reopen_if_replaced() or force
        pointer = self._read_pointer()
        with self._lock:
            if not force and pointer is not None and pointer == self._state.pointer:
                return False
            self._state = self._load()
            return True

    def search(
        self,
        question: str,
        policy_ids: Sequence[str] | None = None,
        top_k: int | None = None,
        *,
        detect: bool = True,
    ) -> RetrievalResult:
        """Best clauses for the question; raises InvalidRequestError, UnknownPolicyError,
        IndexNotReadyError or ServiceUnavailableError.

        policy_ids None: detect payers in the question (unless detect=False); [] searches all.
        """
        question = (question or "").strip()
        if not question:
            raise InvalidRequestError("the question is empty")
        top_k = self.settings.top_k if top_k is None else top_k
        if not 1 <= top_k <= 50:
            raise InvalidRequestError(f"top_k must be between 1 and 50, got {top_k}")
        self.refresh()
        state = self._state
        known = [p.policy_id for p in state.policies]
        if policy_ids is None:
            policy_ids = detect_policies(question, state.policies) if detect else []
        for pid in policy_ids:
            if pid not in known:
                raise UnknownPolicyError(pid, known)
        policy_ids = list(dict.fromkeys(policy_ids))

        query = self.embedder.embed([question])[0]
        for attempt in (1, 2):
            bm25 = state.bm25.scores(question)
            search = self._search_one if len(policy_ids) <= 1 else self._search_each
            try:
                hits, best = search(state, query, bm25, policy_ids, top_k)
                break
            except _StaleGenerationError:
                # A build dropped our generation between the pointer check and the query.
                if attempt == 2:
                    raise IndexNotReadyError("the index changed during the search; retry") from None
                self.refresh(force=True)
                state = self._state
        hits = [Hit(**{**h.__dict__, "rank": i}) for i, h in enumerate(hits, start=1)]
        return RetrievalResult(
            question=question,
            hits=hits,
            best_dense_similarity=best,
            addressed=best >= self.settings.min_relevance,
            policy_ids=policy_ids,
            per_policy=len(policy_ids) > 1,
            generation=state.generation,
        )

    def _search_each(self, state: _Loaded, query: list[float], bm25: np.ndarray,
                     policy_ids: list[str], top_k: int) -> tuple[list[Hit], float]:
        """Per-policy quota: each policy's best hits first, then the best of the rest."""
        top_k = max(top_k, len(policy_ids))
        quota = top_k // len(policy_ids)
        chosen: list[Hit] = []
        spare: list[Hit] = []
        best = -1.0
        for pid in policy_ids:
            hits, sim = self._search_one(state, query, bm25, [pid], top_k)
            best = max(best, sim)
            chosen += hits[:quota]
            spare += hits[quota:]
        spare.sort(key=lambda h: -h.score)
        chosen += spare[: top_k - len(chosen)]
        chosen.sort(key=lambda h: -h.score)
        return chosen, best

    def _search_one(self, state: _Loaded, query: list[float], bm25: np.ndarray,
                    policy_ids: list[str], top_k: int) -> tuple[list[Hit], float]:
        """Fused, clause-deduplicated hits within the policies ([] = all), and best similarity."""
        where = {"policy_id": {"$in": policy_ids}} if policy_ids else None
        n = min(max(_CANDIDATES, top_k * 10), len(state.ids))
        if n == 0:
            return [], -1.0
        try:
            res = state.collection.query(
                query_embeddings=[np.asarray(query, dtype=np.float32)],
                n_results=n, where=where, include=["distances"],
            )
        except BaseException as exc:
            if isinstance(exc, Exception) and _is_not_found(exc):
                raise _StaleGenerationError(state.generation) from exc
            if not (isinstance(exc, Exception) or store.is_store_failure(exc)):
                raise  # KeyboardInterrupt, SystemExit
            if not self.settings.chroma_url:
                store.reset_local_client(self.settings)
            if store.is_store_failure(exc):
                raise store.store_error(self.settings, exc, "searching") from exc
            raise ServiceUnavailableError(f"the vector search failed: {exc}") from exc
        dense_ids = res["ids"][0]
        similarity = {cid: 1.0 - float(d) for cid, d in zip(dense_ids, res["distances"][0])}

        scores = bm25.copy()
        if policy_ids:
            scores[~np.isin(state.policy_of, policy_ids)] = 0.0
        order = np.argsort(-scores, kind="stable")[:n]
        lexical_ids = [state.ids[i] for i in order if scores[i] > 0]

        hits: list[Hit] = []
        seen: set[str] = set()
        for cid, fused in reciprocal_rank_fusion(
                [dense_ids, lexical_ids], k=self.settings.rrf_k, weights=(self.settings.dense_weight, 1.0)
            ):
            meta = state.meta[cid]
            if meta["clause_id"] in seen:
                continue
            seen.add(meta["clause_id"])
            hits.append(Hit(
                clause_id=meta["clause_id"], policy_id=meta["policy_id"], payer=meta["payer"],
                section=meta["section"], text=meta["clause_text"], score=fused,
                dense_similarity=similarity.get(cid), bm25_score=float(scores[state.pos[cid]]),
                rank=0, chunk_id=cid,
            ))
            if len(hits) == top_k:
                break
        # Relevance counts only chunks that share a word with the question: dense similarity
        # alone rates "copay for a knee MRI" near the MRI-safety clauses (see config).
        best = max((sim for cid, sim in similarity.items() if scores[state.pos[cid]] > 0),
                   default=-1.0)
        return hits, best if math.isfinite(best) else -1.0


class _StaleGenerationError(Exception):
    """The generation being searched was dropped by a newer build."""


def _is_not_found(exc: Exception) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) or "does not exist" in str(exc)
