"""Stage 4 of 5 (re-ranking): synthetic slates, for property tests and benchmarks.

`random_slate` builds a Slate without a world: random relevance, embeddings drawn around a few
clusters, and metadata (creators, sounds, languages, moderation, seen) drawn from small ranges
so that the rules have conflicts to resolve. `unique_tail` candidates at the end of each row get
creators and sounds of their own and are never moderated, seen or foreign, which guarantees the
rules a feasible page whenever unique_tail >= 2 K. `bench_dpp` times the DPP alone.
"""
from __future__ import annotations

import time

import numpy as np

from feedsim.rerank.base import Slate, unit_relevance

UNIQUE_BASE = 1_000_000   # creator and sound ids of the unique tail start here


def _clustered(rng: np.random.Generator, b: int, c: int, d: int, clusters: int) -> np.ndarray:
    """Embeddings near one of `clusters` random centres per candidate. (B, C, D) float32"""
    centres = rng.standard_normal((clusters, d))
    which = rng.integers(0, clusters, size=(b, c))
    return (centres[which] + 0.3 * rng.standard_normal((b, c, d))).astype(np.float32)


def random_slate(rng: np.random.Generator, b: int = 8, c: int = 40, d: int = 8,
                 n_creators: int = 5, n_sounds: int = 5, moderated: float = 0.1,
                 seen: float = 0.1, foreign: float = 0.0, unique_tail: int = 0,
                 history: int = 1, clusters: int = 4, embeddings: bool = True,
                 fresh: float = 0.5) -> Slate:
    """A random Slate of B requests x C candidates (see the module docstring)."""
    cand = np.stack([rng.permutation(10 * c)[:c] for _ in range(b)]).astype(np.int64)
    head = np.arange(c) < c - unique_tail                                     # (C,)
    tail_ids = UNIQUE_BASE + np.arange(b * c).reshape(b, c)
    creator = np.where(head, rng.integers(0, n_creators, (b, c)), tail_ids)
    sound = np.where(head, rng.integers(0, n_sounds, (b, c)), tail_ids)
    imp = rng.integers(0, 300, (b, c)).astype(np.float64)
    return Slate(
        user_ids=np.arange(b, dtype=np.int64), candidates=cand,
        score=rng.standard_normal((b, c)).astype(np.float32),
        source=rng.integers(0, 3, (b, c)).astype(np.int16),
        embeddings=_clustered(rng, b, c, d, clusters) if embeddings else None,
        creator=creator, sound=sound,
        tags=np.stack([rng.integers(0, 6, (b, c)), np.full((b, c), -1)], axis=2),
        language=np.where(head & (rng.random((b, c)) < foreign), 2, 1),
        market=np.ones((b, c), dtype=np.int64),
        age_days=np.where(rng.random((b, c)) < fresh, rng.integers(0, 3, (b, c)), 30),
        moderated=head & (rng.random((b, c)) < moderated),
        seen=head & (rng.random((b, c)) < seen),
        impressions=imp, completions=np.floor(imp * rng.random((b, c)) * 0.6),
        likes=np.floor(imp * rng.random((b, c)) * 0.1),
        user_language=np.ones(b, dtype=np.int64), user_market=np.ones(b, dtype=np.int64),
        recent_creator=rng.integers(0, n_creators, (b, history)),
        recent_sound=rng.integers(0, n_sounds, (b, history)), n_tags=6)


def bench_dpp(b: int = 1000, c: int = 200, k: int = 6, d: int = 32, theta: float = 0.7,
              window: int = 0, repeats: int = 5, seed: int = 0) -> dict[str, float]:
    """Median seconds of the similarity features and of the greedy DPP, over `repeats` runs."""
    from feedsim.rerank.dpp import dpp_greedy
    from feedsim.rerank.slate import similarity_features

    rng = np.random.default_rng(seed)
    slate = random_slate(rng, b=b, c=c, d=d, history=0)
    valid = slate.base_valid
    feats_s, dpp_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        feats = similarity_features(slate)
        t1 = time.perf_counter()
        dpp_greedy(feats, unit_relevance(slate.score, valid), valid, k, theta, window)
        feats_s.append(t1 - t0)
        dpp_s.append(time.perf_counter() - t1)
    return {"features_s": float(np.median(feats_s)), "dpp_s": float(np.median(dpp_s))}
