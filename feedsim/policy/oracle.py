"""The oracle: the policy that knows the truth, the yardstick for regret.

The one declared reader of latent state. For each request it gathers candidates the way an
all-knowing platform would (the best videos by true quality in the user's language and top
interest topics, plus a random slice), scores every candidate with the ground truth's true
value in the user's current state (boredom included), and serves the top K. Every learned
policy is scored against it. Choices are deterministic: propensity 1.
"""
from __future__ import annotations

import numpy as np

from feedsim.config.schema import PolicyConfig
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests, eligible, take_first
from feedsim.policy.random import fill_random, random_candidates

TOP_TOPICS = 3


class OraclePolicy(FeedPolicy):
    source_names = ("oracle", "random")

    def __init__(self, ctx: PlatformContext, rng: np.random.Generator, cfg: PolicyConfig,
                 world, behavior):
        super().__init__(ctx, rng)
        self.world = world              # the declared exception to the observability boundary
        self.behavior = behavior
        self.per_topic = max(cfg.oracle_candidates // (TOP_TOPICS + 1), 1)
        self.exclude_seen = cfg.exclude_seen
        self.pools = np.empty((0, 0, 0), dtype=np.int64)   # (L, T, N) best videos

    def begin_day(self, day: int) -> None:
        videos = self.world.videos
        quality = 0.5 * videos.hook + videos.satisfaction
        quality = np.where(videos.moderated, -np.inf, quality)
        n_lang = int(self.world.users.language.max()) + 1
        n_topics = self.world.cfg.n_topics
        pools = np.full((n_lang, n_topics, self.per_topic), -1, dtype=np.int64)
        key = videos.language.astype(np.int64) * n_topics + videos.topic[:, 0]
        order = np.lexsort((-quality, key))                  # by group, best first
        sorted_key = key[order]
        starts = np.searchsorted(sorted_key, np.arange(n_lang * n_topics))
        ends = np.searchsorted(sorted_key, np.arange(n_lang * n_topics), side="right")
        for group in np.flatnonzero(ends > starts):          # a loop over (language, topic) groups
            best = order[starts[group]:min(ends[group], starts[group] + self.per_topic)]
            pools[group // n_topics, group % n_topics, : best.size] = best
        self.pools = pools

    def candidates(self, user_ids: np.ndarray) -> np.ndarray:
        """(B, C) candidates: top videos of the user's best topics plus a random slice."""
        interest = self.world.users.interest[user_ids]                         # (B, T)
        top = np.argsort(-interest, axis=1)[:, :TOP_TOPICS]                    # (B, 3)
        lang = self.world.users.language[user_ids]
        topical = self.pools[lang[:, None], top].reshape(user_ids.shape[0], -1)
        extra = random_candidates(self.rng, self.world.videos.n, user_ids.shape[0],
                                  max(self.per_topic // 4, 1))
        return np.concatenate([topical, extra], axis=1)

    def serve(self, requests: Requests) -> Page:
        users, k = requests.user_ids, self.ctx.page_size
        cands = self.candidates(users)
        valid = eligible(self.ctx, users, cands, self.exclude_seen)
        value = self.behavior.truth(users, np.maximum(cands, 0)).value          # (B, C)
        order = np.argsort(np.where(valid, -value, np.inf), axis=1, kind="stable")
        ranked = np.take_along_axis(cands, order, axis=1)
        picked, cols = take_first(ranked, np.take_along_axis(valid, order, axis=1), k)
        score = np.where(cols >= 0, np.take_along_axis(
            np.take_along_axis(value, order, axis=1), np.maximum(cols, 0), axis=1), np.nan)
        source = np.zeros(picked.shape, dtype=np.int16)
        propensity = np.ones(picked.shape, dtype=np.float32)
        fill_random(self.ctx, self.rng, requests, picked, source, propensity, random_source=1)
        return Page(picked, source, propensity, score.astype(np.float32))
