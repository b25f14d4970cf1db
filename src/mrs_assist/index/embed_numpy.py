"""Query embeddings from the MiniLM folder with numpy alone: no torch, no sentence-transformers.

``NumpyMiniLM`` runs the same BERT encoder as the sentence-transformers model in the folder
(``modules.json``: Transformer → mean Pooling → Normalize) as a plain numpy forward pass in
float32, with the tokenizer from ``tokenizer.json`` truncating at ``max_seq_length``. Its
vectors match the sentence-transformers ones to ~1e-6 per component, so questions embedded
here search an index built with sentence-transformers. It exists for start-up time: it
needs neither torch nor sentence-transformers (cold-start figures: README).

Only this architecture is implemented (BERT, absolute positions, erf GELU, mean pooling);
a folder describing anything else raises ConfigError rather than embedding wrongly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from mrs_assist.errors import ConfigError
from mrs_assist.index.embed import Embedder

if TYPE_CHECKING:
    from mrs_assist.config import Settings

_BATCH_SIZE = 32
_M = TypeVar("_M", bound="NumpyMiniLM")
_instances: dict[tuple[type, Path], NumpyMiniLM] = {}
_instances_lock = threading.Lock()


@dataclass(frozen=True)
class _Layer:
    """One encoder layer; weights (out, in) as stored, biases and norms as (n, 1) columns."""

    qkv_w: np.ndarray  # (3 * hidden, hidden): query, key and value projections stacked
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


@dataclass(frozen=True)
class _Weights:
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    ln_w: np.ndarray
    ln_b: np.ndarray
    layers: tuple[_Layer, ...]
    heads: int
    eps: float


class NumpyMiniLM(Embedder):
    """The folder's sentence-transformers model as a numpy forward pass (same vectors, no torch).

    Same ``model_id``, ``max_seq_length`` and ``count_tokens`` as ``Embedder`` (it is one);
    only ``embed`` differs. Weights load on the first ``embed`` call.
    """

    def __init__(self, model_path: Path) -> None:
        super().__init__(model_path)
        self._weights_lock = threading.Lock()
        self._loaded: _Weights | None = None

    @cached_property
    def _batch_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        # What sentence-transformers does: [CLS] … [SEP], cut at max_seq_length (special
        # tokens included), padded with [PAD] to the longest text of the batch.
        tokenizer.enable_truncation(max_length=min(self.max_seq_length, self._max_positions))
        pad_id = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        return tokenizer

    @cached_property
    def _max_positions(self) -> int:
        # sentence-transformers caps max_seq_length at the model's position table too.
        try:
            config = json.loads((self.model_path / "config.json").read_text())
            return int(config["max_position_embeddings"])
        except (OSError, KeyError, ValueError):
            return self.max_seq_length

    def _weights(self) -> _Weights:
        if self._loaded is None:
            with self._weights_lock:
                if self._loaded is None:
                    self._loaded = _load_weights(self.model_path)
        return self._loaded

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length (cosine-ready) embeddings, one list of floats per text."""
        if not texts:
            return []
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 embeddings, shape (len(texts), hidden size), in input order."""
        weights = self._weights()
        texts = list(texts)
        out = np.zeros((len(texts), weights.word.shape[1]), dtype=np.float32)
        if not texts:
            return out
        encodings = self._batch_tokenizer.encode_batch(texts)
        # Longest first, in batches of similar length: little padding, as sentence-transformers.
        order = sorted(range(len(texts)), key=lambda i: -sum(encodings[i].attention_mask))
        with _ONE_SCIPY_BLAS_THREAD:  # SciPy's BLAS, which _dense calls
            for start in range(0, len(order), _BATCH_SIZE):
                batch = order[start : start + _BATCH_SIZE]
                length = max(sum(encodings[i].attention_mask) for i in batch)
                ids = np.array([encodings[i].ids[:length] for i in batch], dtype=np.int64)
                types = np.array([encodings[i].type_ids[:length] for i in batch], dtype=np.int64)
                mask = np.array([encodings[i].attention_mask[:length] for i in batch], dtype=np.float32)
                out[batch] = _encode(weights, ids, types, mask)
        return out


class OneBlasThread:
    """A BLAS library on one thread while any caller is inside ``with``, then as it was.

    A question's products are too small to split: a second BLAS thread mostly spins, and on a
    busy machine it waits for a core, so one question took ~100 ms on two threads against
    ~12 ms on one (2-core machine, load average 3). OpenBLAS's idle worker also spins on for
    ~0.1 s after each product, a core burnt. The first caller in sets the limit and the last
    one out restores it, so concurrent callers never leave it changed.
    """

    def __init__(self, select: Callable[[], Any]) -> None:
        self.select = select
        """Returns threadpoolctl's handle on the library (called when the first caller enters)."""
        self._users = 0
        self._lock = threading.Lock()
        self._restore: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                self._restore = self.select().limit(limits=1)
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._restore.restore_original_limits()
                self._restore = None


@lru_cache(maxsize=1)
def _scipy_blas() -> Any:
    """threadpoolctl's handle on the BLAS that ``_dense`` calls (SciPy's)."""
    from threadpoolctl import ThreadpoolController

    _sgemm()  # loads SciPy's BLAS, so the controller finds it
    return ThreadpoolController().select(prefix="libscipy_openblas")


_ONE_SCIPY_BLAS_THREAD = OneBlasThread(_scipy_blas)


def _load_weights(model_path: Path) -> _Weights:
    """The encoder's weights ((out, in) as stored, biases as columns); raises ConfigError."""
    from safetensors.numpy import load_file

    try:
        config = json.loads((model_path / "config.json").read_text())
        pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text())
        modules = json.loads((model_path / "modules.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the embedding model at {model_path}: {exc}") from exc
    module_types = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    expected = {
        "model_type": config.get("model_type") == "bert",
        "hidden_act": config.get("hidden_act") == "gelu",  # erf form, as BERT defines it
        "position_embedding_type": config.get("position_embedding_type", "absolute") == "absolute",
        "mean pooling only": pooling.get("pooling_mode_mean_tokens") is True
        and not any(v for k, v in pooling.items() if k.startswith("pooling_mode_")
                    and k != "pooling_mode_mean_tokens"),
        # Embedder.embed normalises either way, so a missing Normalize module changes nothing.
        "modules Transformer, Pooling[, Normalize]": module_types
        in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]),
    }
    unsupported = [name for name, ok in expected.items() if not ok]
    if unsupported:
        raise ConfigError(
            f"the numpy query embedder supports only mean-pooled, normalised BERT models; "
            f"{model_path} differs in: {', '.join(unsupported)} (set query_embedder to "
            f"'sentence-transformers')"
        )
    try:
        tensors = load_file(str(model_path / "model.safetensors"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the embedding model at {model_path}: {exc}") from exc
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""

    def get(name: str) -> np.ndarray:
        try:
            return np.ascontiguousarray(tensors[prefix + name], dtype=np.float32)
        except KeyError:
            raise ConfigError(
                f"{model_path}/model.safetensors has no tensor {prefix + name}"
            ) from None

    def column(name: str) -> np.ndarray:
        return get(name)[:, None]

    def dense(name: str) -> tuple[np.ndarray, np.ndarray]:
        # Kept as torch's Linear stores it, (out, in): _encode computes w @ x.
        return get(f"{name}.weight"), column(f"{name}.bias")

    layers = []
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        q_w, q_b = dense(p + "attention.self.query")
        k_w, k_b = dense(p + "attention.self.key")
        v_w, v_b = dense(p + "attention.self.value")
        out_w, out_b = dense(p + "attention.output.dense")
        up_w, up_b = dense(p + "intermediate.dense")
        down_w, down_b = dense(p + "output.dense")
        layers.append(_Layer(
            qkv_w=np.concatenate([q_w, k_w, v_w], axis=0),
            qkv_b=np.concatenate([q_b, k_b, v_b], axis=0),
            out_w=out_w, out_b=out_b,
            ln1_w=column(p + "attention.output.LayerNorm.weight"),
            ln1_b=column(p + "attention.output.LayerNorm.bias"),
            up_w=up_w, up_b=up_b, down_w=down_w, down_b=down_b,
            ln2_w=column(p + "output.LayerNorm.weight"),
            ln2_b=column(p + "output.LayerNorm.bias"),
        ))
    return _Weights(
        word=get("embeddings.word_embeddings.weight"),
        position=get("embeddings.position_embeddings.weight"),
        token_type=get("embeddings.token_type_embeddings.weight"),
        ln_w=get("embeddings.LayerNorm.weight"),
        ln_b=get("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
        heads=int(config["num_attention_heads"]),
        eps=float(config.get("layer_norm_eps", 1e-12)),
    )


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float, axis: int) -> np.ndarray:
    mean = x.mean(axis=axis, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=axis, keepdims=True)  # biased, as torch
    return centred / np.sqrt(var + eps) * w + b


def _dense(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``weight @ x`` for float32 (out, in) @ (in, tokens), C-contiguous in and out, through
    SciPy's BLAS.

    numpy's bundled OpenBLAS (0.3.23) takes some current Xeons for a Prescott and runs SSE3
    kernels: on this project's machine its float32 ``weight @ x`` took 0.93 ms for one
    question's intermediate layer, SciPy's newer OpenBLAS (AVX-512 kernels) 0.32 ms. As
    Fortran sees them, C-contiguous ``x`` and ``weight`` are ``x.T`` and ``weight.T``, so
    ``sgemm(x.T, weight.T)`` is ``(weight @ x).T`` with no copy, and its ``.T`` is
    C-contiguous again.
    """
    return _sgemm()(1.0, x.T, weight.T).T


@lru_cache(maxsize=1)
def _sgemm() -> Any:
    from scipy.linalg.blas import sgemm

    return sgemm


# Eigen's float32 erf (``generic_fast_erf_float``, also TensorFlow's and XLA's): an odd
# degree-13 over an even degree-8 polynomial on [-4, 4], where erf reaches ±1 in float32.
# Within 4.3e-7 of the exact erf (tests/index/test_embed_erf.py); SciPy's erf computes each value
# in double precision and took 0.53 ms per layer for a question, this 0.12 ms.
_ERF_NUMERATOR = np.array([-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                           -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                           -1.60960333262415e-02], dtype=np.float32)
_ERF_DENOMINATOR = np.array([-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                             -7.37332916720468e-03, -1.42647390514189e-02], dtype=np.float32)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf of a float32 array (a new array; see ``_ERF_NUMERATOR``)."""
    x = np.clip(x, -4.0, 4.0).astype(np.float32, copy=False)
    x2 = x * x
    p = _ERF_NUMERATOR[0] * x2 + _ERF_NUMERATOR[1]
    for c in _ERF_NUMERATOR[2:]:
        p *= x2
        p += c
    p *= x
    q = _ERF_DENOMINATOR[0] * x2 + _ERF_DENOMINATOR[1]
    for c in _ERF_DENOMINATOR[2:]:
        q *= x2
        q += c
    p /= q
    return p


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(1 / np.sqrt(2.0))))


def _encode(w: _Weights, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean-pooled, L2-normalised last hidden states for one padded batch (B, L).

    Hidden states are kept feature-major, (hidden, B * L), so every dense layer is one
    ``weight @ x`` with the weight as stored (``_dense``).
    """
    batch, length = ids.shape
    tokens = batch * length
    hidden = w.word.shape[1]
    head_dim = hidden // w.heads
    x = w.word[ids] + w.position[:length] + w.token_type[types]  # (B, L, hidden)
    x = _layer_norm(x, w.ln_w, w.ln_b, w.eps, axis=-1)
    x = np.ascontiguousarray(x.reshape(tokens, hidden).T)
    # Padding gets a large negative score before the softmax, as transformers does.
    bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # (B, 1, 1, L)
    scale = np.float32(1.0 / np.sqrt(head_dim))
    for layer in w.layers:
        qkv = (_dense(layer.qkv_w, x) + layer.qkv_b).reshape(3, w.heads, head_dim, batch, length)
        q = qkv[0].transpose(2, 0, 3, 1)  # (B, heads, L, head_dim)
        k = qkv[1].transpose(2, 0, 1, 3)  # (B, heads, head_dim, L)
        v = qkv[2].transpose(2, 0, 3, 1)  # (B, heads, L, head_dim)
        scores = (q @ k) * scale + bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 3, 0, 2).reshape(hidden, tokens)
        x = _layer_norm(_dense(layer.out_w, context) + layer.out_b + x, layer.ln1_w, layer.ln1_b,
                        w.eps, axis=0)
        up = _gelu(_dense(layer.up_w, x) + layer.up_b)
        x = _layer_norm(_dense(layer.down_w, up) + layer.down_b + x, layer.ln2_w, layer.ln2_b,
                        w.eps, axis=0)
    # 1_Pooling: mean over real tokens; 2_Normalize: unit length.
    summed = (x.reshape(hidden, batch, length) * mask).sum(axis=2).T  # (B, hidden)
    pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def get_numpy_embedder(settings: Settings) -> NumpyMiniLM:
    """The process-wide numpy embedder for settings.model_path (weights loaded lazily)."""
    return one_per_folder(NumpyMiniLM, settings)


def one_per_folder(kind: type[_M], settings: Settings) -> _M:
    """The process-wide ``kind`` embedder for settings.model_path (created on first use)."""
    path = Path(settings.model_path).resolve()
    with _instances_lock:
        embedder = _instances.get((kind, path))
        if embedder is None:
            embedder = _instances[(kind, path)] = kind(path)
    return embedder  # type: ignore[return-value]
