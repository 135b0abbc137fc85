"""The `ranked` policy: cheap candidates, scored by the multi-task ranker and the value model.

Stages 2 and 3 of 5 without the retrieval stage: each request gathers about
`ranking.candidates` videos from the user's-language popular pool, the freshest uploads of that
language and uniform random draws, filtered by `eligible`. The Ranker scores the (B, C) matrix;
the page is the top K by fused score. Every slot logs each task's prediction (`pred_<task>`)
and the fused score; choices are deterministic given the candidates (propensity 1). The ranker
retrains in `begin_day` from the logs so far; before it has logs (day 0) the policy serves the
candidates in popular order.
"""
from __future__ import annotations

import logging

import numpy as np

from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests, eligible
from feedsim.policy.cold import COLD_SOURCES, ColdCandidates
from feedsim.policy.random import fill_random
from feedsim.ranking.config import RankingConfig
from feedsim.ranking.ranker import Ranker

log = logging.getLogger("feedsim")
SOURCES = COLD_SOURCES
HISTORY_DAYS = 7


class RankedPolicy(FeedPolicy):
    source_names = SOURCES + ("fallback",)

    def __init__(self, ctx: PlatformContext, rng: np.random.Generator, cfg: RankingConfig,
                 device: str, seed: int, pool_size: int = 2000):
        super().__init__(ctx, rng)
        self.ranker = Ranker(cfg, ctx.view, device, seed)
        self.n_cand, self.pool_size = cfg.candidates, pool_size
        self.metrics: dict[int, dict[str, float]] = {}       # day -> offline metrics
        self.cold = ColdCandidates(ctx, pool_size)

    def begin_day(self, day: int) -> None:
        self.cold.refresh()
        history = self.ctx.training_log(HISTORY_DAYS)
        if history is None or len(history) < self.ranker.cfg.train.min_rows:
            return
        self.metrics[day] = self.ranker.fit(history, self.ctx.counters.daily_decay)
        log.info("ranker day %d: %s", day, " ".join(
            f"{k.split('/')[1]}={v:.3f}" for k, v in self.metrics[day].items()
            if k.endswith("/auc")))

    def candidates(self, requests: Requests) -> tuple[np.ndarray, np.ndarray]:
        """(B, C) candidate ids and their source index."""
        return self.cold.draw(self.rng, requests.user_ids, self.n_cand)

    def serve(self, requests: Requests) -> Page:
        users, k = requests.user_ids, self.ctx.page_size
        cand, source = self.candidates(requests)                               # (B, C)
        valid = eligible(self.ctx, users, cand)
        extras: dict[str, np.ndarray] = {}
        if self.ranker.fitted:
            scores = self.ranker.score(users, cand, requests.hour, requests.session_index,
                                       requests.day, self.ctx.counters.recent)
            fused = np.where(valid, scores.score, -np.inf)
        else:
            scores, fused = None, np.where(valid, -np.arange(cand.shape[1], dtype=np.float32),
                                           -np.inf)
        top = np.argsort(-fused, axis=1, kind="stable")[:, :k]                  # (B, K)
        ok = np.isfinite(np.take_along_axis(fused, top, axis=1))
        picked = np.where(ok, np.take_along_axis(cand, top, axis=1), -1)
        src = np.take_along_axis(source, top, axis=1)
        score = np.where(ok, np.take_along_axis(fused, top, axis=1), np.nan).astype(np.float32)
        if scores is not None:
            extras = {f"pred_{t}": np.where(ok, np.take_along_axis(p, top, axis=1), np.nan)
                      .astype(np.float32) for t, p in scores.preds.items()}
        propensity = np.ones(picked.shape, dtype=np.float32)
        fill_random(self.ctx, self.rng, requests, picked, src, propensity,
                    random_source=len(SOURCES))
        return Page(picked, src, propensity, score, extras)
