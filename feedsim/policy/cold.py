"""Candidates without learned models: the user's-language popular pool, fresh uploads, random.

A platform on its first day has no logs, so it starts from what needs none: videos ranked by
engagement so far (or creator followers and freshness before any engagement), the newest uploads
in the user's language, and uniform draws. The `ranked` policy always uses these; the `fyp`
policy uses them until its retrieval models have logs to learn from.
"""
from __future__ import annotations

import numpy as np

from feedsim.policy.base import PlatformContext
from feedsim.policy.popular import engagement_score

COLD_SOURCES = ("popular", "fresh", "random")
COLD_SHARES = (0.6, 0.2, 0.2)


def language_pools(ctx: PlatformContext, score: np.ndarray, size: int) -> np.ndarray:
    """Per language, the `size` best unmoderated videos by `score` (-1 padded). (L, size)"""
    videos = ctx.view.videos
    n_lang = int(max(ctx.view.user_language.max(), videos.language.max())) + 1
    pools = np.full((n_lang, size), -1, dtype=np.int64)
    for lang in range(n_lang):                       # a loop over a handful of languages
        ids = np.flatnonzero((videos.language == lang) & ~videos.moderated)
        top = ids[np.argsort(-score[ids], kind="stable")[:size]]
        pools[lang, : top.size] = top
    return pools


class ColdCandidates:
    """Refreshed daily; `draw` gives (B, n) candidates and their index into COLD_SOURCES."""

    def __init__(self, ctx: PlatformContext, pool_size: int):
        self.ctx, self.pool_size = ctx, pool_size
        self.pools: dict[str, np.ndarray] = {}

    def refresh(self) -> None:
        videos = self.ctx.view.videos
        self.pools = {
            "popular": language_pools(self.ctx, engagement_score(self.ctx), self.pool_size),
            "fresh": language_pools(self.ctx, videos.upload_day.astype(np.float64),
                                    max(self.pool_size // 4, 1)),
        }

    def draw(self, rng: np.random.Generator, user_ids: np.ndarray, n: int):
        """(ids (B, n), source (B, n) int16): popular, fresh and random in COLD_SHARES."""
        b = user_ids.shape[0]
        lang = self.ctx.view.user_language[user_ids]
        counts = [int(n * s) for s in COLD_SHARES[:2]]
        counts.append(n - sum(counts))
        parts = []
        for name, k in zip(("popular", "fresh"), counts):
            pool = self.pools[name]
            cols = rng.integers(0, pool.shape[1], size=(b, k))
            parts.append(pool[lang[:, None], cols])                               # (B, k)
        parts.append(rng.integers(0, self.ctx.view.videos.n, size=(b, counts[2])))
        source = np.concatenate([np.full((b, k), i, np.int16) for i, k in enumerate(counts)], 1)
        return np.concatenate(parts, axis=1), source
