"""Stage 2 of 5 (ranking): counters as of serving time, computed from the log without leakage.

A training row must see the world as the ranker saw it when the page was served: only rows
logged strictly before it. `asof_sums` gives, for every row, the sum of a value over earlier
rows with the same key, where "earlier" means a strictly smaller `clock` (the request id for
real-time counters, the day for daily aggregates). Rows sharing a key and a clock (the slots of
one page, or one day of a daily pipeline) all see the same value: the state before that clock.
One sort and one cumulative sum; no loop over rows.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs.counters import VALID_PLAY_S
from feedsim.logs.schema import ImpressionBatch

VIDEO_COUNTS = ("impressions", "valid_plays", "completions", "watch_s", "like", "comment",
                "share", "follow", "hate")


def asof_sums(keys: np.ndarray, clock: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the sum of `values` over rows with the same key and a smaller clock.

    keys (N,) int64, clock (N,) int64, values (N, S) float64 -> (N, S) float64.
    """
    n = keys.shape[0]
    out = np.zeros(values.shape, dtype=np.float64)
    if n == 0:
        return out
    order = np.lexsort((clock, keys))                                   # by key, then time
    k, c, v = keys[order], clock[order], values[order].astype(np.float64)
    csum = np.cumsum(v, axis=0) - v                                     # exclusive, global
    new_key = np.r_[True, k[1:] != k[:-1]]
    key_start = np.maximum.accumulate(np.where(new_key, np.arange(n), 0))
    within = csum - csum[key_start]                                     # exclusive, per key
    new_tick = new_key | np.r_[True, c[1:] != c[:-1]]
    tick_start = np.maximum.accumulate(np.where(new_tick, np.arange(n), 0))
    out[order] = within[tick_start]                                     # state before the tick
    return out


def video_increments(log: ImpressionBatch) -> np.ndarray:
    """What each row adds to its video's counters, in VIDEO_COUNTS order. (N, 9) float64"""
    whole = log.watch_s >= log.duration_s
    cols = [np.ones(len(log)), log.watch_s >= np.minimum(VALID_PLAY_S, log.duration_s), whole,
            log.watch_s, log.like, log.comment, log.share, log.follow, log.hate]
    out = np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)   # a bad row adds nothing


def video_counts_asof(log: ImpressionBatch, daily_decay: float,
                      freshness: str = "live") -> np.ndarray:
    """Time-decayed video counters as the ranker read them when the page was served. (N, 9)

    `live`: before the row's request, as `VideoCounters.recent` held them (it decays by
    `daily_decay` at each day end). `daily`: before the row's day, the snapshot a batch feature
    pipeline would publish once a day (ranking.counter_freshness)."""
    day = log.day.astype(np.int64)
    base = int(day.min()) if len(log) else 0
    weight = daily_decay ** -(day - base).astype(np.float64)            # undo later decay
    clock = log.request_id.astype(np.int64) if freshness == "live" else day
    sums = asof_sums(log.video_id.astype(np.int64), clock,
                     video_increments(log) * weight[:, None])
    return sums * (daily_decay ** (day - base).astype(np.float64))[:, None]


def follows_asof(log: ImpressionBatch, follows_now: np.ndarray, creator: np.ndarray,
                 n_creators: int) -> np.ndarray:
    """Whether the user followed the video's creator at the start of the row's day. (N,) bool

    The follow graph merges a day's follows at day end, so the graph now, minus the follows
    logged on the row's day or later, is the graph the ranker saw when serving the row.
    """
    key = log.user_id.astype(np.int64) * n_creators + creator
    later = asof_sums(key, -log.day.astype(np.int64), log.follow[:, None].astype(np.float64))
    same_day = _same_day_follows(key, log)
    return follows_now & (later[:, 0] + same_day == 0)


def _same_day_follows(key: np.ndarray, log: ImpressionBatch) -> np.ndarray:
    """Follows of the same (user, creator) pair logged on the row's own day. (N,)"""
    day = log.day.astype(np.int64)
    pair_day = key * 4096 + (day - day.min())
    uniq, inv = np.unique(pair_day, return_inverse=True)
    return np.bincount(inv, weights=log.follow.astype(np.float64), minlength=uniq.size)[inv]
