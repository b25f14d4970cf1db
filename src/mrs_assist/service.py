"""The library's front door: the functions the API and the CLI both call.

`Services` holds what is loaded once per process (corpus, policies, catalogue, retriever)
and answers the contract's requests. It owns no logic of its own beyond wiring the
stages together in the one direction DESIGN.md draws.
"""

from __future__ import annotations

import threading
from functools import cached_property

from mrs_assist.answer import NOT_ADDRESSED, compose_answer
from mrs_assist.config import Settings, get_settings
from mrs_assist.corpus import Corpus, load_corpus
from mrs_assist.errors import UnknownPolicyError
from mrs_assist.schemas import AskRequest, AskResponse, PolicySummary


class Services:
    """Loaded state and the use cases over it; one per process (or per test)."""

    def __init__(self, settings: Settings | None = None, *, retriever=None) -> None:
        self.settings = settings or get_settings()
        self._retriever = retriever
        self._lock = threading.Lock()

    # --- loaded state --------------------------------------------------------------------
    @cached_property
    def corpus(self) -> Corpus:
        """The curated corpus (raises CorpusError if invalid)."""
        return load_corpus(self.settings.corpus_dir)

    @property
    def retriever(self):
        """The hybrid retriever, loaded on first use (raises IndexNotReadyError)."""
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    from mrs_assist.retrieve import Retriever

                    self._retriever = Retriever.from_settings(self.settings)
        return self._retriever

    def check_policy_ids(self, policy_ids: list[str] | None, *, guidelines_only: bool = False) -> None:
        """Raise UnknownPolicyError for any id that is not in the corpus."""
        known = self.corpus.policy_ids if guidelines_only else list(self.corpus.documents)
        for pid in policy_ids or []:
            if pid not in known:
                raise UnknownPolicyError(pid, known)

    # --- use cases -------------------------------------------------------------------------
    def list_policies(self) -> list[PolicySummary]:
        """Every document in the corpus, guidelines first."""
        docs = sorted(self.corpus.documents.values(), key=lambda d: (d.meta.kind != "guideline", d.id))
        return [
            PolicySummary(
                policy_id=d.id,
                payer=d.meta.payer,
                title=d.meta.title,
                kind=d.meta.kind,
                version=d.meta.version,
                dates={k: v.isoformat() for k, v in d.meta.dates.items()},
                cpt_codes=d.meta.cpt_codes,
                body_region=d.meta.body_region,
                clauses=sum(1 for c in d.clauses if not c.deleted),
            )
            for d in docs
        ]

    def ask(self, request: AskRequest) -> AskResponse:
        """A cited answer to a free-text question (extractive unless a model is configured)."""
        self.check_policy_ids(request.policy_ids)
        top_k = request.top_k or self.settings.top_k
        result = self.retriever.search(request.question, policy_ids=request.policy_ids, top_k=top_k)
        if not result.hits or result.best_dense_similarity < self.settings.min_relevance:
            return AskResponse(answer=NOT_ADDRESSED, citations=[], mode="extractive")
        answer, citations = compose_answer(request.question, result.hits)
        return AskResponse(answer=answer, citations=citations, mode="extractive")
