"""The popular baseline: what is engaging the platform right now, in the user's language.

Observable data only. Each day the policy ranks the catalogue by time-decayed engagement from
its own counters (valid plays, likes, shares, follows, fewer hates), per language, and serves
each user the next unseen videos of their language's list. Day 0 has no logs, so it ranks by
the creator's follower count and freshness, as a cold platform would. Choices are
deterministic: propensity 1.
"""
from __future__ import annotations

import numpy as np

from feedsim.config.schema import PolicyConfig
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests, eligible, take_first
from feedsim.policy.random import fill_random

WINDOW = 6   # pages of look-ahead per request, to survive the seen filter


def engagement_score(ctx: PlatformContext) -> np.ndarray:
    """Decayed engagement per video; a follower-and-freshness prior before any logs. (V,)"""
    videos = ctx.view.videos
    recent = ctx.counters.recent
    n = videos.n
    logged = (recent["valid_plays"][:n] + 3 * recent["like"][:n] + 6 * recent["share"][:n]
              + 4 * recent["comment"][:n] + 8 * recent["follow"][:n] - 10 * recent["hate"][:n])
    age = ctx.view.day - videos.upload_day
    prior = np.log1p(ctx.view.creator_followers[videos.creator]) - 0.1 * age
    return logged + 1e-3 * prior


class PopularPolicy(FeedPolicy):
    source_names = ("popular", "random")

    def __init__(self, ctx: PlatformContext, rng: np.random.Generator, cfg: PolicyConfig):
        super().__init__(ctx, rng)
        self.pool_size = cfg.popular_pool
        self.exclude_seen = cfg.exclude_seen
        self.pools = np.empty((0, 0), dtype=np.int64)        # (L, P) per language
        self.cursor = np.zeros(ctx.view.n_users, dtype=np.int64)

    def begin_day(self, day: int) -> None:
        videos = self.ctx.view.videos
        score = np.where(videos.moderated, -np.inf, engagement_score(self.ctx))
        n_lang = int(self.ctx.view.user_language.max()) + 1
        pools = []
        for lang in range(n_lang):                  # a loop over a handful of languages
            ids = np.flatnonzero((videos.language == lang) & np.isfinite(score))
            top = ids[np.argsort(-score[ids], kind="stable")[: self.pool_size]]
            pools.append(np.pad(top, (0, self.pool_size - top.size), constant_values=-1))
        self.pools = np.stack(pools)
        self.cursor[:] = 0

    def serve(self, requests: Requests) -> Page:
        users, k = requests.user_ids, self.ctx.page_size
        lang = self.ctx.view.user_language[users]
        cols = (self.cursor[users][:, None] + np.arange(WINDOW * k)) % self.pool_size
        window = self.pools[lang[:, None], cols]                            # (B, W*K)
        valid = eligible(self.ctx, users, window, self.exclude_seen)
        picked, where = take_first(window, valid, k)
        last = where.max(axis=1)
        self.cursor[users] += np.where(last >= 0, last + 1, WINDOW * k)
        source = np.zeros(picked.shape, dtype=np.int16)
        propensity = np.ones(picked.shape, dtype=np.float32)
        fill_random(self.ctx, self.rng, requests, picked, source, propensity, random_source=1)
        score = np.full(picked.shape, np.nan, dtype=np.float32)
        return Page(picked, source, propensity, score)
