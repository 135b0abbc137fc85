"""The feed-policy interface: a batch of page requests in, a batch of pages out.

Every policy (the baselines here, the full For You pipeline later) implements `FeedPolicy`.
It sees the world only through a `PlatformContext`: the observable view, the counters and seen
history derived from its own logs, and the log store. Pages carry, per slot, the video, the
source that produced it, the policy's score and the propensity (the probability that the policy
put that video in that slot), which off-policy evaluation needs.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from feedsim.logs import ImpressionBatch, ImpressionStore, SeenHistory, VideoCounters
from feedsim.world.observable import PlatformView


@dataclass(frozen=True)
class Requests:
    """A batch of page requests, one per user in session this step."""
    user_ids: np.ndarray       # (B,) int64
    request_ids: np.ndarray    # (B,) int64
    hour: np.ndarray           # (B,) int8
    session_index: np.ndarray  # (B,) int32 videos watched in this session so far
    day: int


@dataclass(frozen=True)
class Page:
    """The served pages: K slots per request."""
    video_ids: np.ndarray      # (B, K) int64
    source: np.ndarray         # (B, K) int16 index into the policy's source_names
    propensity: np.ndarray     # (B, K) float32 in (0, 1]
    score: np.ndarray          # (B, K) float32, NaN where the policy has none
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (B, K) float32,
    # logged as extra columns (e.g. each task's prediction `pred_like`)


@dataclass
class PlatformContext:
    """What the platform side may read: observable data and its own logs."""
    view: PlatformView
    counters: VideoCounters
    seen: SeenHistory
    store: ImpressionStore | None
    page_size: int
    recent_logs: dict[int, ImpressionBatch] = field(default_factory=dict)   # day -> log

    def training_log(self, days: int) -> ImpressionBatch | None:
        """The impressions of the last `days` completed days, oldest first, or None."""
        keep = sorted(self.recent_logs)[-days:]
        if not keep:
            return None
        return ImpressionBatch.concat([self.recent_logs[d] for d in keep])


class FeedPolicy(ABC):
    """One feed policy. Subclasses set `source_names` and implement `serve`."""
    source_names: tuple[str, ...] = ("policy",)

    def __init__(self, ctx: PlatformContext, rng: np.random.Generator):
        self.ctx = ctx
        self.rng = rng

    def begin_day(self, day: int) -> None:
        """Called before a day is served: refresh or retrain from the logs so far."""

    def observe(self, batch: ImpressionBatch) -> None:
        """Called with every logged batch of impressions (for streaming updates)."""

    def day_metrics(self) -> dict[str, float]:
        """Metrics of the policy's own day (e.g. offline model metrics), recorded per arm."""
        return {}

    @abstractmethod
    def serve(self, requests: Requests) -> Page:
        """Build one page per request."""


def first_occurrence(candidates: np.ndarray) -> np.ndarray:
    """True where a candidate appears for the first time in its row. (B, C) -> (B, C) bool"""
    order = np.argsort(candidates, axis=1, kind="stable")
    ordered = np.take_along_axis(candidates, order, axis=1)
    repeat = np.zeros(candidates.shape, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], axis=1)
    return ~repeat


def eligible(ctx: PlatformContext, user_ids: np.ndarray, candidates: np.ndarray,
             exclude_seen: bool = True) -> np.ndarray:
    """Candidates that may be served: real, not moderated, not repeated, not already seen."""
    valid = (candidates >= 0) & (candidates < ctx.view.videos.n)
    safe = np.where(valid, candidates, 0)
    valid &= ~ctx.view.videos.moderated[safe] & first_occurrence(candidates)
    if exclude_seen:
        valid &= ~ctx.seen.contains(user_ids, safe)
    return valid


def take_first(candidates: np.ndarray, valid: np.ndarray, k: int):
    """The first k valid candidates of each row, in order.

    Returns (picked (B, k) with -1 where a row ran out, column index (B, k) of each pick).
    """
    never = max(candidates.shape[1], k)                       # a rank no pick can have
    rank = np.where(valid, np.cumsum(valid, axis=1) - 1, never)                # (B, C)
    cols = np.full((candidates.shape[0], k), -1, dtype=np.int64)
    rows, where = np.nonzero(rank < k)
    cols[rows, rank[rows, where]] = where
    picked = np.where(cols >= 0, np.take_along_axis(candidates, np.maximum(cols, 0), axis=1), -1)
    return picked, cols
