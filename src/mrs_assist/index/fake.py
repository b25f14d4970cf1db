"""A deterministic fake embedder for tests: hashed bag of words, no model, no torch."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+|[^\w\s]")


class HashingEmbedder:
    """Embeds texts as unit-length hashed word counts; counts words + 2 as 'word-pieces'.

    Texts sharing words get positive cosine similarity, so ranking tests behave sensibly.
    ``calls`` records every batch it embedded, for asserting what a build re-embedded.
    """

    def __init__(self, dim: int = 64, model_id: str = "fake-hashing-v1") -> None:
        self.dim = dim
        self.model_id = model_id
        self.calls: list[list[str]] = []

    @property
    def embedded_texts(self) -> list[str]:
        """Every text embedded so far, in order."""
        return [t for batch in self.calls for t in batch]

    def count_tokens(self, text: str) -> int:
        """Words and punctuation marks plus [CLS] and [SEP]."""
        return len(_WORD.findall(text)) + 2

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length hashed bag-of-words vectors, one per text."""
        self.calls.append(list(texts))
        return [self._vector(t) for t in texts]

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            vec[h % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        if norm == 1.0 and not any(vec):
            vec[0] = 1.0
        return [v / norm for v in vec]
