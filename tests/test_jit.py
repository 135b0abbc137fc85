"""The compiled loops (feedsim/jit.py) compute what their plain-Python source computes.

Without numba, `njit` leaves each loop as plain Python; these tests run both on small inputs,
so the fallback is the same program, and numba's typing did not change what a loop means.
"""
from __future__ import annotations

import numpy as np
import pytest

from feedsim import jit

pytestmark = pytest.mark.skipif(not jit.AVAILABLE, reason="numba is not installed")


def both(kernel, *args):
    """Run the compiled kernel and its Python source on copies of args; return both args."""
    compiled = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    python = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    kernel(*compiled)
    kernel.py_func(*python)
    return compiled, python


def test_prerank_rows_compiled_and_python_agree():
    from feedsim.policy.prerank import _prerank_rows
    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, (4, 30)).astype(np.float32)
    score[rng.random(score.shape) < 0.2] = -np.inf
    source = rng.integers(-1, 3, (4, 30)).astype(np.int16)
    out = np.empty((4, 6), np.int64)
    compiled, python = both(_prerank_rows, score, source, 2, 6, 3, out)
    assert np.array_equal(compiled[-1], python[-1])


def test_dpp_rows_compiled_and_python_agree():
    from feedsim.rerank.dpp import _greedy_rows, gain_weights
    rng = np.random.default_rng(1)
    feats = rng.standard_normal((3, 10, 4))
    gram = feats @ feats.transpose(0, 2, 1)
    w, product = gain_weights(0.6, rng.random((3, 10)), rng.random((3, 10)) < 0.8, np.float64)
    picks = np.full((3, 6), -1, np.int64)
    compiled, python = both(_greedy_rows, gram, w, product, 0.6, 6, 3, 1e-4, picks)
    assert np.array_equal(compiled[-1], python[-1]) and (compiled[-1] >= 0).any()


def test_follow_and_exposure_loops_compiled_and_python_agree():
    from feedsim.behavior.state import record_rows
    from feedsim.world.follows import FollowGraph, _contains_pairs
    rng = np.random.default_rng(2)
    graph = FollowGraph(50, 20, rng.integers(0, 50, 300), rng.integers(0, 20, 300))
    users, creators = rng.integers(0, 50, 400), rng.integers(0, 20, 400)
    compiled, python = both(_contains_pairs, users, creators, graph._blocks, graph._word,
                            graph._mask, graph.keys, graph.n_creators, np.zeros(400, bool))
    assert np.array_equal(compiled[-1], python[-1]) and compiled[-1].any()
    users = np.array([3, 0, 7, 5, 1])
    cells = users[:, None] * 10 + rng.integers(0, 10, (5, 8))         # (5, 2K) in own rows
    viewed = rng.random((5, 4)) < 0.7
    scale = np.ones(8)
    scale[7] = 1e-13                                                  # folds into the row
    raw = rng.random((8, 10)).astype(np.float32)
    compiled, python = both(record_rows, users, cells, viewed, 0.9 ** np.arange(5), raw, scale,
                            np.zeros(8, np.int32), rng.random((5, 4)).astype(np.float32),
                            rng.random(5).astype(np.float32), np.zeros(8, np.float32),
                            np.zeros(8), np.zeros(8, np.int64))
    for got, want in zip(compiled[4:], python[4:]):
        assert np.array_equal(got, want)
    assert compiled[5][7] == 1.0 and compiled[6].sum() == viewed.sum()
