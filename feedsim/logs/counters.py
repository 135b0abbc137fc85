"""Per-video counters derived from the log: the platform's running statistics of its catalogue.

Views, likes, shares and the rest, both all-time and exponentially time-decayed (with a
half-life in days), updated from each batch of impressions as it is logged, so the counters at
any moment use only impressions that already happened: a ranker reading them never sees the
future. They feed the popular baseline, trending retrieval and the ranker's video features.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs.schema import ImpressionBatch

VALID_PLAY_S = 7.0
COUNTS = ("impressions", "valid_plays", "completions", "watch_s", "like", "comment", "share",
          "follow", "hate")
SPARSE_BELOW = 8         # a batch of fewer than 1/8 impressions per catalogue video: sparse sums


class VideoCounters:
    """All-time and decayed counts per video id; arrays grow with the catalogue."""

    def __init__(self, n_videos: int, halflife_days: float = 1.0):
        self.total = {name: np.zeros(n_videos, dtype=np.float64) for name in COUNTS}
        self.recent = {name: np.zeros(n_videos, dtype=np.float64) for name in COUNTS}
        self.daily_decay = 0.5 ** (1.0 / halflife_days)

    @property
    def n(self) -> int:
        return self.total["impressions"].shape[0]

    def grow(self, n_videos: int) -> None:
        for table in (self.total, self.recent):
            for name, col in table.items():
                if col.shape[0] < n_videos:
                    table[name] = np.concatenate([col, np.zeros(n_videos - col.shape[0])])

    def observe(self, batch: ImpressionBatch) -> None:
        """Add a batch of logged impressions. A small batch is summed over its distinct
        videos only (one sort), not over the whole catalogue: the same sums, in the same order,
        so the counters are bit-identical either way."""
        vids = batch.video_id.astype(np.int64)
        if vids.size * SPARSE_BELOW < self.n:
            where, vids = np.unique(vids, return_inverse=True)
            size = where.size
        else:
            where, size = slice(None), self.n
        increments = {
            "impressions": None,
            "valid_plays": batch.watch_s >= np.minimum(VALID_PLAY_S, batch.duration_s),
            "completions": batch.watch_s >= batch.duration_s,
            "watch_s": batch.watch_s,
            **{name: getattr(batch, name) for name in ("like", "comment", "share", "follow", "hate")},
        }
        for name, weight in increments.items():
            w = None if weight is None else weight.astype(np.float64)
            add = np.bincount(vids, weights=w, minlength=size)
            self.total[name][where] += add
            self.recent[name][where] += add

    def end_day(self) -> None:
        for col in self.recent.values():
            col *= self.daily_decay

    def rate(self, name: str, recent: bool = False, prior: float = 0.0,
             prior_strength: float = 10.0) -> np.ndarray:
        """Smoothed rate of `name` per impression: (count + prior*s) / (impressions + s). (V,)"""
        table = self.recent if recent else self.total
        return (table[name] + prior * prior_strength) / (table["impressions"] + prior_strength)
