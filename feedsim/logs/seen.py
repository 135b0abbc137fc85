"""What each user has already been served: the platform's seen-filter memory.

A ring of the last `window` served video ids per user. Membership for a batch of candidate
rows (B, C) is a bitmap lookup: the batch's ring rows are scattered into a reused bitmap, one
span of video ids per row, every candidate is read from it, and the same cells are cleared
again. That is O(B x (W + C)) with no sort; rows go in chunks so the bitmap stays near
BITMAP_CELLS bytes, small enough to live in the core's L2 cache: the scattered writes are the
cost, and a 1 MB bitmap takes them about twice as fast as a 16 MB one at 40 k videos. A chunk
holds at least MIN_ROWS rows, so a huge catalogue grows the bitmap instead of looping per user.
"""
from __future__ import annotations

import numpy as np

EMPTY = -1
BITMAP_CELLS = 1 << 20      # bytes of the reused membership bitmap
MIN_ROWS = 16               # rows per chunk at least (the bitmap grows for huge catalogues)


class SeenHistory:
    def __init__(self, n_users: int, window: int):
        self.ring = np.full((n_users, window), EMPTY, dtype=np.int64)   # (U, W)
        self.ptr = np.zeros(n_users, dtype=np.int64)
        self._bitmap = np.zeros(0, dtype=bool)               # grown on first use, always clear

    def __getstate__(self) -> dict:
        """Checkpoints leave out the scratch bitmap (a megabyte or more of zeros)."""
        return {**self.__dict__, "_bitmap": np.zeros(0, dtype=bool)}

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

    def contains(self, user_ids: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Whether each candidate (B, C) is in its user's ring. (B, C) bool"""
        ring = self.ring[user_ids]                                        # (B, W)
        span = max(int(candidates.max(initial=0)), int(ring.max(initial=0))) + 2
        rows_per_chunk = max(MIN_ROWS, BITMAP_CELLS // span)
        if rows_per_chunk * span > self._bitmap.size:
            self._bitmap = np.zeros(rows_per_chunk * span, dtype=bool)
        bitmap = self._bitmap
        out = np.empty(candidates.shape, dtype=bool)
        for start in range(0, ring.shape[0], rows_per_chunk):             # one chunk at 10 k
            rows = slice(start, start + rows_per_chunk)
            base = (np.arange(ring[rows].shape[0], dtype=np.int64) * span + 1)[:, None]
            cells = (ring[rows] + base).ravel()          # EMPTY lands on each row's cell 0
            bitmap[cells] = True                   # faster than np.put's checked scatter
            np.take(bitmap, candidates[rows] + base, out=out[rows])        # candidates >= 0
            bitmap[cells] = False
        return out
