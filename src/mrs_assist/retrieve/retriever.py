"""Search over the current index generation: one public ``rank(question, mode=…)``.

A ``Retriever`` loads a generation once (``loading.load_generation``) and, before each
search, re-reads the pointer (one small catalogue read) and reloads when a build has moved
it, so long-running API workers follow rebuilds. On a local folder the re-read is skipped
while Chroma's database file has not been written since the last one (``store.settled_stamp``).

``rank`` modes, all over the same chunks with the same payer detection, per-policy quotas
and one hit per clause, so they differ only in how clauses are ordered:

- ``hybrid`` (ours, what /v1/ask uses): the question with reviewer shorthand spelled out
  (``shorthand``), dense (cosine over the generation's stored vectors) and BM25 fused by reciprocal rank, plus a third ranking of the clauses that carry what a metadata question asks for
  (dates, versions, history, codes, definitions, documentation: ``structure``); a list
  asked as a whole comes back as its parent clause followed by every item;
- ``fused``: dense + BM25 only (the ranking before issue 13);
- ``dense`` / ``bm25``: one ranker each (the baselines).

``policy_ids=None`` detects payers named in the question (``detect_policies``); pass
``policy_ids`` to choose explicitly, or ``detect=False`` to search everything. With more
than one policy, each gets its own quota of hits so every payer appears.

Failures never hang and never surface as a 500 (``loading.store_failure``): a Chroma server
that is down or too slow is a ServiceUnavailableError (nothing is cached across the
failure); a local folder Chroma cannot read, or whose records no longer match the build's
self-check digest, is an IndexNotReadyError.

``best_dense_similarity`` counts only chunks sharing a word with the question: dense
similarity alone rates "copay for a knee MRI" as close to the MRI-safety clauses as some
on-topic questions are to their answers; requiring lexical support separates them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mrs_assist.errors import InvalidRequestError, UnknownPolicyError
from mrs_assist.index import store
from mrs_assist.index.embed import TextEmbedder, chroma_embedding_function, get_query_embedder
from mrs_assist.index.embed_numpy import OneBlasThread
from mrs_assist.retrieve.fusion import reciprocal_rank_fusion
from mrs_assist.retrieve.loading import Loaded, guarded, load_generation
from mrs_assist.retrieve.policies import detect_policies
from mrs_assist.retrieve.shorthand import expand_shorthand
from mrs_assist.retrieve.structure import question_intents

if TYPE_CHECKING:
    from mrs_assist.config import Settings

Mode = Literal["hybrid", "fused", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "fused", "dense", "bm25")

LIST_REACH = 2
"""A list question is answered by the list of one of its first two hits (or by neither)."""
_CANDIDATES = 100
"""Chunks each ranker contributes to fusion (per policy searched)."""


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
    """The mode's score: fused reciprocal-rank score, cosine similarity, or BM25 (higher is
    better; comparable within one result)."""
    dense_similarity: float | None
    """Cosine similarity of the question and the best chunk; None if outside dense candidates."""
    bm25_score: float
    rank: int
    """1-based position in the result."""
    chunk_id: str = ""
    kinds: frozenset[str] = frozenset()
    """The clause's kinds (history, date, code, …; see retrieve.structure)."""


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
    mode: str = "hybrid"


class Retriever:
    """Search over the current index generation (thread-safe; reloads after rebuilds)."""

    def __init__(self, settings: Settings, embedder: TextEmbedder, client: Any) -> None:
        self.settings = settings
        self.embedder = embedder
        self._client = client
        self._token = store.client_token(settings)
        self._ef = chroma_embedding_function(embedder)
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        """``store.settled_stamp`` when the pointer was last read (local folder only)."""
        self._state: Loaded = guarded(settings, self._load)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, embedder: TextEmbedder | None = None
    ) -> Retriever:
        """A loaded retriever; raises IndexNotReadyError (no index, or a damaged one) or
        ServiceUnavailableError (the Chroma server is down or too slow)."""
        # Questions only: settings.query_embedder (numpy by default, no torch at start-up).
        embedder = embedder if embedder is not None else get_query_embedder(settings)
        return cls(settings, embedder, store.open_client(settings))

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

    def _load(self) -> Loaded:
        return load_generation(self._client, self.settings, self.embedder.model_id, self._ef)

    def refresh(self, *, force: bool = False) -> bool:
        """Reload if a build moved the pointer (or the local folder was replaced); True when it reloaded.

        Raises IndexNotReadyError or ServiceUnavailableError like `from_settings`.
        """
        return guarded(self.settings, lambda: self._refresh(force))

    def _refresh(self, force: bool) -> bool:
        with self._lock:
            force = self._reopen_if_replaced() or force
            stamp = store.settled_stamp(self.settings)
            if not force and stamp is not None and stamp == self._stamp:
                return False  # nothing written since the pointer was last read
        pointer = store.read_pointer(self._client, self.settings.collection, self._ef)
        with self._lock:
            self._stamp = stamp  # taken before the read: a write in between changes the next one
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
        intents: frozenset[str] | None = None,
    ) -> RetrievalResult:
        """``rank(question, mode="hybrid")``: what /v1/ask searches with."""
        return self.rank(question, policy_ids=policy_ids, top_k=top_k, detect=detect, intents=intents)

    def rank(
        self,
        question: str,
        *,
        policy_ids: Sequence[str] | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        detect: bool = True,
        intents: frozenset[str] | None = None,
    ) -> RetrievalResult:
        """The best clauses for the question by ``mode`` (see the module docstring); raises
        InvalidRequestError, UnknownPolicyError, IndexNotReadyError or ServiceUnavailableError.

        policy_ids None: detect payers in the question (unless detect=False); [] searches all.
        intents: what the question asks for (``structure.question_intents``; computed when None).
        """
        question = (question or "").strip()
        if not question:
            raise InvalidRequestError("the question is empty")
        if mode not in MODES:
            raise InvalidRequestError(f"unknown ranking mode {mode!r}; known: {', '.join(MODES)}")
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
        search = _Search(
            self, question, mode, question_intents(question) if intents is None else intents
        )
        # Everything searched is in ``state`` (loaded whole): a build dropping its generation
        # meanwhile changes nothing here, and the next search follows the new pointer.
        hits, best = search.run(state, policy_ids, top_k)
        hits = [replace(h, rank=i) for i, h in enumerate(hits, start=1)]
        return RetrievalResult(
            question=question,
            hits=hits,
            best_dense_similarity=best,
            addressed=best >= self.settings.min_relevance,
            policy_ids=policy_ids,
            per_policy=len(policy_ids) > 1,
            generation=state.generation,
            mode=mode,
        )


class _Search:
    """One question's ranking: the query embedded once, BM25 scored once per state."""

    def __init__(self, retriever: Retriever, question: str, mode: str, intents: frozenset[str]) -> None:
        self.retriever = retriever
        self.settings = retriever.settings
        # Ours reads reviewer shorthand ("sx", "E/I"); the baselines search the question as typed.
        self.question = expand_shorthand(question) if mode == "hybrid" else question
        self.mode = mode
        self.intents = intents
        self.query = retriever.embedder.embed([self.question])[0] if mode != "bm25" else None

    def run(self, state: Loaded, policy_ids: list[str], top_k: int) -> tuple[list[Hit], float]:
        """Hits (per-policy quotas when several policies) and the best lexically supported similarity."""
        bm25 = state.bm25.scores(self.question)
        if len(policy_ids) <= 1:
            hits, best = self._one(state, bm25, policy_ids, top_k)
        else:
            hits, best = self._each(state, bm25, policy_ids, top_k)
        if self.mode == "hybrid" and "list" in self.intents:
            hits = _with_list_units(state, hits, top_k)
        return hits, best

    def _each(self, state: Loaded, bm25: np.ndarray, policy_ids: list[str], top_k: int) -> tuple[list[Hit], float]:
        """Per-policy quota: each policy's best hits first, then the best of the rest."""
        top_k = max(top_k, len(policy_ids))
        quota = top_k // len(policy_ids)
        chosen: list[Hit] = []
        spare: list[Hit] = []
        best = -1.0
        for pid in policy_ids:
            hits, sim = self._one(state, bm25, [pid], top_k)
            best = max(best, sim)
            chosen += hits[:quota]
            spare += hits[quota:]
        spare.sort(key=lambda h: -h.score)
        chosen += spare[: top_k - len(chosen)]
        chosen.sort(key=lambda h: -h.score)
        return chosen, best

    def _dense(self, state: Loaded, policy_ids: list[str], n: int) -> dict[str, float]:
        """Chunk id → cosine similarity for the n nearest chunks within the policies, nearest first.

        Exact, over the generation's stored vectors (``Loaded.vectors``, unit length as the
        embedders write them): what Chroma's cosine query returns, without its ~0.7 ms per call.
        """
        if self.query is None:
            return {}
        with _ONE_NUMPY_BLAS_THREAD:
            similarity = state.vectors @ np.asarray(self.query, dtype=np.float32)
        rows = np.flatnonzero(np.isin(state.policy_of, policy_ids)) if policy_ids else np.arange(len(state.ids))
        nearest = rows[np.argsort(-similarity[rows], kind="stable")[:n]]
        return {state.ids[i]: float(similarity[i]) for i in nearest}

    def _one(self, state: Loaded, bm25: np.ndarray, policy_ids: list[str], top_k: int) -> tuple[list[Hit], float]:
        """Clause-deduplicated hits within the policies ([] = all), and best similarity."""
        n = len(state.ids) if self.mode == "dense" else min(max(_CANDIDATES, top_k * 10), len(state.ids))
        if n == 0:
            return [], -1.0
        similarity = self._dense(state, policy_ids, n)
        dense_ids = list(similarity)
        scores = bm25.copy()
        if policy_ids:
            scores[~np.isin(state.policy_of, policy_ids)] = 0.0
        order = np.argsort(-scores, kind="stable")[: len(state.ids) if self.mode == "bm25" else n]
        positive = scores > 0  # shares a word with the question
        lexical_ids = [state.ids[i] for i in order[positive[order]]]

        if self.mode == "dense":
            ranked = [(cid, similarity[cid]) for cid in dense_ids]
        elif self.mode == "bm25":
            ranked = [(cid, float(scores[state.pos[cid]])) for cid in lexical_ids]
        else:
            rankings = [dense_ids, lexical_ids]
            weights = [self.settings.dense_weight, 1.0]
            if self.mode == "hybrid" and self.intents:
                fused = [cid for cid, _ in reciprocal_rank_fusion(rankings, k=self.settings.rrf_k, weights=weights)]
                # Only clauses the question already reaches: routing reorders, it never adds.
                routed = [
                    c for c in fused[: self.settings.route_depth]
                    if state.structure.routed(state.meta[c]["clause_id"], self.intents)
                ]
                rankings.append(routed)
                weights.append(self.settings.route_weight)
            ranked = reciprocal_rank_fusion(rankings, k=self.settings.rrf_k, weights=weights)

        hits: list[Hit] = []
        seen: set[str] = set()
        for cid, score in ranked:
            meta = state.meta[cid]
            if meta["clause_id"] in seen:
                continue
            seen.add(meta["clause_id"])
            hits.append(_hit(state, cid, score, similarity.get(cid), float(scores[state.pos[cid]])))
            if len(hits) == top_k:
                break
        # Relevance counts only chunks that share a word with the question: dense similarity
        # alone rates "copay for a knee MRI" near the MRI-safety clauses (see config).
        lexical = positive.tolist()
        best = max((sim for cid, sim in similarity.items() if lexical[state.pos[cid]]), default=-1.0)
        return hits, best if math.isfinite(best) else -1.0


@lru_cache(maxsize=1)
def _numpy_blas() -> Any:
    """threadpoolctl's handle on numpy's BLAS (OpenBLAS in numpy's wheels; none matched: a no-op)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(prefix="libopenblas")


_ONE_NUMPY_BLAS_THREAD = OneBlasThread(_numpy_blas)
"""``_dense``'s product on one thread: split in two it is no faster, and OpenBLAS's second thread
then spins ~0.1 s, a core that the next request or the other worker could have used."""


def _hit(state: Loaded, chunk_id: str, score: float, similarity: float | None, bm25: float) -> Hit:
    meta = state.meta[chunk_id]
    return Hit(
        clause_id=meta["clause_id"], policy_id=meta["policy_id"], payer=meta["payer"],
        section=meta["section"], text=meta["clause_text"], score=score,
        dense_similarity=similarity, bm25_score=bm25, rank=0, chunk_id=chunk_id,
        kinds=state.structure.kinds.get(meta["clause_id"], frozenset()),
    )


def _with_list_units(state: Loaded, hits: list[Hit], top_k: int) -> list[Hit]:
    """The best-ranked list in place of its first hit, the other hits after it; still top_k
    hits. A parent hit brings its items; an item hit stays first, then its parent and the
    other items."""
    chunk_of = {state.meta[cid]["clause_id"]: cid for cid in reversed(state.ids)}
    for i, hit in enumerate(hits[:LIST_REACH]):
        unit = state.structure.unit(hit.clause_id)
        if not unit:
            continue
        if unit[0] != hit.clause_id:
            unit = [hit.clause_id, *(cid for cid in unit if cid != hit.clause_id)]
        members = [
            next((h for h in hits if h.clause_id == cid), None)
            or _hit(state, chunk_of[cid], hit.score, None, 0.0)
            for cid in unit if cid in chunk_of
        ]
        rest = [h for h in hits[i:] if h.clause_id not in set(unit)]
        out = hits[:i] + members + rest
        return out[:top_k]
    return hits
