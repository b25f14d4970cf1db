"""Clauses → chunks: one chunk per clause unless it is too long for the model.

The embedded text puts each clause in context — ``"<payer> — <section>: <parent clause
texts> › <clause text>"`` — because many clauses are list items ("Demyelination") that
mean nothing without the heading and the lead-in they hang from. The context takes at
most half of ``chunk_max_tokens`` (outer parents are dropped first); a clause whose
embedded text would still exceed ``chunk_max_tokens`` word-pieces is split with
LangChain's recursive splitter, each piece getting the same context. A chunk's ``text``
is always verbatim clause text; the whole clause travels with it for citations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mrs_assist.corpus.model import Clause, Corpus, Document

CHUNKER_VERSION = "1"
"""Bump when the embedded text's layout changes: every content hash changes with it."""
_PARENT_SEP = " › "
_OVERLAP_TOKENS = 16


class TokenCounter(Protocol):
    """Anything that counts a text's word-pieces (the Embedder, or a test fake)."""

    def count_tokens(self, text: str) -> int:
        """Word-pieces of the text, special tokens included."""
        ...


@dataclass(frozen=True)
class Chunk:
    """One unit of embedding and retrieval, with the clause it quotes."""

    id: str
    """'<clause id>::<n>', n counting from 0 within the clause."""
    clause_id: str
    policy_id: str
    payer: str
    kind: str
    """'guideline' or 'literature' (the document's kind)."""
    section: str
    """The clause's section path, 'A > B'."""
    context: str
    """Heading context prepended to the text for embedding and BM25."""
    text: str
    """Verbatim clause text (the whole clause, or one piece of a split clause)."""
    clause_text: str
    """The whole verbatim clause text (what a citation quotes)."""
    content_hash: str
    """sha256 of the embedded text and the model id: equal hashes, equal embeddings."""

    @property
    def embed_text(self) -> str:
        """The text that is embedded and BM25-indexed."""
        return f"{self.context}: {self.text}"


def content_hash(embed_text: str, model_id: str) -> str:
    """sha256 hex of the chunker version, model id and embedded text."""
    payload = f"{CHUNKER_VERSION}\n{model_id}\n{embed_text}".encode()
    return hashlib.sha256(payload).hexdigest()


def _context(doc: Document, clause: Clause, counter: TokenCounter, budget: int) -> str:
    """Payer, section and parent clause texts, trimmed to fit the token budget."""
    parents: list[str] = []
    local = clause.parent_local_id
    while local:
        parent = doc.clause(local)
        if parent is not None and not parent.deleted:
            parents.insert(0, parent.text)
        local = parent.parent_local_id if parent is not None else local.rpartition(".")[0]
    heads = [f"{doc.meta.payer} — {clause.section}" if clause.section else doc.meta.payer]
    if clause.section_path:
        heads.append(f"{doc.meta.payer} — {clause.section_path[-1]}")
    heads.append(doc.meta.payer)
    for head in heads:
        for first in range(len(parents) + 1):  # drop outer parents first
            context = _PARENT_SEP.join([head, *parents[first:]]) if parents[first:] else head
            if counter.count_tokens(context) <= budget:
                return context
    return doc.meta.payer


def _fit(piece: str, prefix_tokens: int, counter: TokenCounter, max_tokens: int) -> list[str]:
    """The piece, halved at word boundaries until each part fits beside the prefix."""
    if prefix_tokens + counter.count_tokens(piece) - 2 <= max_tokens:
        return [piece]
    words = piece.split(" ")
    if len(words) < 2:  # one enormous "word": cut by characters
        mid = len(piece) // 2
        halves = [piece[:mid], piece[mid:]]
    else:
        mid = len(words) // 2
        halves = [" ".join(words[:mid]), " ".join(words[mid:])]
    return [p for half in halves for p in _fit(half, prefix_tokens, counter, max_tokens)]


def split_text(text: str, context: str, counter: TokenCounter, max_tokens: int) -> list[str]:
    """Verbatim pieces of text, each fitting with its context in max_tokens word-pieces."""
    prefix_tokens = counter.count_tokens(f"{context}:")
    if prefix_tokens + counter.count_tokens(text) - 2 <= max_tokens:
        return [text]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    budget = max(8, max_tokens - prefix_tokens + 2)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=budget,
        chunk_overlap=min(_OVERLAP_TOKENS, budget // 4),
        length_function=counter.count_tokens,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )
    pieces = [p for p in splitter.split_text(text) if p.strip()]
    # Word-pieces are not quite additive at the seams: re-check, halving any misfit.
    return [p for piece in pieces for p in _fit(piece, prefix_tokens, counter, max_tokens)]


def chunk_corpus(
    corpus: Corpus, counter: TokenCounter, *, model_id: str, max_tokens: int
) -> list[Chunk]:
    """Chunks of every non-deleted clause, in corpus order; ids are '<clause id>::<n>'."""
    chunks: list[Chunk] = []
    for doc in corpus.documents.values():
        for clause in doc.clauses:
            if clause.deleted:
                continue
            context = _context(doc, clause, counter, max_tokens // 2)
            for n, piece in enumerate(split_text(clause.text, context, counter, max_tokens)):
                embed_text = f"{context}: {piece}"
                chunks.append(
                    Chunk(
                        id=f"{clause.id}::{n}",
                        clause_id=clause.id,
                        policy_id=doc.id,
                        payer=doc.meta.payer,
                        kind=doc.meta.kind,
                        section=clause.section,
                        context=context,
                        text=piece,
                        clause_text=clause.text,
                        content_hash=content_hash(embed_text, model_id),
                    )
                )
    return chunks
