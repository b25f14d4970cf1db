"""The plain LangChain RAG pipeline the evaluation and benchmarks compare against.

What a team would build in an afternoon: the raw seed text (``source_file`` of each
curated document, under ``seeds_dir``), LangChain's ``RecursiveCharacterTextSplitter``
(chunk_size=1000, chunk_overlap=200), the same embedding model as ours behind a LangChain
``Embeddings`` adapter, an ephemeral (in-memory) Chroma collection, and
``similarity_search(k=4)``. Its "answer" is the four chunks joined: no curation, no clause
anchors, no BM25, no fusion, no payer detection, no decline rule.

Run as a module it is also the baseline's process for the benchmarks:
``python -m mrs_assist.evaluation.lcbaseline ask QUESTION`` (cold start to first answer),
``... index`` (build), and ``lcbaseline:app`` is its ASGI app for the throughput test.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel

from mrs_assist.config import ROOT
from mrs_assist.corpus.model import Corpus
from mrs_assist.errors import ConfigError
from mrs_assist.index.embed import TextEmbedder, chroma_embedding_function

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
K = 4
DEFAULT_SEEDS_DIR = ROOT.parent / "shared" / "seeds"


class EmbedderAdapter(Embeddings):
    """LangChain's Embeddings interface over our embedder (the very same model)."""

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return self.embedder.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        """The query's vector."""
        return self.embedder.embed([text])[0]


def seed_documents(corpus: Corpus, seeds_dir: Path) -> list[Document]:
    """The raw seed text of every corpus document; raises ConfigError when a seed is missing."""
    docs = []
    for doc in corpus.documents.values():
        path = Path(seeds_dir) / doc.meta.source_file
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(f"seed file {path} (source_file of {doc.id}) not found; set --seeds-dir") from exc
        docs.append(Document(page_content=text, metadata={"source": doc.meta.source_file, "policy_id": doc.id}))
    return docs


@dataclass
class LangChainPipeline:
    """Split raw seeds, embed, store in ephemeral Chroma, search by similarity."""

    embeddings: EmbedderAdapter
    collection: Any
    chunks: list[Document]
    build_seconds: float = 0.0

    @classmethod
    def build(cls, corpus: Corpus, seeds_dir: Path, embedder: TextEmbedder) -> LangChainPipeline:
        """A ready pipeline (everything embedded afresh: the store is in memory)."""
        import chromadb
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        started = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        chunks = splitter.split_documents(seed_documents(corpus, seeds_dir))
        for n, chunk in enumerate(chunks):
            chunk.metadata["n"] = n
        embeddings = EmbedderAdapter(embedder)
        client = chromadb.EphemeralClient()
        collection = client.create_collection(
            f"lc_baseline_{uuid.uuid4().hex[:12]}",
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=chroma_embedding_function(embedder),  # never Chroma's default
        )
        import numpy as np

        vectors = embeddings.embed_documents([c.page_content for c in chunks])
        collection.add(
            ids=[f"c{i}" for i in range(len(chunks))],
            embeddings=[np.asarray(v, dtype=np.float32) for v in vectors],
            documents=[c.page_content for c in chunks],
            metadatas=[dict(c.metadata) for c in chunks],
        )
        return cls(embeddings, collection, chunks, time.perf_counter() - started)

    def similarity_search(self, query: str, k: int = K, policy_ids: Sequence[str] | None = None) -> list[Document]:
        """The k chunks most similar to the query (filtered to policy_ids when given)."""
        import numpy as np

        where = {"policy_id": {"$in": list(policy_ids)}} if policy_ids else None
        res = self.collection.query(
            query_embeddings=[np.asarray(self.embeddings.embed_query(query), dtype=np.float32)],
            n_results=min(k, len(self.chunks)), where=where, include=["metadatas"],
        )
        return [self.chunks[m["n"]] for m in res["metadatas"][0]]

    def answer(self, question: str, policy_ids: Sequence[str] | None = None) -> str:
        """The pipeline's answer: the k=4 retrieved chunks, joined."""
        return "\n\n".join(d.page_content for d in self.similarity_search(question, K, policy_ids))


class AskBody(BaseModel):
    """The baseline API's request body (a subset of ours)."""

    question: str
    policy_ids: list[str] | None = None


def _pipeline_from_env() -> LangChainPipeline:
    import os

    from mrs_assist.config import get_settings
    from mrs_assist.corpus import load_corpus
    from mrs_assist.index.embed import get_embedder

    settings = get_settings()
    seeds = Path(os.environ.get("MRS_ASSIST_SEEDS_DIR") or DEFAULT_SEEDS_DIR)
    return LangChainPipeline.build(load_corpus(settings.corpus_dir), seeds, get_embedder(settings))


def create_app() -> Any:
    """A one-route ASGI app (POST /v1/ask) serving the baseline, for the throughput bench."""
    from fastapi import FastAPI

    app = FastAPI(title="langchain-baseline")
    pipeline = _pipeline_from_env()

    @app.get("/healthz")
    def healthz() -> dict:
        import os

        return {"status": "ok", "pid": os.getpid()}  # the bench waits until every worker answers

    @app.post("/v1/ask")
    def ask(body: AskBody) -> dict:
        return {"answer": pipeline.answer(body.question, body.policy_ids)}

    return app


def __getattr__(name: str) -> Any:  # `uvicorn mrs_assist.evaluation.lcbaseline:app` builds on import
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> int:
    """`ask QUESTION` prints the answer; `index` builds and prints the chunk count."""
    args = list(sys.argv[1:] if argv is None else argv)
    pipeline = _pipeline_from_env()
    if args[:1] == ["ask"] and len(args) == 2:
        print(pipeline.answer(args[1]))
        return 0
    if args[:1] == ["index"]:
        print(f"{len(pipeline.chunks)} chunks in {pipeline.build_seconds:.2f} s")
        return 0
    print("usage: python -m mrs_assist.evaluation.lcbaseline (ask QUESTION | index)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
