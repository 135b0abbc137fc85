"""The DPP and MMR diversity steps: exactness of the fast greedy, and the relevance knob."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from feedsim.rerank.base import unit_relevance
from feedsim.rerank.config import DPPConfig, MMRConfig, RerankConfig
from feedsim.rerank.dpp import dpp_greedy
from feedsim.rerank.mmr import mmr_greedy
from feedsim.rerank.pipeline import Reranker
from feedsim.rerank.slate import similarity_features
from feedsim.rerank.synthetic import random_slate

JITTER = 1e-4


def kernel(feats: np.ndarray) -> np.ndarray:
    """S = F F^T + jitter I for one request. (C, C)"""
    return feats @ feats.T + JITTER * np.eye(feats.shape[0])


def naive_greedy(feats, rel, valid, n, theta, window=0):
    """Greedy MAP by explicit log-determinants, one request at a time."""
    s = kernel(feats)
    picks: list[int] = []
    for _ in range(n):
        ctx = picks[-(window - 1):] if 0 < window <= len(picks) + 1 else picks
        ctx = [] if window == 1 else ctx
        best, best_gain = -1, -np.inf
        for i in np.flatnonzero(valid):
            if i in picks:
                continue
            idx = ctx + [i]
            gain = theta * rel[i] + (1 - theta) * np.linalg.slogdet(s[np.ix_(idx, idx)])[1]
            if gain > best_gain:
                best, best_gain = i, gain
        picks.append(best)
    return picks


def logdet(feats, picks):
    s = kernel(feats)
    return np.linalg.slogdet(s[np.ix_(picks, picks)])[1]


def features(rng, b, c, d):
    """Float64 features of random norms (so that no two gains tie). (B, C, D)"""
    return rng.standard_normal((b, c, d)) * rng.uniform(0.5, 1.0, (b, c, 1)) / np.sqrt(d)


@pytest.mark.parametrize("theta", [0.0, 0.3, 0.7, 0.95])
@pytest.mark.parametrize("window", [0, 3])
def test_fast_greedy_equals_naive_greedy(theta, window):
    rng = np.random.default_rng(int(theta * 100) + window)
    b, c, n = 6, 9, 5
    feats = features(rng, b, c, 7)
    rel = rng.random((b, c))
    valid = rng.random((b, c)) < 0.85
    picks = dpp_greedy(feats, rel, valid, n, theta, window, JITTER)
    for r in range(b):
        expect = naive_greedy(feats[r], rel[r], valid[r], min(n, valid[r].sum()), theta, window)
        got = [int(p) for p in picks[r] if p >= 0]
        assert got == expect
        if window == 0:
            assert logdet(feats[r], got) == pytest.approx(logdet(feats[r], expect), abs=1e-9)


def test_greedy_finds_brute_force_map_on_clustered_kernel():
    # Three orthogonal clusters of near-copies: the MAP of size 3 takes one from each.
    rng = np.random.default_rng(3)
    centres = np.eye(3)
    which = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    e = centres[which] + 0.05 * rng.standard_normal((8, 3))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    feats = (np.concatenate([e, np.ones((8, 1))], axis=1) / np.sqrt(2.0))[None]
    picks = dpp_greedy(feats, np.zeros((1, 8)), np.ones((1, 8), bool), 3, 0.0, 0, JITTER)[0]
    best = max(itertools.combinations(range(8), 3), key=lambda y: logdet(feats[0], list(y)))
    assert sorted(which[picks]) == [0, 1, 2]
    assert logdet(feats[0], list(picks)) == pytest.approx(logdet(feats[0], list(best)), abs=1e-9)


def _reranker(step: str, **knobs) -> Reranker:
    cfg = RerankConfig(steps=["moderation", step], history=0)
    if step == "dpp":
        cfg.dpp = DPPConfig(length=6, window=0, **knobs)
    else:
        cfg.mmr = MMRConfig(length=6, **knobs)
    return Reranker(cfg, page_size=6)


@pytest.mark.parametrize("step,knob", [("dpp", "theta"), ("mmr", "lam")])
def test_pure_relevance_reproduces_score_order(step, knob):
    rng = np.random.default_rng(1)
    slate = random_slate(rng, b=50, c=30, moderated=0.0, seen=0.0, history=0)
    res = _reranker(step, **{knob: 1.0}).rerank(slate, rng)
    expect = np.argsort(-slate.score, axis=1, kind="stable")[:, :6]
    np.testing.assert_array_equal(res.columns, expect)


def mean_page_similarity(slate, columns) -> float:
    feats = similarity_features(slate)                                       # (B, C, D)
    page = np.take_along_axis(feats, columns[:, :, None], axis=1)            # (B, K, D)
    sim = np.einsum("bkd,bjd->bkj", page, page)
    k = columns.shape[1]
    return float(sim[:, ~np.eye(k, dtype=bool)].mean())


@pytest.mark.parametrize("step,knob", [("dpp", "theta"), ("mmr", "lam")])
def test_lower_knob_lowers_page_similarity(step, knob):
    rng = np.random.default_rng(2)
    slate = random_slate(rng, b=200, c=60, moderated=0.0, seen=0.0, history=0, clusters=5)
    sims, rel = [], []
    for value in (1.0, 0.6, 0.3, 0.0):
        res = _reranker(step, **{knob: value}).rerank(slate, np.random.default_rng(0))
        sims.append(mean_page_similarity(slate, res.columns))
        rel.append(float(res.score.mean()))
    assert all(a > b for a, b in zip(sims, sims[1:])), sims
    assert rel[0] > rel[-1]          # diversity costs relevance


def test_mmr_matches_naive_loop():
    rng = np.random.default_rng(4)
    b, c, n, lam = 5, 10, 4, 0.6
    e = features(rng, b, c, 3)
    e /= np.linalg.norm(e, axis=2, keepdims=True)
    feats = np.concatenate([e, np.ones((b, c, 1))], axis=2) / np.sqrt(2.0)   # sims in [0, 1]
    rel = unit_relevance(rng.standard_normal((b, c)), np.ones((b, c), bool))
    picks = mmr_greedy(feats, rel, np.ones((b, c), bool), n, lam)
    for r in range(b):
        chosen: list[int] = []
        for _ in range(n):
            sims = [max((feats[r, i] @ feats[r, j] for j in chosen), default=0.0)
                    for i in range(c)]
            gain = [lam * rel[r, i] - (1 - lam) * sims[i] if i not in chosen else -np.inf
                    for i in range(c)]
            chosen.append(int(np.argmax(gain)))
        assert list(picks[r]) == chosen


def test_metadata_fallback_separates_creators_and_tags():
    rng = np.random.default_rng(5)
    slate = random_slate(rng, b=2, c=10, embeddings=False, history=0)
    feats = similarity_features(slate)
    assert feats.shape == (2, 10, slate.n_tags + 16 + 16 + 1)
    sim = np.einsum("bcd,bed->bce", feats, feats)
    np.testing.assert_allclose(np.diagonal(sim, axis1=1, axis2=2), 1.0, rtol=1e-6)
    same = (slate.creator[:, :, None] == slate.creator[:, None, :]) \
        & (slate.sound[:, :, None] == slate.sound[:, None, :]) \
        & (slate.tags[:, :, None, 0] == slate.tags[:, None, :, 0])
    assert np.allclose(sim[same], 1.0, atol=1e-6)
    assert (sim[~same] < 1.0 - 1e-3).all()
