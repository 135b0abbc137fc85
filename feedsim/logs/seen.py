"""What each user has already been served: the platform's seen-filter memory.

A ring of the last `window` served video ids per user. Membership for a batch of candidate
rows (B, C) is a bitmap lookup: the batch's ring rows are scattered into a reused bitmap, one
span of video ids per row, every candidate is read from it, and the same cells are cleared
again. That is O(B x (W + C)) with no sort; rows go in chunks so the bitmap stays
BITMAP_CELLS bytes whatever the catalogue size.
"""
from __future__ import annotations

import numpy as np

EMPTY = -1
BITMAP_CELLS = 1 << 24      # bytes of the reused membership bitmap


class SeenHistory:
    def __init__(self, n_users: int, window: int):
        self.ring = np.full((n_users, window), EMPTY, dtype=np.int64)   # (U, W)
        self.ptr = np.zeros(n_users, dtype=np.int64)
        self._bitmap = np.zeros(0, dtype=bool)               # grown on first use, always clear

    def __getstate__(self) -> dict:
        """Checkpoints leave out the scratch bitmap (16 MB of zeros)."""
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
        if self._bitmap.size == 0:
            self._bitmap = np.zeros(BITMAP_CELLS, dtype=bool)
        rows_per_chunk = max(1, BITMAP_CELLS // span)
        if rows_per_chunk * span > self._bitmap.size:                     # one huge catalogue
            self._bitmap = np.zeros(rows_per_chunk * span, dtype=bool)
        out = np.empty(candidates.shape, dtype=bool)
        for start in range(0, ring.shape[0], rows_per_chunk):             # one chunk at 10 k
            rows = slice(start, start + rows_per_chunk)
            base = (np.arange(ring[rows].shape[0], dtype=np.int64) * span + 1)[:, None]
            cells = (ring[rows] + base).ravel()          # EMPTY lands on each row's cell 0
            np.put(self._bitmap, cells, True)
            np.take(self._bitmap, candidates[rows] + base, out=out[rows])  # candidates >= 0
            np.put(self._bitmap, cells, False)
        return out
