"""The random baseline: every slot is a uniform draw from the eligible catalogue.

It is the floor every learned policy must beat, and the source of unbiased exploration data
(KuaiRand's random-exposure slice is exactly this). Its propensity is 1 / (eligible videos).
"""
from __future__ import annotations

import numpy as np

from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests, eligible, take_first

OVERDRAW = 4


def random_candidates(rng: np.random.Generator, n_videos: int, rows: int, k: int) -> np.ndarray:
    """Uniform video ids, OVERDRAW x k per row, to survive filtering. (rows, OVERDRAW*k)"""
    return rng.integers(0, n_videos, size=(rows, OVERDRAW * k), dtype=np.int64)


def uniform_propensity(ctx: PlatformContext, user_ids: np.ndarray) -> np.ndarray:
    """1 / number of videos a uniform draw chooses from for each user. (B,)"""
    n_ok = ctx.view.videos.n - int(ctx.view.videos.moderated.sum())
    seen = np.minimum(ctx.seen.ptr[user_ids], ctx.seen.window)
    return 1.0 / np.maximum(n_ok - seen, 1)


def fill_random(ctx: PlatformContext, rng: np.random.Generator, requests: Requests,
                picked: np.ndarray, source: np.ndarray, propensity: np.ndarray,
                random_source: int) -> None:
    """Fill slots still -1 in `picked` (B, K) with random eligible videos, in place."""
    missing = (picked < 0).any(axis=1)
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    k = picked.shape[1]
    draws = random_candidates(rng, ctx.view.videos.n, rows.size, k)
    pool = np.concatenate([picked[rows], draws], axis=1)              # keep what was picked
    filled, cols = take_first(pool, eligible(ctx, requests.user_ids[rows], pool), k)
    new = (cols >= k)                                                 # slots filled by draws
    picked[rows] = filled
    source[rows] = np.where(new, random_source, source[rows])
    p = uniform_propensity(ctx, requests.user_ids[rows])[:, None]
    propensity[rows] = np.where(new, p, propensity[rows])


class RandomPolicy(FeedPolicy):
    source_names = ("random",)

    def serve(self, requests: Requests) -> Page:
        b, k = requests.user_ids.shape[0], self.ctx.page_size
        picked = np.full((b, k), -1, dtype=np.int64)
        source = np.zeros((b, k), dtype=np.int16)
        propensity = np.ones((b, k), dtype=np.float32)
        fill_random(self.ctx, self.rng, requests, picked, source, propensity, random_source=0)
        return Page(picked, source, propensity.astype(np.float32),
                    np.full((b, k), np.nan, dtype=np.float32))
