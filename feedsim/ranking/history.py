"""Stage 2 of 5 (ranking): the user's past, aggregated by a daily batch pipeline.

User aggregates (activity, engagement rates) and user x video crosses (past engagement with the
video's creator, sound and hashtags) are recomputed once a day from the logs of completed days,
as a production daily feature job would be. Training rows get the same aggregates as of the
start of their own day (`asof_user_stats`); serving reads `UserHistory`, built from all logs
before today. The two are equal by construction, and a test holds them to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from feedsim.logs.schema import ImpressionBatch
from feedsim.metrics.online import SKIP_S
from feedsim.ranking.asof import asof_sums

USER_COUNTS = ("impressions", "watch_ratio", "like", "comment", "share", "follow", "skip", "hate")
CROSS_COUNTS = ("impressions", "watch_ratio", "engaged")
MAX_RATIO = 2.0
# Below this many keys a lookup binary-searches the sorted keys: the hash index costs about
# 0.2 ms a call in pandas' wrapping alone, the whole lookup at the day's tail steps.
FEW_KEYS = 2048


@dataclass
class UserStats:
    """Aggregates for N (row or candidate) pairs, as of the start of their day."""
    user: np.ndarray      # (N, 8) USER_COUNTS
    creator: np.ndarray   # (N, 3) CROSS_COUNTS for (user, video's creator)
    sound: np.ndarray     # (N, 3) CROSS_COUNTS for (user, video's sound)
    tags: np.ndarray      # (N, 3) CROSS_COUNTS summed over the video's hashtags


def user_increments(log: ImpressionBatch) -> np.ndarray:
    """What each row adds to its user's aggregates, USER_COUNTS order. (N, 8) float64"""
    ratio = np.minimum(log.watch_s / np.maximum(log.duration_s, 1e-3), MAX_RATIO)
    skip = (log.watch_s < SKIP_S) & (log.watch_s < log.duration_s)
    cols = [np.ones(len(log)), ratio, log.like, log.comment, log.share, log.follow, skip, log.hate]
    out = np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)   # a bad row adds nothing


def cross_increments(log: ImpressionBatch) -> np.ndarray:
    """What each row adds to a user x (creator|sound|tag) cross, CROSS_COUNTS order. (N, 3)"""
    u = user_increments(log)
    engaged = (log.like | log.comment | log.share | log.follow).astype(np.float64)
    return np.stack([u[:, 0], u[:, 1], engaged], axis=1)


def cross_keys(view, user: np.ndarray, video: np.ndarray) -> dict[str, np.ndarray]:
    """Integer keys of each (user, creator|sound|tag slot) pair; -1 where a tag is absent."""
    user = user.astype(np.int64)
    tags = view.videos.tags[video].astype(np.int64)                     # (..., 2)
    tag_key = np.where(tags >= 0, user[..., None] * view.n_tags + tags, -1)
    return {"creator": user * view.n_creators + view.videos.creator[video],
            "sound": user * view.n_sounds + view.videos.sound[video],
            "tag0": tag_key[..., 0], "tag1": tag_key[..., 1]}


def asof_user_stats(log: ImpressionBatch, view) -> UserStats:
    """Training rows' aggregates from earlier days of `log` only (clock = day). No leakage."""
    day = log.day.astype(np.int64)
    keys = cross_keys(view, log.user_id, log.video_id.astype(np.int64))
    inc = cross_increments(log)
    cross = {name: asof_sums(keys[name], day, inc) for name in ("creator", "sound")}
    n = len(log)                                  # a tag counts whichever slot it sat in
    tag_keys = np.concatenate([keys["tag0"], keys["tag1"]])                 # (2N,)
    both = asof_sums(tag_keys, np.concatenate([day, day]), np.concatenate([inc, inc]))
    both[tag_keys < 0] = 0.0
    return UserStats(asof_sums(log.user_id.astype(np.int64), day, user_increments(log)),
                     cross["creator"], cross["sound"], both[:n] + both[n:])


class SparseSums:
    """Sums of (K, S) values by int64 key; absent keys read as zeros.

    Lookups go through a hash index (pandas' `Index.get_indexer`): serving asks for about a
    million keys a day among as many, where a binary search costs 4x more."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        keep = keys >= 0
        self.keys, inv = np.unique(keys[keep], return_inverse=True)
        self.values = np.zeros((self.keys.size + 1, values.shape[1]))       # last row: absent
        np.add.at(self.values, inv, values[keep])
        self.index = pd.Index(self.keys)

    def __getstate__(self) -> dict:
        """Checkpoints keep the keys and sums; the hash index is rebuilt on loading."""
        return {"keys": self.keys, "values": self.values}

    def __setstate__(self, state: dict) -> None:
        self.keys, self.values = state["keys"], state["values"]
        if self.values.shape[0] == self.keys.size:          # a checkpoint from before the
            self.values = np.concatenate([self.values,     # absent row: add it
                                          np.zeros((1, self.values.shape[1]))])
        self.index = pd.Index(self.keys)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Values of each key; any key shape (...) -> (..., S)."""
        flat = keys.reshape(-1)
        if self.keys.size == 0:
            pos = np.full(flat.shape, -1)
        elif flat.size < FEW_KEYS:               # pandas' per-call cost exceeds the search
            pos = np.minimum(np.searchsorted(self.keys, flat), self.keys.size - 1)
            pos = np.where(self.keys[pos] == flat, pos, -1)
        else:
            pos = self.index.get_indexer(flat)                                # -1: absent
        return self.values[pos.reshape(keys.shape)]


class UserHistory:
    """Serving-side aggregates of every user from the logs of completed days."""

    def __init__(self, view, log: ImpressionBatch | None):
        self.view = view
        if log is None or len(log) == 0:
            log = None
        n_users = view.n_users
        self.user = np.zeros((n_users, len(USER_COUNTS)))
        empty = (np.empty(0, np.int64), np.zeros((0, len(CROSS_COUNTS))))
        self.cross = {name: SparseSums(*empty) for name in ("creator", "sound", "tag")}
        if log is None:
            return
        np.add.at(self.user, log.user_id.astype(np.int64), user_increments(log))
        keys = cross_keys(view, log.user_id, log.video_id.astype(np.int64))
        inc = cross_increments(log)
        self.cross["creator"] = SparseSums(keys["creator"], inc)
        self.cross["sound"] = SparseSums(keys["sound"], inc)
        self.cross["tag"] = SparseSums(np.concatenate([keys["tag0"], keys["tag1"]]),
                                       np.concatenate([inc, inc]))

    def lookup(self, user: np.ndarray, video: np.ndarray) -> UserStats:
        """Aggregates for pairs: user (N,) and video (N,) flat arrays."""
        keys = cross_keys(self.view, user, video.astype(np.int64))
        tags = self.cross["tag"].lookup(np.stack([keys["tag0"], keys["tag1"]])).sum(axis=0)
        return UserStats(self.user[user.astype(np.int64)],
                         self.cross["creator"].lookup(keys["creator"]),
                         self.cross["sound"].lookup(keys["sound"]), tags)
