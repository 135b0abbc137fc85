"""Ecosystem metrics: who gets the audience, how new and how trendy the feed is.

Computed per day and arm from the day's impressions plus facts only the sandbox knows (which
sounds and hashtags are trending today, the true topic of each video): exposure concentration
(top-1 % creators' share), small-creator and fresh-video exposure, trend capture (daily and by
quarter of the day's requests, `trend_capture_q1`..`q4`), novelty, and the topic entropy of what
users consumed (a low value is a filter bubble; longitudinal.py tracks its narrowing over days).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.logs.schema import ImpressionBatch

SMALL_CREATOR = 100.0      # creators with fewer followers than this at day 0 are "small"
TRENDING = 0.2             # trend strength above which a sound or hashtag counts as trending


@dataclass(frozen=True)
class EcosystemView:
    creator: np.ndarray        # (V,) creator of each video
    upload_day: np.ndarray     # (V,)
    day: int
    small_creator: np.ndarray  # (C,) bool
    trending: np.ndarray       # (V,) bool: on a trending sound or hashtag today
    topic: np.ndarray          # (V,) true main topic


def top_share(counts: np.ndarray, share: float = 0.01) -> float:
    """Share of the total held by the top `share` of entries."""
    total = counts.sum()
    if total <= 0:
        return 0.0
    k = max(int(np.ceil(share * counts.shape[0])), 1)
    return float(np.sort(counts)[-k:].sum() / total)


def day_fraction(request_id: np.ndarray) -> np.ndarray:
    """Share of the day's requests served before each row's request, in [0, 1). (N,)

    Request ids grow with the day loop's time steps, so this is the row's place in the day
    (session start hours are drawn independently of the steps, so `hour` is not)."""
    if request_id.size == 0:
        return np.zeros(0)
    first, last = request_id.min(), request_id.max()
    return (request_id - first) / (last - first + 1)


def by_day_part(values: np.ndarray, request_id: np.ndarray, parts: int = 4) -> np.ndarray:
    """Mean of `values` (N,) over each of `parts` equal slices of the day's requests. (parts,)
    NaN for a slice without rows."""
    part = np.minimum((day_fraction(request_id) * parts).astype(np.int64), parts - 1)
    total = np.bincount(part, weights=values.astype(np.float64), minlength=parts)
    count = np.bincount(part, minlength=parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def topic_entropy_by_user(users: np.ndarray, topics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct users (M,) ascending, the entropy in bits of each one's consumed topics (M,)).
    users, topics (N,): a day of rows, so no sort of them and no widened copy but one key."""
    n_topics = int(topics.max(initial=0)) + 1
    present = np.bincount(users) > 0                                       # ids are dense
    key = (np.cumsum(present) - 1)[users]                  # (N,) the user's rank among present
    key *= n_topics
    key += topics
    counts = np.bincount(key, minlength=int(present.sum()) * n_topics).reshape(-1, n_topics)
    p = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)                 # (M, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0)).sum(axis=1)
    return np.flatnonzero(present), h


def user_topic_entropy(users: np.ndarray, topics: np.ndarray) -> float:
    """Mean over users of the entropy (bits) of their consumed topic distribution."""
    h = topic_entropy_by_user(users, topics)[1]
    return float(h.mean()) if h.size else 0.0


def ecosystem_metrics(log: ImpressionBatch, eco: EcosystemView) -> dict[str, float]:
    if len(log) == 0:
        return {}
    video = log.video_id                   # a day of rows: no per-row float64 temporaries
    creator = eco.creator[video]
    per_creator = np.bincount(creator, minlength=eco.small_creator.shape[0])
    per_video = np.bincount(video)
    shown = per_video[per_video > 0] / len(log)            # each shown video's share
    quarters = by_day_part(eco.trending[video], log.request_id, 4)                 # (4,)
    return {**{f"trend_capture_q{q + 1}": float(v) for q, v in enumerate(quarters)
               if np.isfinite(v)},
        "creator_top1pct_share": top_share(per_creator),
        "small_creator_share": float(eco.small_creator[creator].mean()),
        "fresh_video_share": float((eco.upload_day[video] >= eco.day - 1).mean()),
        "trend_capture": float(eco.trending[video].mean()),
        "novelty": float(np.sum(shown * -np.log2(shown))),   # mean over rows of -log2 share
        "user_topic_entropy": user_topic_entropy(log.user_id, eco.topic[video].astype(np.int64)),
    }
