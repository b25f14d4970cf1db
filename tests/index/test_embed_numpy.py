"""The numpy and onnxruntime query embedders: same vectors and rankings as sentence-transformers,
no torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REAL_CORPUS

from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus
from mrs_assist.errors import ConfigError
from mrs_assist.index import build_index, chunk_corpus
from mrs_assist.index.embed import Embedder, get_query_embedder
from mrs_assist.index.embed_numpy import NumpyMiniLM, OneBlasThread, get_numpy_embedder
from mrs_assist.index import embed_onnx
from mrs_assist.index.embed_onnx import OnnxMiniLM, get_onnx_embedder
from mrs_assist.retrieve import Retriever

HEAVY = ("torch", "transformers", "sentence_transformers")

QUESTIONS = [
    "Does NIA cover MRS for glioma grading?",
    "What are Cohere's non-indications?",
    "Is MR spectroscopy covered for epilepsy?",
    "Which payers cover MRS for epilepsy?",
    "Can MRS differentiate between abscess and tumor?",
    "Does Cohere cover tumor vs radiation necrosis?",
    "florida blue position on MRS",
    "Does WNS require a known tumor?",
    "What does each payer say about Canavan disease?",
    "Is MRS medically necessary for dementia screening?",
    "Is spectroscopy investigational for multiple sclerosis?",
    "What CPT code is used for MR spectroscopy?",
    "When did the HealthHelp guideline take effect?",
    "Does MRS help with stroke evaluation?",
    "mitochondrial disorders lactate peak",
    "Is a prior conventional MRI required before MRS?",
    "Pediatric leukodystrophy and spectroscopy",
    "What is the copay for a knee MRI?",
    "Does NIA consider MRS experimental for hepatic encephalopathy?",
    "recurrent glioblastoma after radiation therapy, MRI equivocal",
]
LONG = " ".join(f"Choline to creatine ratio {i} rose in the enhancing lesion." for i in range(60))
"""Far past 256 word-pieces: both embedders must cut it at the same place."""


class _Memo:
    """Serves precomputed sentence-transformers vectors so the index build embeds nothing twice."""

    def __init__(self, inner: Embedder, vectors: dict[str, list[float]]) -> None:
        self._inner = inner
        self._vectors = vectors
        self.model_id = inner.model_id

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def embed(self, texts):
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._inner.embed(missing)))
        return [self._vectors[t] for t in texts]


@pytest.fixture(scope="module")
def numpy_embedder() -> NumpyMiniLM:
    """A fresh numpy embedder over the shipped model folder."""
    return NumpyMiniLM(Settings().model_path)


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxMiniLM:
    """A fresh onnxruntime embedder over the shipped model folder."""
    return OnnxMiniLM(Settings().model_path)


@pytest.fixture(params=["numpy", "onnx"])
def fast_embedder(request, numpy_embedder, onnx_embedder) -> NumpyMiniLM:
    """Each torch-free query embedder in turn."""
    return {"numpy": numpy_embedder, "onnx": onnx_embedder}[request.param]


@pytest.fixture(scope="module")
def real_texts(real_embedder) -> list[str]:
    """Every chunk text of the real corpus, the questions and one over-long text."""
    settings = Settings(corpus_dir=REAL_CORPUS)
    chunks = chunk_corpus(load_corpus(REAL_CORPUS), real_embedder, model_id=real_embedder.model_id,
                          max_tokens=settings.chunk_max_tokens)
    return [c.embed_text for c in chunks] + QUESTIONS + [LONG]


@pytest.fixture(scope="module")
def both_vectors(real_embedder, numpy_embedder, real_texts) -> tuple[np.ndarray, np.ndarray]:
    """(sentence-transformers, numpy) vectors of real_texts, in order."""
    st = np.asarray(real_embedder.embed(real_texts), dtype=np.float32)
    return st, numpy_embedder.embed_array(real_texts)


@pytest.fixture(scope="module")
def real_index(tmp_path_factory, real_embedder, real_texts, both_vectors) -> Settings:
    """Settings of a real-corpus index in a temporary folder, built from sentence-transformers
    vectors (reused from both_vectors)."""
    root = tmp_path_factory.mktemp("real-index")
    settings = Settings(corpus_dir=REAL_CORPUS, data_dir=root / "data", eval_dir=root / "eval")
    memo = _Memo(real_embedder, dict(zip(real_texts, both_vectors[0].tolist())))
    build_index(settings, embedder=memo, progress=False)
    return settings


# --- same vectors ----------------------------------------------------------------------------


@pytest.mark.integration
def test_vectors_match_sentence_transformers_on_the_real_corpus(both_vectors, real_texts):
    st, fast = both_vectors
    assert st.shape == fast.shape == (len(real_texts), 384)
    assert fast.dtype == np.float32
    worst = np.abs(st - fast).max(axis=1)
    assert worst.max() < 1e-4, real_texts[int(worst.argmax())][:80]
    cosine = (st * fast).sum(axis=1) / np.linalg.norm(st, axis=1) / np.linalg.norm(fast, axis=1)
    assert cosine.min() >= 0.99999, real_texts[int(cosine.argmin())][:80]
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_onnx_uses_every_core_only_when_one_is_idle_and_with_the_same_vectors(monkeypatch):
    """A lone question on an idle machine runs on every core (issue 22 item 8), bit for bit as on
    one; beside another question, or with every core busy, it keeps to one."""
    monkeypatch.setattr(embed_onnx, "usable_cores", lambda: 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    embedder = OnnxMiniLM(Settings().model_path)
    monkeypatch.setattr(embed_onnx, "idle_core", lambda: False)
    narrow = embedder.embed_array(QUESTIONS)  # builds both sessions
    assert not embedder.wide()
    monkeypatch.setattr(embed_onnx, "idle_core", lambda: True)
    assert embedder.wide()
    used, run = [], embedder._wide.run
    monkeypatch.setattr(embedder._wide, "run", lambda *args: used.append(args) or run(*args))
    assert np.array_equal(embedder.embed_array(QUESTIONS), narrow)
    assert len(used) == 1
    embedder._running = 1  # another question is being embedded meanwhile
    assert not embedder.wide()


def test_one_blas_thread_is_set_by_the_first_caller_in_and_restored_by_the_last_out():
    events = []

    class Handle:
        def limit(self, limits):
            events.append(("limit", limits))
            return type("Restore", (), {"restore_original_limits": lambda self: events.append("restore")})()

    one = OneBlasThread(Handle)
    with one:
        with one:  # another request meanwhile
            assert events == [("limit", 1)]
        assert events == [("limit", 1)]
    assert events == [("limit", 1), "restore"]


@pytest.mark.parametrize(("omp", "threads"), [(None, 2), ("1", 1), ("8", 2), ("x", 2)])
def test_wide_threads_keep_to_an_operators_or_a_workers_cap(monkeypatch, omp, threads):
    monkeypatch.setattr(embed_onnx, "usable_cores", lambda: 2)
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert embed_onnx.wide_threads() == threads


@pytest.mark.parametrize(("loadavg", "idle"), [
    ("0.50 0.40 0.30 1/120 999\n", True), ("2.50 2.40 2.30 2/120 999\n", False), ("garbage", False), (None, False),
])
def test_idle_core_reads_the_kernels_count_of_runnable_threads(monkeypatch, tmp_path, loadavg, idle):
    path = tmp_path / "loadavg"
    if loadavg is not None:
        path.write_text(loadavg)
    monkeypatch.setattr(embed_onnx, "LOADAVG", path)
    monkeypatch.setattr(embed_onnx, "usable_cores", lambda: 2)
    assert embed_onnx.idle_core() is idle


@pytest.mark.integration
def test_onnx_vectors_match_sentence_transformers_on_the_real_corpus(both_vectors, onnx_embedder, real_texts):
    st, numpy_vectors = both_vectors
    fast = onnx_embedder.embed_array(real_texts)
    assert fast.shape == st.shape and fast.dtype == np.float32
    worst = np.abs(st - fast).max(axis=1)
    assert worst.max() < 1e-5, real_texts[int(worst.argmax())][:80]
    # The same encoder as the numpy pass, so the same vector to float32 rounding.
    assert np.abs(numpy_vectors - fast).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


@pytest.mark.integration
def test_truncates_like_sentence_transformers(numpy_embedder, both_vectors):
    encoding = numpy_embedder._batch_tokenizer.encode(LONG)
    assert len(encoding.ids) == numpy_embedder.max_seq_length == 256
    assert encoding.ids[0] == 101 and encoding.ids[-1] == 102  # [CLS] … [SEP] survive the cut
    assert numpy_embedder.count_tokens(LONG) > 256  # counting still sees the whole text
    st, fast = both_vectors
    assert np.abs(st[-1] - fast[-1]).max() < 1e-4


@pytest.mark.integration
def test_batches_with_padding_equal_one_at_a_time(fast_embedder):
    texts = ["MRS", QUESTIONS[0], LONG, "", "  spaced   out  ", QUESTIONS[5]]
    together = fast_embedder.embed_array(texts)
    alone = np.vstack([fast_embedder.embed_array([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert fast_embedder.embed([]) == []
    assert fast_embedder.embed_array([]).shape == (0, 384)
    listed = fast_embedder.embed(texts[:2])
    assert isinstance(listed[0][0], float) and len(listed) == 2


def test_same_model_id_as_the_sentence_transformers_embedder(fast_embedder):
    # The index records the model id it was built with; questions must pass that check.
    assert fast_embedder.model_id == Embedder(Settings().model_path).model_id


# --- same rankings -------------------------------------------------------------------------


@pytest.mark.integration
def test_same_top_5_as_sentence_transformers(real_index, real_embedder, fast_embedder):
    slow = Retriever.from_settings(real_index, embedder=real_embedder)
    fast = Retriever.from_settings(real_index, embedder=fast_embedder)
    for question in QUESTIONS:
        a, b = slow.search(question, top_k=5), fast.search(question, top_k=5)
        assert [h.chunk_id for h in a.hits] == [h.chunk_id for h in b.hits], question
        assert a.best_dense_similarity == pytest.approx(b.best_dense_similarity, abs=1e-5)
        assert a.addressed == b.addressed


# --- the setting ---------------------------------------------------------------------------


def test_query_embedder_setting_picks_the_implementation(monkeypatch):
    assert Settings().query_embedder == "onnx"
    assert isinstance(get_query_embedder(Settings()), OnnxMiniLM)
    assert get_query_embedder(Settings()) is get_onnx_embedder(Settings())
    numpy = get_query_embedder(Settings(query_embedder="numpy"))
    assert type(numpy) is NumpyMiniLM and numpy is get_numpy_embedder(Settings())
    slow = get_query_embedder(Settings(query_embedder="sentence-transformers"))
    assert type(slow) is Embedder
    monkeypatch.setenv("MRS_ASSIST_QUERY_EMBEDDER", "sentence-transformers")
    assert Settings().query_embedder == "sentence-transformers"


@pytest.mark.integration
def test_retriever_uses_the_onnx_embedder_by_default(real_index):
    assert isinstance(Retriever.from_settings(real_index).embedder, OnnxMiniLM)


@pytest.mark.parametrize("kind", [NumpyMiniLM, OnnxMiniLM])
def test_unsupported_architecture_is_a_config_error(tmp_path, kind):
    source = Settings().model_path
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    for name in ("modules.json", "tokenizer.json", "sentence_bert_config.json",
                 "1_Pooling/config.json"):
        shutil.copy(source / name, folder / name)
    config = json.loads((source / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(ConfigError, match="hidden_act"):
        kind(folder).embed(["anything"])


# --- no torch ------------------------------------------------------------------------------


def _loaded_heavy_modules(code: str, env: dict[str, str] | None = None) -> list[str]:
    """Run code in a fresh interpreter; return which of HEAVY it left in sys.modules."""
    probe = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
        """)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["numpy", "onnx"])
def test_embedding_a_question_imports_no_torch(kind):
    loaded = _loaded_heavy_modules(f"""
        from mrs_assist.config import Settings
        from mrs_assist.index.embed import get_query_embedder
        embedder = get_query_embedder(Settings(query_embedder={kind!r}))
        assert len(embedder.embed(["Does NIA cover MRS?"])[0]) == 384
        """)
    assert loaded == []


@pytest.mark.integration
def test_the_ask_command_imports_no_torch(real_index):
    env = {
        "MRS_ASSIST_CORPUS_DIR": str(real_index.corpus_dir),
        "MRS_ASSIST_DATA_DIR": str(real_index.data_dir),
    }
    # A question the service answers by retrieval (coverage questions may skip it), and
    # proof that it did: the numpy embedder was loaded (a one-question process does not
    # build the onnxruntime graph unless the setting asks for it).
    loaded = _loaded_heavy_modules("""
        import sys
        from mrs_assist.cli import app
        app(["ask", "What are Cohere's non-indications?"], standalone_mode=False)
        assert "mrs_assist.index.embed_numpy" in sys.modules, "the question skipped retrieval"
        assert "mrs_assist.index.embed_onnx" not in sys.modules
        assert "onnxruntime" not in sys.modules
        """, env)
    assert loaded == []
