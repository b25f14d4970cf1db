"""Lexical search: a bm25s index over chunk texts, built in memory when a retriever loads.

The corpus is a few hundred chunks: building takes milliseconds, so nothing is persisted
and the lexical index can never disagree with the generation it was built from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np

_TOKEN = re.compile(r"\w\w+")
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN) | {
    # question words and guideline boilerplate ("ANY of the following") carry no topic
    "does", "do", "what", "which", "how", "when", "who", "any", "under", "cover", "covered",
}


def _stem(word: str) -> str:
    """A light plural stemmer (gliomas → glioma, studies → study); enough for guideline text."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed tokens of two or more characters."""
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]


class BM25Index:
    """BM25 scores of a question against a fixed list of texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(t) for t in texts]
        self._bm25.index(corpus, show_progress=False)
        self._vocab = set(self._bm25.vocab_dict)

    def scores(self, question: str) -> np.ndarray:
        """One BM25 score per indexed text (zeros when no query word is in the vocabulary)."""
        tokens = [t for t in tokenize(question) if t in self._vocab]
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
