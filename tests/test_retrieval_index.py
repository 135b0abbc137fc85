"""The nearest-neighbour index: exact search is exact; faiss HNSW is close to it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from feedsim.retrieval.base import DivergedError
from feedsim.retrieval.config import IndexConfig
from feedsim.retrieval.index import ExactIndex, make_index
from feedsim.retrieval.topk import topk_exact


def vectors(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_index_matches_brute_force_and_pads_short_results():
    items, queries = vectors(3000, 16), vectors(37, 16, seed=1)
    scores, ids = ExactIndex(query_batch=8).build(items).search(queries, 50)
    brute = np.argsort(-(queries @ items.T), axis=1)[:, :50]
    assert np.array_equal(ids, brute)
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ items.T, brute, 1), rtol=1e-5)
    s, i = ExactIndex().build(items[:5]).search(queries, 8)
    assert i.shape == (37, 8) and (i[:, 5:] == -1).all() and np.isinf(s[:, 5:]).all()


def test_faiss_hnsw_recall_at_500_against_exact():
    pytest.importorskip("faiss")
    items, queries = vectors(20_000, 32), vectors(64, 32, seed=2)
    _, exact = ExactIndex().build(items).search(queries, 500)
    hnsw = make_index(IndexConfig(kind="faiss_hnsw"))
    _, approx = hnsw.build(items).search(queries, 500)
    recall = np.mean([np.intersect1d(a, e).size / 500 for a, e in zip(approx, exact)])
    assert recall >= 0.95


@pytest.mark.gpu
def test_exact_index_on_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    items, queries = vectors(5000, 32), vectors(20, 32, seed=3)
    _, cpu = ExactIndex("cpu").build(items).search(queries, 100)
    _, gpu = ExactIndex("cuda").build(items).search(queries, 100)
    assert (cpu == gpu).mean() > 0.99


def test_few_query_and_batched_search_agree():
    """A handful of queries is scored catalogue-major, a batch query-major: both return the
    exact top-k (up to float32 rounding of near-ties), best first."""
    items, queries = vectors(5000, 32), vectors(40, 32, seed=3)
    exact = queries.astype(np.float64) @ items.T.astype(np.float64)                 # (40, 5000)
    best = -np.sort(-exact, axis=1)[:, :300]
    few = ExactIndex(query_batch=4).build(items).search(queries, 300)              # <= 16
    many = ExactIndex(query_batch=40).build(items).search(queries, 300)            # > 16
    for scores, ids in (few, many):
        np.testing.assert_allclose(np.take_along_axis(exact, ids, 1), best, atol=1e-6)
        np.testing.assert_allclose(scores, best, atol=1e-6)
    assert (few[1] == many[1]).mean() > 0.99


@pytest.mark.parametrize("b,n,k", [(40, 5000, 300), (3, 17, 17), (9, 100, 1), (64, 2000, 500)])
def test_compiled_topk_is_exact_with_ties_to_the_lower_column(b, n, k):
    """The threshold selection returns torch.topk's values; among equal scores (rows of a few
    distinct values force the whole-row fallback) the lower column comes first."""
    rng = np.random.default_rng(b + n)
    scores = rng.standard_normal((b, n)).astype(np.float32)
    scores[::3] = rng.integers(0, 4, (len(scores[::3]), n))            # heavy ties
    values, cols = topk_exact(scores, k)
    want = torch.topk(torch.from_numpy(scores), k, dim=1).values.numpy()
    np.testing.assert_array_equal(values, want)
    np.testing.assert_array_equal(np.take_along_axis(scores, cols, axis=1), values)
    for row, col, val in zip(scores, cols, values):
        assert len(set(col.tolist())) == k
        ref = np.argsort(-row, kind="stable")[:k]                 # lower column first on ties
        np.testing.assert_array_equal(col, ref)


def test_non_finite_vectors_or_queries_are_refused_and_an_empty_index_returns_padding():
    items = np.eye(4, dtype=np.float32)
    bad = items.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DivergedError, match="1 of the 4 vectors hold NaN or inf"):
        ExactIndex().build(bad)
    index = ExactIndex().build(items)
    with pytest.raises(DivergedError, match="queries hold NaN or inf"):
        index.search(np.array([[np.inf, 0, 0, 0]], dtype=np.float32), 2)
    scores, ids = ExactIndex().build(np.zeros((0, 4), np.float32)).search(items[:2], 3)
    assert (ids == -1).all() and np.isneginf(scores).all() and ids.shape == (2, 3)
    with pytest.raises(ValueError, match="k=5 must be in 1..4"):
        topk_exact(np.zeros((2, 4), np.float32), 5)
