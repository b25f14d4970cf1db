"""Clauses → chunks → embeddings → Chroma (+ BM25 at load); incremental and atomic.

The answer layer needs only ``build_index`` (the CLI's ``index`` command) and, for
tests, ``HashingEmbedder``; retrieval lives in ``mrs_assist.retrieve``.
"""

from mrs_assist.index.build import IndexReport, build_index
from mrs_assist.index.chunk import Chunk, chunk_corpus
from mrs_assist.index.embed import Embedder, TextEmbedder, chroma_embedding_function, get_embedder
from mrs_assist.index.fake import HashingEmbedder

__all__ = [
    "Chunk",
    "Embedder",
    "HashingEmbedder",
    "IndexReport",
    "TextEmbedder",
    "build_index",
    "chroma_embedding_function",
    "chunk_corpus",
    "get_embedder",
]
