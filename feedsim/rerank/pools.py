"""Stage 4 of 5 (re-ranking): staged traffic pools, the cold-start ladder for new videos.

A new video (at most `max_age_days` old when the platform first sees it) enters stage 0 with a
test audience of `sizes[0]` impressions. When it has used its stage's audience, it is promoted
to the next, larger pool if its observed completion and like rates (all-time counters) are at
least `completion_lift` and `like_lift` times the platform's average; otherwise it leaves the
ladder (RETIRED) and competes on relevance alone. Past the last stage it has GRADUATED.
`TrafficPools.update` is the daily step, from the counters (so a pool can overshoot its audience
by up to a day of traffic); moderated videos are retired at once.

The step reserves slot `slot` of a page: with probability `share`, when the request has
candidates still owed test impressions (valid, not on the page), one of them, uniformly, takes
it with propensity share / n (n such candidates); the exploit video there keeps (1 - share) x
its propensity. Rows without such candidates are unchanged. Exact given the page before it.
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Reason, RerankState, Step, slot_index
from feedsim.rerank.config import TrafficPoolsConfig
from feedsim.rerank.exploration import uniform_permutation
from feedsim.rerank.thompson import platform_rates

RETIRED = -1


def _counts(counters, name: str, n: int) -> np.ndarray:
    """All-time counter `name` for the first n videos, zero past the counters' end. (n,)"""
    col = counters.total[name][:n]
    return np.concatenate([col, np.zeros(n - col.shape[0])]) if col.shape[0] < n else col


class TrafficPools:
    """Per-video stage on the ladder and impressions when it entered the stage."""

    def __init__(self, cfg: TrafficPoolsConfig):
        self.sizes = np.asarray(cfg.sizes, dtype=np.float64)                  # (S,)
        self.graduated = len(cfg.sizes)
        self.completion_lift, self.like_lift = cfg.completion_lift, cfg.like_lift
        self.max_age_days = cfg.max_age_days
        self.stage = np.empty(0, dtype=np.int8)                               # (V,)
        self.entry = np.empty(0, dtype=np.float64)                            # (V,)

    def _admit(self, view, impressions: np.ndarray) -> None:
        """Give videos the ladder has not seen yet their starting stage."""
        old, n = self.stage.shape[0], view.videos.n
        young = (view.day - view.videos.upload_day[old:n]) <= self.max_age_days
        self.stage = np.concatenate([self.stage, np.where(young, 0, RETIRED).astype(np.int8)])
        self.entry = np.concatenate([self.entry, impressions[old:n]])

    def update(self, view, counters) -> dict[str, int]:
        """Admit new videos, then promote or retire those whose test audience is used up."""
        n = view.videos.n
        imp = _counts(counters, "impressions", n)
        self._admit(view, imp)
        active = (self.stage >= 0) & (self.stage < self.graduated)
        quota = self.sizes[np.clip(self.stage, 0, self.graduated - 1)]
        done = active & (imp - self.entry >= quota)
        comp_avg, like_avg = platform_rates(counters)
        seen = np.maximum(imp, 1.0)
        beat = ((_counts(counters, "completions", n) / seen >= self.completion_lift * comp_avg)
                & (_counts(counters, "like", n) / seen >= self.like_lift * like_avg))
        promote, retire = done & beat, (done & ~beat) | (active & view.videos.moderated)
        self.stage[promote] += 1
        self.entry[promote] = imp[promote]
        self.stage[retire] = RETIRED
        return {"promoted": int(promote.sum()), "retired": int(retire.sum()),
                "active": int(((self.stage >= 0) & (self.stage < self.graduated)).sum())}

    def remaining(self, video_ids: np.ndarray, impressions: np.ndarray) -> np.ndarray:
        """Test impressions still owed to each video, 0 off the ladder. (B, C) -> (B, C)"""
        known = (video_ids >= 0) & (video_ids < self.stage.shape[0])
        safe = np.where(known, video_ids, 0)
        stage = np.where(known, self.stage[safe] if self.stage.size else RETIRED, RETIRED)
        active = (stage >= 0) & (stage < self.graduated)
        quota = self.sizes[np.clip(stage, 0, self.graduated - 1)]
        entry = self.entry[safe] if self.entry.size else 0.0
        return np.where(active, np.maximum(quota - (impressions - entry), 0.0), 0.0)


class TrafficPoolStep(Step):
    name = "traffic_pools"

    def __init__(self, cfg: TrafficPoolsConfig):
        self.pools = TrafficPools(cfg)
        self.share, self.slot = cfg.share, cfg.slot

    def begin_day(self, ctx) -> None:
        self.pools.update(ctx.view, ctx.counters)

    def apply(self, state: RerankState) -> None:
        page, s = state.fix_page(), state.slate
        owed = self.pools.remaining(s.candidates, s.impressions) > 0
        boost = state.valid & owed & ~state.on_page()                          # (B, C)
        n = boost.sum(axis=1)
        has = n > 0
        if not has.any():
            return
        pick = uniform_permutation(state.rng, boost, 1)[:, 0]                  # (B,)
        serve = has & (state.rng.random(n.shape[0]) < self.share)
        slot = slot_index(self.slot, state.k)
        new = np.where(serve, pick, page[:, slot])
        state.record(serve[:, None], np.array([slot]), page[:, slot:slot + 1], new[:, None],
                     Reason.EXPLORATION)
        old_p = state.propensity[:, slot]
        state.propensity[:, slot] = np.where(
            serve, self.share / np.maximum(n, 1),
            np.where(has, old_p * (1.0 - self.share), old_p))
        state.explored[:, slot] |= serve
        page[:, slot] = new
