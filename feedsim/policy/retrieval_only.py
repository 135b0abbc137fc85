"""A feed policy that serves straight from candidate retrieval (stage 1 only, no ranker yet).

It lets the loop run end to end with learned candidates: each day `begin_day` refits every
retrieval source on the recent logs; each request gets the merged candidates, already ordered
by merged score, and the page is their first eligible videos. Day 0 has no logs, so it serves
the popular baseline (and random fill) until there is something to learn from. Every slot's
source tag is the retrieval source that produced it.
"""
from __future__ import annotations

import numpy as np

from feedsim.config.schema import PolicyConfig
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests, eligible, take_first
from feedsim.policy.popular import PopularPolicy
from feedsim.policy.random import fill_random
from feedsim.retrieval.config import RetrievalConfig
from feedsim.retrieval.retriever import Retriever


class RetrievalPolicy(FeedPolicy):
    def __init__(self, ctx: PlatformContext, rng: np.random.Generator, cfg: PolicyConfig,
                 retrieval: RetrievalConfig, device: str = "cpu"):
        super().__init__(ctx, rng)
        seed = int(rng.integers(0, 2**62))
        self.retriever = Retriever(retrieval, ctx, seed, device)
        self.fallback = PopularPolicy(ctx, rng, cfg)
        self.exclude_seen = cfg.exclude_seen
        self.train_days = retrieval.train_days
        n = len(self.retriever.source_names)
        self.source_names = (*self.retriever.source_names, "popular", "random")
        self.popular_source, self.random_source = n, n + 1
        self.ready = False

    def begin_day(self, day: int) -> None:
        log = self.ctx.training_log(self.train_days)
        self.ready = log is not None and len(log) > 0
        if self.ready:
            self.retriever.fit(log)
        else:
            self.fallback.begin_day(day)

    def day_metrics(self) -> dict[str, float]:
        return self.retriever.day_metrics() if self.ready else {}

    def serve(self, requests: Requests) -> Page:
        if not self.ready:
            page = self.fallback.serve(requests)
            return Page(page.video_ids, (page.source + self.popular_source).astype(np.int16),
                        page.propensity, page.score, page.extras)
        users, k = requests.user_ids, self.ctx.page_size
        cands = self.retriever.retrieve(users)                                     # (B, C)
        valid = eligible(self.ctx, users, cands.video_ids, self.exclude_seen)
        picked, cols = take_first(cands.video_ids, valid, k)                       # (B, K)
        safe = np.maximum(cols, 0)
        source = np.where(cols >= 0, np.take_along_axis(cands.source, safe, axis=1),
                          self.random_source).astype(np.int16)
        score = np.where(cols >= 0, np.take_along_axis(cands.scores, safe, axis=1), np.nan)
        propensity = np.ones(picked.shape, dtype=np.float32)
        fill_random(self.ctx, self.rng, requests, picked, source, propensity, self.random_source)
        return Page(picked, source, propensity, score.astype(np.float32))
