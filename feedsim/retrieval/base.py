"""Stage 1 of 5 (retrieval): the interface every candidate source implements.

A source is fitted on the impression log (and the observable view it was built with), then
retrieves up to `k` candidates for a batch of users at once: a `Candidates` of (B, k) arrays,
-1 where a row ran out. Learned sources share the log helpers here: which impressions count as
positives and how much, and each user's most recent positives.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from feedsim.logs import ImpressionBatch
from feedsim.logs.counters import VALID_PLAY_S

NO_VIDEO = -1
ACTION_WEIGHTS = {"like": 1.0, "comment": 2.0, "share": 3.0, "follow": 5.0}


class RetrievalError(ValueError):
    """Bad input to the retrieval stage; the message names the cause."""


class NotFittedError(RetrievalError):
    """A source was asked to retrieve before `fit`."""


class EmptyLogError(RetrievalError):
    """A source was fitted on no impressions (or no positives)."""


class DivergedError(RuntimeError):
    """A model produced NaN or inf vectors. Not a RetrievalError: a feed may skip a source
    that has too little data yet, but must not serve on with a diverged one; the run stops
    with this one-line message naming the source."""


@dataclass(frozen=True)
class Candidates:
    """Candidates per request: every array is (B, C); video -1 (score -inf) pads short rows."""
    video_ids: np.ndarray   # (B, C) int64
    scores: np.ndarray      # (B, C) float32, higher is better within a source
    source: np.ndarray      # (B, C) int16 index into the retriever's source names

    @property
    def shape(self) -> tuple[int, int]:
        return self.video_ids.shape

    @staticmethod
    def from_topk(video_ids: np.ndarray, scores: np.ndarray, source: int) -> "Candidates":
        scores = np.where(video_ids >= 0, scores, -np.inf).astype(np.float32)
        return Candidates(video_ids.astype(np.int64), scores,
                          np.full(video_ids.shape, source, dtype=np.int16))


class Source(ABC):
    """One candidate source. `source_id` is its index in the retriever's source names."""
    name: str = "source"

    def __init__(self, source_id: int = 0):
        self.source_id = source_id
        self.fitted = False

    @abstractmethod
    def _fit(self, log: ImpressionBatch) -> None:
        """Learn from the log (oldest impression first)."""

    @abstractmethod
    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        """Up to k candidates per user (B,) -> (B, k)."""

    def fit(self, log: ImpressionBatch | None) -> "Source":
        if log is None or len(log) == 0:
            raise EmptyLogError(f"retrieval source {self.name!r}: cannot fit on an empty "
                                "impression log (no days logged yet?)")
        try:
            self._fit(log)
        except DivergedError as exc:
            raise DivergedError(f"retrieval source {self.name!r}: {exc}") from None
        self.fitted = True
        return self

    def retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        if not self.fitted:
            raise NotFittedError(f"retrieval source {self.name!r}: retrieve() called before fit()")
        if k <= 0:
            b = user_ids.shape[0]
            return Candidates.from_topk(np.full((b, 0), NO_VIDEO), np.zeros((b, 0)), self.source_id)
        return self._retrieve(np.asarray(user_ids, dtype=np.int64), k)


WATCH_UNIT_S = 10.0          # watch seconds per unit of weight in `watch="seconds"` weighting


def positive_weights(log: ImpressionBatch, watch: str = "ratio") -> np.ndarray:
    """Engagement weight of each impression: watched share plus actions; 0 if negative. (N,)

    `watch="ratio"`: watch ratio (capped at 2); `watch="seconds"`: watch seconds / 10, so a
    long video watched through weighs what it is worth to the user (the platform's watch-time
    objective) instead of what a 5-second clip watched twice is.
    """
    if watch == "seconds":
        weight = np.asarray(log.watch_s, np.float64) / WATCH_UNIT_S
    elif watch == "ratio":
        ratio = log.watch_s / np.maximum(log.duration_s, 1e-3)
        weight = np.clip(ratio, 0.0, 2.0).astype(np.float64)
    else:
        raise RetrievalError(f"retrieval.two_tower.positive_weight: unknown weighting {watch!r}; "
                             "one of ratio|seconds")
    for name, w in ACTION_WEIGHTS.items():
        weight += w * getattr(log, name)
    valid = log.watch_s >= np.minimum(VALID_PLAY_S, log.duration_s)
    return np.where(valid & ~log.hate, weight, 0.0)


def recent_positives(log: ImpressionBatch, n_users: int, h: int) -> np.ndarray:
    """Each user's last h positive videos, most recent first, -1 padded. (U, h) int64"""
    pos = positive_weights(log) > 0
    users = log.user_id[pos].astype(np.int64)
    videos = log.video_id[pos].astype(np.int64)
    order = np.lexsort((-np.arange(users.size), users))       # by user, newest first
    users, videos = users[order], videos[order]
    starts = np.searchsorted(users, users, side="left")
    rank = np.arange(users.size) - starts                      # 0 = most recent
    keep = rank < h
    out = np.full((n_users, h), NO_VIDEO, dtype=np.int64)
    out[users[keep], rank[keep]] = videos[keep]
    return out


def topk_rows(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (score, id) of each row, best first; ids -1 where scores are -inf. (B, k)"""
    b, m = scores.shape
    if m < k:
        pad = k - m
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=NO_VIDEO)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if scores.shape[1] > k \
        else np.broadcast_to(np.arange(scores.shape[1]), (b, scores.shape[1]))
    top = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    cols = np.take_along_axis(part, order, axis=1)
    best = np.take_along_axis(scores, cols, axis=1)
    vids = np.where(np.isfinite(best), np.take_along_axis(ids, cols, axis=1), NO_VIDEO)
    return best, vids


def language_pools(score: np.ndarray, language: np.ndarray, n_lang: int,
                   pool: int) -> tuple[np.ndarray, np.ndarray]:
    """Per language, the `pool` best videos by score (finite only). (L, P) ids and scores."""
    ids = np.full((n_lang, pool), NO_VIDEO, dtype=np.int64)
    vals = np.full((n_lang, pool), -np.inf, dtype=np.float64)
    finite = np.isfinite(score)
    for lang in range(n_lang):                               # a loop over a handful of languages
        mine = np.flatnonzero((language == lang) & finite)
        top = mine[np.argsort(-score[mine], kind="stable")[:pool]]
        ids[lang, : top.size], vals[lang, : top.size] = top, score[top]
    return ids, vals
