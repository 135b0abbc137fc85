"""Stage 4 of 5 (re-ranking): the page rules, as constraints on a slot-by-slot fill.

No two consecutive videos from the same creator; none with the same sound; at most
`max_per_window` videos of one creator in any `window` consecutive slots. Each rule step adds
its constraint to the state; after a run of consecutive rule steps, `constrained_fill` (called
by the pipeline) refills the page slot by slot, taking at every slot the best candidate (in the
current order) that satisfies every rule added so far, so a later rule never undoes an earlier
one and a run of rules costs one pass. The last served videos (`Slate.recent_*`) count as the
slots before the first, so the rules hold across page boundaries.

When no candidate satisfies all rules, the fill relaxes rules rather than leave the slot empty:
it applies the rules in config order (priority order) and skips, for that slot of that request,
any rule that no remaining candidate could satisfy together with the rules before it. A rule
picks the next best valid candidate; it never drops a slot. Each slot whose best candidate was
displaced is traced with the first rule that forbade it.
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import AVAILABLE, njit
from feedsim.rerank.base import Reason, RerankState, Step
from feedsim.rerank.config import CreatorCapConfig

SAME_CREATOR, SAME_SOUND, CAP = 0, 1, 2          # rule kinds of the compiled fill


class Prefix:
    """Creators and sounds of the recent history followed by the slots filled so far."""

    def __init__(self, state: RerankState):
        s = state.slate
        b, h = s.recent_creator.shape
        self.h = h
        self.creator = np.concatenate([s.recent_creator, np.full((b, state.k), -1)], axis=1)
        self.sound = np.concatenate([s.recent_sound, np.full((b, state.k), -1)], axis=1)

    def fill(self, slot: int, creator: np.ndarray, sound: np.ndarray) -> None:
        self.creator[:, self.h + slot] = creator
        self.sound[:, self.h + slot] = sound


class Rule(Step):
    """A constraint: `allowed` says which candidates may take slot `slot` after `prefix`."""
    reason: Reason

    def allowed(self, state: RerankState, prefix: Prefix, slot: int) -> np.ndarray:
        raise NotImplementedError

    def code(self) -> tuple[int, int, int] | None:
        """(kind, cap, window) for the compiled fill; None: only `allowed` knows the rule."""
        return None

    def apply(self, state: RerankState) -> None:
        state.constraints.append(self)          # the pipeline then calls constrained_fill


class NoSameCreator(Rule):
    name, reason = "no_same_creator", Reason.SAME_CREATOR

    def code(self) -> tuple[int, int, int]:
        return SAME_CREATOR, 0, 0

    def allowed(self, state: RerankState, prefix: Prefix, slot: int) -> np.ndarray:
        prev = prefix.creator[:, prefix.h + slot - 1] if prefix.h + slot > 0 else None
        if prev is None:
            return np.ones(state.valid.shape, dtype=bool)
        return (state.slate.creator != prev[:, None]) | (prev[:, None] < 0)


class NoSameSound(Rule):
    name, reason = "no_same_sound", Reason.SAME_SOUND

    def code(self) -> tuple[int, int, int]:
        return SAME_SOUND, 0, 0

    def allowed(self, state: RerankState, prefix: Prefix, slot: int) -> np.ndarray:
        prev = prefix.sound[:, prefix.h + slot - 1] if prefix.h + slot > 0 else None
        if prev is None:
            return np.ones(state.valid.shape, dtype=bool)
        return (state.slate.sound != prev[:, None]) | (prev[:, None] < 0)


class CreatorCap(Rule):
    name, reason = "creator_cap", Reason.CREATOR_CAP

    def __init__(self, cfg: CreatorCapConfig):
        self.cap, self.window = cfg.max_per_window, cfg.window

    def code(self) -> tuple[int, int, int]:
        return CAP, self.cap, self.window

    def allowed(self, state: RerankState, prefix: Prefix, slot: int) -> np.ndarray:
        end = prefix.h + slot
        window = prefix.creator[:, max(end - self.window + 1, 0):end]           # (B, w-1)
        creator = state.slate.creator                                           # (B, C)
        count = np.zeros(creator.shape, dtype=np.int64)
        for j in range(window.shape[1]):                                        # over slots
            count += (creator == window[:, j:j + 1]) & (window[:, j:j + 1] >= 0)
        return count < self.cap


def _first_in_order(allowed: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Column of the best-ranked allowed candidate per row, -1 if none. (B, C) -> (B,)"""
    c = allowed.shape[1]
    key = np.where(allowed, rank, c)
    best = key.argmin(axis=1)
    return np.where(key[np.arange(allowed.shape[0]), best] < c, best, -1)


def _pick(state: RerankState, prefix: Prefix, slot: int, free: np.ndarray, rank: np.ndarray):
    """(chosen column, unconstrained best column, first rule forbidding it) for one slot."""
    masks = [rule.allowed(state, prefix, slot) for rule in state.constraints]   # L x (B, C)
    allowed = free
    for mask in masks:                          # in priority order; skip a rule per row only
        both = allowed & mask                   # when no candidate left could satisfy it
        allowed = np.where(both.any(axis=1)[:, None], both, allowed)
    chosen = _first_in_order(allowed, rank)
    if not state.tracing:                       # who was displaced, and why, only explains
        return chosen, None, None
    best = _first_in_order(free, rank)
    safe = np.maximum(best, 0)
    forbids = np.stack([~m[state.rows, safe] for m in masks])                   # (L, B)
    blame = np.array([r.reason for r in state.constraints], dtype=np.int8)[forbids.argmax(0)]
    return chosen, best, blame


def constrained_fill(state: RerankState) -> None:
    """Refill the K page slots under every rule in `state.constraints`, tracing displacements.

    Without a trace to keep, and when every rule has a `code`, the fill is one compiled pass
    (`_fill_rows`), which picks the same columns as the slot-by-slot numpy fill below."""
    codes = [rule.code() for rule in state.constraints]
    if not state.tracing and AVAILABLE and None not in codes:
        s = state.slate
        picks = np.full((state.valid.shape[0], state.k), -1, dtype=np.int64)
        _fill_rows(state.order, state.valid, s.creator, s.sound, s.recent_creator,
                   s.recent_sound, np.array(codes, dtype=np.int64).reshape(-1, 3), picks)
        state.reorder(picks, reason=None)
        return
    b, c = state.valid.shape
    rank = np.empty((b, c), dtype=np.int64)
    np.put_along_axis(rank, state.order, np.arange(c), axis=1)                  # (B, C)
    free = state.valid.copy()
    prefix = Prefix(state)
    picks = np.full((b, state.k), -1, dtype=np.int64)
    s = state.slate
    for slot in range(state.k):                                                 # K slots
        chosen, best, blame = _pick(state, prefix, slot, free, rank)
        picks[:, slot] = chosen
        if best is not None:
            state.record((chosen != best)[:, None], np.array([slot]), best[:, None],
                         chosen[:, None], blame[:, None])
        ok = chosen >= 0
        free[state.rows[ok], chosen[ok]] = False
        safe = np.maximum(chosen, 0)
        prefix.fill(slot, np.where(ok, s.creator[state.rows, safe], -1),
                    np.where(ok, s.sound[state.rows, safe], -1))
    state.reorder(picks, reason=None)


@njit
def _rule_allows(kind, cap, window, creator, sound, prefix_c, prefix_s, end):
    """Whether a candidate (creator, sound) may follow the prefix [..end) under one rule."""
    if kind == SAME_CREATOR:
        return end == 0 or prefix_c[end - 1] < 0 or creator != prefix_c[end - 1]
    if kind == SAME_SOUND:
        return end == 0 or prefix_s[end - 1] < 0 or sound != prefix_s[end - 1]
    count = 0
    for i in range(max(end - window + 1, 0), end):
        if prefix_c[i] >= 0 and prefix_c[i] == creator:
            count += 1
    return count < cap


@njit
def _fill_rows(order, valid, creator, sound, recent_c, recent_s, codes, picks):
    """constrained_fill per row: at each slot, the first candidate in `order` allowed by the
    rules in priority order, a rule skipped when no free candidate satisfies it together
    with the ones kept before it. picks (B, K) is filled with columns, -1 when none. When a
    candidate meets every rule, the first such in order is that pick: the scan stops there."""
    b_rows, c = valid.shape
    h, k = recent_c.shape[1], picks.shape[1]
    prefix_c = np.empty(h + k, dtype=np.int64)
    prefix_s = np.empty(h + k, dtype=np.int64)
    allowed = np.empty(c, dtype=np.bool_)
    free = np.empty(c, dtype=np.bool_)
    both = np.empty(c, dtype=np.bool_)
    for b in range(b_rows):
        prefix_c[:h], prefix_s[:h] = recent_c[b], recent_s[b]
        free[:] = valid[b]
        for slot in range(k):
            end = h + slot
            chosen = _first_meeting_all(order[b], free, codes, creator[b], sound[b],
                                        prefix_c, prefix_s, end)
            if chosen >= 0:                         # no rule needs relaxing at this slot
                _place(b, slot, chosen, end, creator, sound, prefix_c, prefix_s, free, picks)
                continue
            allowed[:] = free
            for r in range(codes.shape[0]):
                any_left = False
                for j in range(c):
                    both[j] = allowed[j] and _rule_allows(codes[r, 0], codes[r, 1], codes[r, 2],
                                                          creator[b, j], sound[b, j],
                                                          prefix_c, prefix_s, end)
                    any_left = any_left or both[j]
                if any_left:
                    allowed[:] = both
            chosen = -1
            for i in range(c):
                if allowed[order[b, i]]:
                    chosen = order[b, i]
                    break
            _place(b, slot, chosen, end, creator, sound, prefix_c, prefix_s, free, picks)


@njit
def _first_meeting_all(order, free, codes, creator, sound, prefix_c, prefix_s, end):
    """The first free column in `order` that every rule allows, -1 if none."""
    for j in order:
        if not free[j]:
            continue
        for r in range(codes.shape[0]):
            if not _rule_allows(codes[r, 0], codes[r, 1], codes[r, 2], creator[j], sound[j],
                                prefix_c, prefix_s, end):
                break
        else:
            return j
    return -1


@njit
def _place(b, slot, chosen, end, creator, sound, prefix_c, prefix_s, free, picks):
    """Put column `chosen` (-1: none) at `slot` of row b and extend the prefix."""
    picks[b, slot] = chosen
    prefix_c[end] = creator[b, chosen] if chosen >= 0 else -1
    prefix_s[end] = sound[b, chosen] if chosen >= 0 else -1
    if chosen >= 0:
        free[chosen] = False
