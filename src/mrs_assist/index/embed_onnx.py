"""Query embeddings through onnxruntime: the numpy encoder's graph, built from the same weights.

``OnnxMiniLM`` is ``NumpyMiniLM`` (same folder, same checks, same tokenizer and truncation)
with the forward pass run by onnxruntime instead of numpy. The ONNX graph is written here,
node by node, from the weights ``embed_numpy`` loads (BERT: embeddings, LayerNorm, six
attention + erf-GELU layers; mean pooling; unit length), in memory, once per process: no
torch, nothing downloaded, nothing cached on disk. A question costs ~3.6 ms of CPU against
the numpy pass's ~12.4 ms in a tight loop, and ~25 % less than numpy inside an ask, where
other work pushes the 90 MB of weights out of the caches (onnxruntime fuses LayerNorm and
GELU and runs its own GEMMs; figures: docs/benchmarks.md).

Vectors match sentence-transformers' within ~1e-6 per component, as the numpy pass's do
(``tests/index/test_embed_numpy.py``), so the same index answers both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mrs_assist.index.embed_numpy import NumpyMiniLM, _Weights, one_per_folder

if TYPE_CHECKING:
    from mrs_assist.config import Settings

_OPSET = 18  # LayerNormalization from 17; every Reduce* takes its axes as an input from 18


class OnnxMiniLM(NumpyMiniLM):
    """The folder's sentence-transformers model run by onnxruntime on one thread, or on every
    core this process may use while the others are idle (``wide``).

    The graph and sessions are built on the first ``embed`` call (~0.5 s, ~0.2 s more with more
    than one core); ConfigError as ``NumpyMiniLM`` for a folder it cannot read or an
    architecture it does not implement.
    """

    def __init__(self, model_path: Path) -> None:
        super().__init__(model_path)
        self._session_lock = threading.Lock()
        self._built: Any = None
        self._wide: Any = None
        self._running = 0

    def _session(self) -> Any:
        if self._built is None:
            with self._session_lock:
                if self._built is None:
                    model = build_graph(self._weights()).SerializeToString()
                    if wide_threads() > 1:
                        self._wide = _session(model, threads=wide_threads())
                    self._built = _session(model)
                    self._loaded = None  # the sessions hold their own copies of the weights
        return self._built

    def wide(self) -> bool:
        """Whether the next question may use every core: none other is being embedded here and
        a core is idle right now (``idle_core``). Vectors are the same either way, bit for bit
        (onnxruntime splits a product's rows among threads, not its sums; tests/index/test_embed_numpy.py)."""
        return self._wide is not None and self._running == 0 and idle_core()

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 embeddings, shape (len(texts), hidden size), in input order."""
        session = self._session()
        texts = list(texts)
        if not texts:
            return np.zeros((0, session.get_outputs()[0].shape[1]), dtype=np.float32)
        encodings = self._batch_tokenizer.encode_batch(texts)  # padded to the longest
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        with self._session_lock:
            if self.wide():
                session = self._wide
            self._running += 1
        try:
            return session.run(None, feed)[0]
        finally:
            with self._session_lock:
                self._running -= 1


LOADAVG = Path("/proc/loadavg")


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def wide_threads() -> int:
    """Threads for ``wide``: the usable cores, at most OMP_NUM_THREADS when that is set (API
    workers set it to 1, as several share the cores: mrs_assist.api.asgi)."""
    try:
        return max(1, min(usable_cores(), int(os.environ["OMP_NUM_THREADS"])))
    except (KeyError, ValueError):
        return usable_cores()


def idle_core() -> bool:
    """Whether a core this process may use is idle now: fewer threads are runnable on the machine
    (the kernel's count, this one included: /proc/loadavg's fourth field) than such cores. False
    where that count cannot be read. A question on a quiet machine then takes every core; under
    load, or beside another request, it keeps to one (where two threads were slower)."""
    try:
        running = int(LOADAVG.read_bytes().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return False
    return running < usable_cores()


def _session(model: bytes, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread, as the numpy pass (embed_numpy._one_blas_thread): a question's products
    # are too small to split, and API workers already use every core. More only for ``wide``,
    # whose threads sleep rather than spin between operators (they serve idle cores only).
    options.intra_op_num_threads = threads
    if threads > 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def build_graph(w: _Weights) -> Any:
    """The ONNX model (``onnx.ModelProto``) of the encoder with these weights.

    Inputs ``input_ids``, ``token_type_ids``, ``attention_mask`` (int64, batch × length);
    output ``embedding`` (float32, batch × hidden), mean-pooled over real tokens and unit length.
    """
    from onnx import TensorProto, helper, numpy_helper

    hidden = w.word.shape[1]
    head_dim = hidden // w.heads
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(np.asarray(value, dtype=dtype)), name))
        return name

    def op(kind: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attrs))
        return output

    def dense(x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        # Weights are stored (out, in) as torch keeps them; MatMul wants (in, out).
        product = op("MatMul", [x, const(f"{name}.w", weight.T)], f"{name}.mm")
        return op("Add", [product, const(f"{name}.b", bias.ravel())], name)

    def layer_norm(x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        return op("LayerNormalization", [x, const(f"{name}.w", weight.ravel()), const(f"{name}.b", bias.ravel())],
                  name, axis=-1, epsilon=w.eps)

    # Embeddings: word + position (0 … length-1) + token type, then LayerNorm.
    shape = op("Shape", ["input_ids"], "ids.shape")
    length = op("Gather", [shape, const("one", [1], np.int64)], "length", axis=0)  # (1,)
    first = op("Slice", [const("position", w.position), const("zero", [0], np.int64), length,
                         const("axis0", [0], np.int64)], "e.position")  # rows 0 … length-1
    x = op("Add", [op("Gather", [const("word", w.word), "input_ids"], "e.word"), first], "e.sum1")
    x = op("Add", [x, op("Gather", [const("token_type", w.token_type), "token_type_ids"], "e.type")], "e.sum")
    x = layer_norm(x, w.ln_w, w.ln_b, "e.ln")
    # Padding gets a large negative score before the softmax, as transformers does.
    mask = op("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    masked = op("Sub", [const("f.one", 1.0), mask], "mask.not")
    bias = op("Mul", [masked, const("f.min", np.finfo(np.float32).min)], "mask.bias0")
    bias = op("Unsqueeze", [bias, const("axes12", [1, 2], np.int64)], "mask.bias")  # (B, 1, 1, L)
    heads_shape = const("heads.shape", [0, 0, w.heads, head_dim], np.int64)
    hidden_shape = const("hidden.shape", [0, 0, hidden], np.int64)
    scale = const("scale", 1.0 / np.sqrt(head_dim))
    for i, layer in enumerate(w.layers):
        p = f"l{i}."
        q, k, v = (
            op("Transpose", [op("Reshape", [dense(x, weight, b, p + name), heads_shape], p + name + ".r")],
               p + name + ".t", perm=perm)
            for name, weight, b, perm in zip(
                "qkv", np.split(layer.qkv_w, 3), np.split(layer.qkv_b, 3),
                # q and v as (B, heads, L, head_dim); k as (B, heads, head_dim, L)
                ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]),
            )
        )
        scores = op("Add", [op("Mul", [op("MatMul", [q, k], p + "qk"), scale], p + "qk.s"), bias], p + "scores")
        probs = op("Softmax", [scores], p + "probs", axis=-1)
        context = op("Transpose", [op("MatMul", [probs, v], p + "ctx")], p + "ctx.t", perm=[0, 2, 1, 3])
        context = op("Reshape", [context, hidden_shape], p + "ctx.r")
        attended = op("Add", [dense(context, layer.out_w, layer.out_b, p + "out"), x], p + "res1")
        x = layer_norm(attended, layer.ln1_w, layer.ln1_b, p + "ln1")
        up = dense(x, layer.up_w, layer.up_b, p + "up")
        # erf GELU, in the form onnxruntime fuses: x * 0.5 * (1 + erf(x / sqrt 2))
        erf = op("Erf", [op("Div", [up, const(p + "sqrt2", np.sqrt(2.0))], p + "up.d")], p + "erf")
        gelu = op("Mul", [op("Mul", [up, op("Add", [erf, "f.one"], p + "erf1")], p + "g0"),
                          const(p + "half", 0.5)], p + "gelu")
        down = op("Add", [dense(gelu, layer.down_w, layer.down_b, p + "down"), x], p + "res2")
        x = layer_norm(down, layer.ln2_w, layer.ln2_b, p + "ln2")
    # 1_Pooling: mean over real tokens; 2_Normalize: unit length.
    weights = op("Unsqueeze", [mask, const("axis2", [2], np.int64)], "pool.mask")  # (B, L, 1)
    axis1 = const("axis1", [1], np.int64)
    summed = op("ReduceSum", [op("Mul", [x, weights], "pool.x"), axis1], "pool.sum", keepdims=0)
    count = op("Max", [op("ReduceSum", [weights, axis1], "pool.n0", keepdims=0), const("tiny", 1e-9)], "pool.n")
    pooled = op("Div", [summed, count], "pooled")
    norm = op("ReduceL2", [pooled, axis1], "norm0", keepdims=1)
    op("Div", [pooled, op("Max", [norm, const("tinier", 1e-12)], "norm")], "embedding")

    ints = ("input_ids", "token_type_ids", "attention_mask")
    graph = helper.make_graph(
        nodes, "minilm_query_encoder",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "length"]) for n in ints],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], ir_version=8)


def get_onnx_embedder(settings: Settings) -> OnnxMiniLM:
    """The process-wide onnxruntime embedder for settings.model_path (built lazily)."""
    return one_per_folder(OnnxMiniLM, settings)
