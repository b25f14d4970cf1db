"""Load and validate the curated corpus into clauses (no embeddings here)."""

from mrs_assist.corpus.loader import load_corpus, parse_document
from mrs_assist.corpus.model import Clause, Corpus, Document, FrontMatter

__all__ = ["Clause", "Corpus", "Document", "FrontMatter", "load_corpus", "parse_document"]
