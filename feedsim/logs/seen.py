"""What each user has already been served: the platform's seen-filter memory.

A ring of the last `window` served video ids per user. Membership for a batch of candidate
rows (B, C) is a bitmap lookup, one row at a time in a compiled loop: the user's ring is set
in a bitmap over the catalogue, the row's candidates are read from it, and the ring is
cleared again. That is O(B x (W + C)) with no sort and no (B, W) copy of the rings; the
bitmap is one byte per video (40 kB at 10 k users: it stays in L1/L2) and belongs to the
call, so concurrent calls do not share scratch.
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit

EMPTY = -1


@njit
def _contains_rows(ring, user_ids, candidates, bitmap, out):
    """out[b, c] = candidates[b, c] is in ring[user_ids[b]]; bitmap (V,) all False, and left
    so. ring (U, W) with EMPTY slots, candidates (B, C) (negative ids are never seen)."""
    for b in range(candidates.shape[0]):
        row = ring[user_ids[b]]
        for v in row:
            if v >= 0:
                bitmap[v] = True
        for c in range(candidates.shape[1]):
            x = candidates[b, c]
            out[b, c] = x >= 0 and bitmap[x]
        for v in row:
            if v >= 0:
                bitmap[v] = False


class SeenHistory:
    def __init__(self, n_users: int, window: int):
        self.ring = np.full((n_users, window), EMPTY, dtype=np.int64)   # (U, W)
        self.ptr = np.zeros(n_users, dtype=np.int64)
        self.max_video = EMPTY                               # largest id ever recorded

    def __setstate__(self, state: dict) -> None:
        """Checkpoints from before `max_video` carried a scratch bitmap instead."""
        state.pop("_bitmap", None)
        self.__dict__.update(state)
        if "max_video" not in state:
            self.max_video = int(self.ring.max(initial=EMPTY))

    @property
    def window(self) -> int:
        return self.ring.shape[1]

    def add(self, user_ids: np.ndarray, video_ids: np.ndarray, served: np.ndarray) -> None:
        """Record served videos. user_ids (B,), video_ids (B, K), served (B, K) bool."""
        order = np.cumsum(served, axis=1) - 1
        slot = (self.ptr[user_ids][:, None] + order) % self.window
        rows = np.broadcast_to(user_ids[:, None], video_ids.shape)
        self.ring[rows[served], slot[served]] = video_ids[served]
        self.ptr[user_ids] += served.sum(axis=1)
        self.max_video = max(self.max_video, int(video_ids.max(initial=EMPTY, where=served)))

    def contains(self, user_ids: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Whether each candidate (B, C) is in its user's ring. (B, C) bool"""
        span = max(int(candidates.max(initial=0)), self.max_video) + 1
        out = np.empty(candidates.shape, dtype=bool)
        _contains_rows(self.ring, np.asarray(user_ids, dtype=np.int64),
                       np.asarray(candidates, dtype=np.int64), np.zeros(span, dtype=bool), out)
        return out
