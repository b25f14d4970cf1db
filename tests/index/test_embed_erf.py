"""The numpy embedder's own kernels: the float32 erf and the BLAS product keep their accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from mrs_assist.index.embed_numpy import _dense, _erf, _gelu


def test_erf_is_within_half_a_micro_of_the_exact_one():
    x = np.linspace(-10, 10, 400_001, dtype=np.float32)
    assert _erf(x).dtype == np.float32
    np.testing.assert_allclose(_erf(x), erf(x.astype(np.float64)), rtol=0, atol=5e-7)


def test_gelu_keeps_its_exact_ends():
    # GELU of large negatives is 0 and of large positives the input itself, as torch's erf GELU.
    x = np.array([-50.0, -8.0, 0.0, 8.0, 50.0], dtype=np.float32)
    np.testing.assert_allclose(_gelu(x), [0.0, 0.0, 0.0, 8.0, 50.0], atol=1e-6)


@pytest.mark.parametrize(("out", "inner", "tokens"), [(1152, 384, 18), (384, 1536, 7), (384, 384, 1)])
def test_dense_is_weight_times_x_c_contiguous(out, inner, tokens):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((out, inner), dtype=np.float32)
    x = rng.standard_normal((inner, tokens), dtype=np.float32)
    got = _dense(weight, x)
    assert got.shape == (out, tokens) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, weight.astype(np.float64) @ x.astype(np.float64), rtol=1e-4, atol=1e-3)


def test_a_forward_pass_runs_on_one_blas_thread_and_restores_the_count(monkeypatch):
    from threadpoolctl import ThreadpoolController

    from mrs_assist.config import Settings
    from mrs_assist.index import embed_numpy

    embed_numpy._sgemm()  # SciPy's BLAS loaded, so the controller sees it
    blas = ThreadpoolController().select(prefix="libscipy_openblas")
    assert blas.info(), "SciPy's OpenBLAS is not loaded"
    seen: list[int] = []
    encode = embed_numpy._encode

    def counting(*args):
        seen.append(blas.info()[0]["num_threads"])
        return encode(*args)

    monkeypatch.setattr(embed_numpy, "_encode", counting)
    with blas.limit(limits=2):
        embed_numpy.NumpyMiniLM(Settings().model_path).embed_array(["Does NIA cover MRS?"])
        after = blas.info()[0]["num_threads"]
    assert seen == [1]
    assert after == 2
