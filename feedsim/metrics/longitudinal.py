"""Metrics that need memory across days: how fast new videos find an audience, filter bubbles.

The daily metrics of online.py and ecosystem.py read one day's impressions. Two questions of
the feed span days, so the run keeps one `Longitudinal` tracker (pickled with the checkpoint):

- **Time to a view milestone.** Per arm, every video's cumulative views and the moment it first
  reached `milestone` views (the "time to 1 k views" of the issue; the milestone scales with the
  world: `loop.views_milestone_per_user` x users, 1 000 in the 10 k-user default world). The
  moment is the day plus the share of that day's requests served before the crossing view.
  Daily: `new_video_days_to_milestone`, the median age in days at the crossing of the new
  videos (uploaded during the run, upload day >= 1) that crossed today; and
  `new_video_milestone_share`, the share of the videos uploaded MILESTONE_WINDOW_DAYS - 1 days
  ago that reached it within their first MILESTONE_WINDOW_DAYS days.
- **Filter bubble.** `filter_bubble` = 1 - mean over today's users of H(today) / H(first day),
  the entropy of the true topics a user consumed today over that of their first active day of
  the run (users whose first day was earlier and had H > 0). 0: no narrowing; 1: one topic left;
  below 0 (unbounded): users consume more topics than on their first day.
  It reads the world's latent main topic of each video: a sandbox metric, not a platform one.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs.schema import ImpressionBatch
from feedsim.metrics.ecosystem import EcosystemView, topic_entropy_by_user

MILESTONE_WINDOW_DAYS = 3


class Longitudinal:
    """Cross-day state for the milestone and filter-bubble metrics, per arm."""

    def __init__(self, n_arms: int, n_users: int, milestone: float):
        self.milestone = float(milestone)
        self.views = [np.zeros(0) for _ in range(n_arms)]              # arm -> (V,)
        self.reached = [np.zeros(0) for _ in range(n_arms)]            # arm -> (V,) time or NaN
        self.first_entropy = np.full(n_users, np.nan)                  # (U,) bits
        self.first_day = np.full(n_users, -1, dtype=np.int64)          # (U,)

    def _grow(self, arm: int, n_videos: int) -> None:
        extra = n_videos - self.views[arm].shape[0]
        if extra > 0:
            self.views[arm] = np.concatenate([self.views[arm], np.zeros(extra)])
            self.reached[arm] = np.concatenate([self.reached[arm], np.full(extra, np.nan)])

    def _count_views(self, arm: int, log: ImpressionBatch, day: int, n_videos: int) -> None:
        """Add the day's views and stamp each video's milestone crossing time."""
        self._grow(arm, n_videos)
        video, rid = log.video_id, log.request_id         # a day of rows: no widened copies
        order = np.lexsort((rid, video))                                 # by video, then time
        v = video[order]
        start = np.r_[True, v[1:] != v[:-1]]
        first_row = np.maximum.accumulate(np.where(start, np.arange(v.size), 0))
        running = self.views[arm][v] + np.arange(v.size) - first_row + 1  # views after each row
        cross = (running >= self.milestone) & (running - 1 < self.milestone)
        crossed = order[cross]                                           # their rows in log
        first, last = rid.min(), rid.max()                               # as day_fraction
        self.reached[arm][v[cross]] = day + (rid[crossed] - first) / (last - first + 1)
        self.views[arm] += np.bincount(video, minlength=self.views[arm].shape[0])

    def _milestone_metrics(self, arm: int, day: int, upload_day: np.ndarray) -> dict[str, float]:
        reached = self.reached[arm]
        up = upload_day[:reached.shape[0]].astype(np.float64)
        out = {}
        today = (np.floor(reached) == day) & (up >= 1)
        if today.any():
            out["new_video_days_to_milestone"] = float(np.median(reached[today] - up[today]))
        cohort = up == day - MILESTONE_WINDOW_DAYS + 1
        if day - MILESTONE_WINDOW_DAYS + 1 >= 1 and cohort.any():
            out["new_video_milestone_share"] = float(np.isfinite(reached[cohort]).mean())
        return out

    def _filter_bubble(self, log: ImpressionBatch, day: int, topic: np.ndarray) -> dict:
        users, h = topic_entropy_by_user(log.user_id, topic[log.video_id])
        new = self.first_day[users] < 0
        self.first_day[users[new]], self.first_entropy[users[new]] = day, h[new]
        base = self.first_entropy[users]
        keep = (self.first_day[users] < day) & (base > 0)
        if not keep.any():
            return {}
        return {"filter_bubble": float(1.0 - np.mean(h[keep] / base[keep]))}

    def day_metrics(self, arm: int, log: ImpressionBatch, eco: EcosystemView,
                    n_videos: int) -> dict[str, float]:
        """Fold one arm's day into the state and return its metrics."""
        if len(log) == 0:
            return {}
        self._count_views(arm, log, eco.day, n_videos)
        return {**self._milestone_metrics(arm, eco.day, eco.upload_day),
                **self._filter_bubble(log, eco.day, eco.topic)}
