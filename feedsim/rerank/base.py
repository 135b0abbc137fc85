"""Stage 4 of 5 (re-ranking): the data every re-ranking step reads and the state it edits.

Fusion hands re-ranking a `Slate`: per request, C candidates with one fused relevance score,
their retrieval source, optional video embeddings, and the observable metadata the steps need,
fetched once. Steps run in config order on a shared `RerankState`:

- filters clear `valid` (moderation, seen, locale);
- orderings rewrite `order`, a ranking of the candidate columns (DPP, MMR, the rules);
- explorers fix the page (the first K valid columns of `order`) and replace some of its slots
  with sampled videos, multiplying in the probabilities they sampled with.

Every move that changes what a user would have seen is appended to the trace with a reason
code, for the "why am I seeing this" explain view.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from feedsim.policy.base import first_occurrence, take_first


class Reason(IntEnum):
    SAME_CREATOR = 0
    SAME_SOUND = 1
    CREATOR_CAP = 2
    DIVERSITY = 3
    EXPLORATION = 4
    MODERATION = 5
    SEEN = 6
    LOCALE = 7


REASON_NAMES = tuple(r.name.lower() for r in Reason)


@dataclass(frozen=True)
class Slate:
    """Re-ranking input, batched over B requests of C candidates (video id -1 pads)."""
    user_ids: np.ndarray            # (B,) int64
    candidates: np.ndarray          # (B, C) int64
    score: np.ndarray               # (B, C) float32 fused relevance
    source: np.ndarray              # (B, C) int16
    embeddings: np.ndarray | None   # (B, C, D) float32, or None: a metadata fallback is used
    creator: np.ndarray             # (B, C) int64, -1 on padding
    sound: np.ndarray               # (B, C) int64, -1 on padding
    tags: np.ndarray                # (B, C, 2) int64, -1 for none
    language: np.ndarray            # (B, C) int64
    market: np.ndarray              # (B, C) int64 the creator's market
    age_days: np.ndarray            # (B, C) int64 days since upload
    moderated: np.ndarray           # (B, C) bool
    seen: np.ndarray                # (B, C) bool already served to this user
    impressions: np.ndarray         # (B, C) float64 all-time counters
    completions: np.ndarray         # (B, C) float64
    likes: np.ndarray               # (B, C) float64
    user_language: np.ndarray       # (B,) int64
    user_market: np.ndarray         # (B,) int64
    recent_creator: np.ndarray      # (B, H) creators of the last H served videos, oldest first
    recent_sound: np.ndarray        # (B, H)
    n_tags: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.candidates.shape

    @property
    def base_valid(self) -> np.ndarray:
        """Real candidates, each video once per row. (B, C) bool"""
        return (self.candidates >= 0) & first_occurrence(self.candidates)


@dataclass(frozen=True)
class Trace:
    """Moves made while re-ranking: request row, page slot, the video moved out of the slot
    (or filtered out of it), the video that took the slot (-1 if none) and a Reason code."""
    row: np.ndarray      # (M,) int64
    slot: np.ndarray     # (M,) int64
    video: np.ndarray    # (M,) int64
    by: np.ndarray       # (M,) int64
    reason: np.ndarray   # (M,) int8

    def for_row(self, row: int) -> list[tuple[int, int, int, str]]:
        """(slot, video, by, reason name) of one request, in the order the moves were made."""
        keep = np.flatnonzero(self.row == row)
        return [(int(self.slot[i]), int(self.video[i]), int(self.by[i]),
                 REASON_NAMES[self.reason[i]]) for i in keep]


class RerankState:
    """What the steps share while one slate is re-ranked."""

    def __init__(self, slate: Slate, k: int, rng: np.random.Generator, features,
                 tracing: bool = True):
        b, c = slate.shape
        self.slate, self.k, self.rng, self.tracing = slate, k, rng, tracing
        self.rows = np.arange(b)
        self.valid = slate.base_valid                                      # (B, C)
        self.order = np.argsort(-np.where(self.valid, slate.score, -np.inf), axis=1,
                                kind="stable")                             # (B, C) columns
        self.page: np.ndarray | None = None                                # (B, K) columns
        self.propensity = np.ones((b, k), dtype=np.float64)               # (B, K)
        self.explored = np.zeros((b, k), dtype=bool)                       # (B, K)
        self.constraints: list = []
        self._features_fn, self._features = features, None
        self._trace: list[tuple[np.ndarray, ...]] = []
        self._top_of: tuple = ()

    def features(self) -> np.ndarray:
        """Unit-norm similarity features, built once per slate. (B, C, D)"""
        if self._features is None:
            self._features = self._features_fn(self.slate)
        return self._features

    def top(self, n: int) -> np.ndarray:
        """The first n valid columns of `order`, -1 where a row runs out. (B, n)"""
        cached = self._top_of                     # (order, valid, n, top): arrays are replaced,
        if not (cached and cached[0] is self.order and cached[1] is self.valid  # never edited
                and cached[2] == n):
            valid_in_order = np.take_along_axis(self.valid, self.order, axis=1)
            top = first_valid(self.order, valid_in_order, n)
            self._top_of = cached = (self.order, self.valid, n, top)
        return cached[3]

    def videos(self, cols: np.ndarray) -> np.ndarray:
        """Video ids of columns (B, n), -1 where the column is -1."""
        picked = np.take_along_axis(self.slate.candidates, np.maximum(cols, 0), axis=1)
        return np.where(cols >= 0, picked, -1)

    def record(self, moved: np.ndarray, slots: np.ndarray, old: np.ndarray, new: np.ndarray,
               reason: Reason | np.ndarray) -> None:
        """Trace the moves where `moved` (B, n): old (B, n) columns replaced by new (B, n).
        Nothing when not tracing: the trace only explains, it never decides."""
        if not self.tracing:
            return
        rows, cols = np.nonzero(moved)
        codes = np.broadcast_to(np.asarray(reason, dtype=np.int8), moved.shape)[rows, cols]
        self._trace.append((rows, np.broadcast_to(slots, moved.shape)[rows, cols],
                            self.videos(old)[rows, cols], self.videos(new)[rows, cols], codes))

    def remove(self, mask: np.ndarray, reason: Reason) -> None:
        """Filter out candidates where mask (B, C); trace those that were on the page."""
        if self.page is not None:
            raise RuntimeError("filters must run before the page is fixed by exploration")
        if self.tracing:
            before = self.top(self.k)
            gone = np.take_along_axis(mask, np.maximum(before, 0), axis=1) & (before >= 0)
            self.record(gone, np.arange(self.k), before, np.full_like(before, -1), reason)
        self.valid = self.valid & ~mask

    def reorder(self, picks: np.ndarray, reason: Reason | None) -> None:
        """Put picks (B, n) columns (-1 pads, at row ends) first, the rest in current order."""
        if self.page is not None:
            raise RuntimeError("orderings must run before exploration fixes the page")
        traced = self.tracing and reason is not None
        before = self.top(self.k) if traced else None
        b, c = self.order.shape
        picks = picks[:, :c]                     # a row never has more than C distinct picks
        n = picks.shape[1]
        picked = np.zeros((b, c), dtype=bool)
        rows, where = np.nonzero(picks >= 0)
        picked[rows, picks[rows, where]] = True
        rest_last = (~np.take_along_axis(picked, self.order, axis=1)).astype(np.int8)
        order = np.take_along_axis(self.order, np.argsort(rest_last, axis=1, kind="stable"), 1)
        order[:, :n] = np.where(picks >= 0, picks, order[:, :n])           # picks in pick order
        self.order = order
        if traced:
            after = self.top(self.k)
            kept = (before[:, :, None] == after[:, None, :]).any(axis=2)   # (B, K)
            self.record((before >= 0) & ~kept, np.arange(self.k), before, after, reason)

    def fix_page(self) -> np.ndarray:
        """The page (B, K) columns, fixed on first call; explorers edit it in place."""
        if self.page is None:
            self.page = self.top(self.k)
        return self.page

    def on_page(self) -> np.ndarray:
        """Columns currently on the page. (B, C) bool"""
        mask = np.zeros(self.valid.shape, dtype=bool)
        page = self.fix_page()
        rows, slots = np.nonzero(page >= 0)
        mask[rows, page[rows, slots]] = True
        return mask

    def trace(self) -> Trace:
        parts = list(zip(*self._trace)) if self._trace else [[np.empty(0, np.int64)]] * 5
        row, slot, video, by, reason = (np.concatenate(p) for p in parts)
        return Trace(row.astype(np.int64), slot.astype(np.int64), video.astype(np.int64),
                     by.astype(np.int64), reason.astype(np.int8))


class Step(ABC):
    """One re-ranking step. `begin_day` refreshes any state it keeps from the platform logs."""
    name: str = "step"

    def begin_day(self, ctx) -> None:
        """Called once a day with the PlatformContext, before serving."""

    @abstractmethod
    def apply(self, state: RerankState) -> None:
        """Edit the state in place."""


def first_valid(items: np.ndarray, valid: np.ndarray, n: int) -> np.ndarray:
    """The first n valid entries of each row of items (B, C), -1 padded. (B, n)

    `policy.base.take_first` is only right for n <= C (its 'not valid' sentinel is C)."""
    m = min(n, items.shape[1])
    picked = take_first(items, valid, m)[0]
    return np.pad(picked, ((0, 0), (0, n - m)), constant_values=-1)


def unit_relevance(score: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Relevance rescaled per row to [0, 1] over its valid candidates (1 if all equal). (B, C)"""
    s = np.where(valid, score.astype(np.float64), np.nan)
    lo = np.nanmin(np.where(valid.any(axis=1, keepdims=True), s, 0.0), axis=1, keepdims=True)
    hi = np.nanmax(np.where(valid.any(axis=1, keepdims=True), s, 0.0), axis=1, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    out = np.where(hi > lo, (s - lo) / span, 1.0)
    return np.where(valid, out, 0.0)


def slot_index(slot: int, k: int) -> int:
    """A config slot (negative counts from the end) as an index in [0, k)."""
    return min(max(slot if slot >= 0 else k + slot, 0), k - 1)
