"""Stage 1 of 5 (retrieval): trending, videos riding rising engagement of their own, their
sound's and their hashtags'.

From the platform's counters: an entity (video, sound, hashtag) is rising when its decayed
engagement (about the last day) is high against its all-time daily average. A video scores its
own rise plus weighted rises of its sound and first hashtag; each language keeps a pool of the
best recent videos, and every user of that language is offered the head of their pool.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs import ImpressionBatch, VideoCounters
from feedsim.retrieval.base import Candidates, Source, language_pools
from feedsim.retrieval.config import TrendingConfig

ENGAGEMENT = {"valid_plays": 1.0, "like": 3.0, "comment": 4.0, "share": 6.0, "follow": 8.0,
              "hate": -10.0}


def engagement(table: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Weighted engagement per video from a counter table. (n,)"""
    return np.maximum(sum(w * table[k][:n] for k, w in ENGAGEMENT.items()), 0.0)


def rising(recent: np.ndarray, daily_mean: np.ndarray) -> np.ndarray:
    """Activity times acceleration, in logs: log1p(recent) + log((recent+1)/(mean+1))."""
    return np.log1p(recent) + np.log((recent + 1.0) / (daily_mean + 1.0))


def grouped(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of values per key (keys < 0 dropped). (n,)"""
    ok = keys >= 0
    return np.bincount(keys[ok], weights=values[ok], minlength=n)


class TrendingSource(Source):
    name = "trending"

    def __init__(self, view, counters: VideoCounters, cfg: TrendingConfig, source_id: int = 0):
        super().__init__(source_id)
        self.view, self.counters, self.cfg = view, counters, cfg

    def scores(self) -> np.ndarray:
        """Trend score of every video; -inf for old or moderated ones. (V,)"""
        v, n = self.view.videos, self.view.videos.n
        recent = engagement(self.counters.recent, n)
        mean = engagement(self.counters.total, n) / max(self.view.day, 1)
        sound, tag = np.asarray(v.sound, np.int64), np.asarray(v.tags[:, 0], np.int64)
        s_rise = rising(grouped(sound, recent, self.view.n_sounds),
                        grouped(sound, mean, self.view.n_sounds))
        t_rise = rising(grouped(tag, recent, self.view.n_tags), grouped(tag, mean, self.view.n_tags))
        score = rising(recent, mean) + self.cfg.sound_weight * s_rise[sound] \
            + self.cfg.tag_weight * np.where(tag >= 0, t_rise[np.maximum(tag, 0)], 0.0)
        old = v.upload_day < self.view.day - self.cfg.max_age_days
        return np.where(old | v.moderated, -np.inf, score)

    def _fit(self, log: ImpressionBatch) -> None:
        n_lang = int(max(self.view.user_language.max(), self.view.videos.language.max())) + 1
        self.pools, self.pool_scores = language_pools(
            self.scores(), np.asarray(self.view.videos.language), n_lang, self.cfg.pool)

    def refresh(self) -> None:
        """Rebuild the pools from the live counters, mid-day (policy/live.py)."""
        self._fit(None)

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        lang = np.asarray(self.view.user_language[user_ids], np.int64)
        ids = self.pools[lang, :k]                                                 # (B, k')
        return Candidates.from_topk(ids, self.pool_scores[lang, :k], self.source_id)
