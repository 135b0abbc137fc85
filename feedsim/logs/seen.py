"""What each user has already been served: the platform's seen-filter memory.

A ring of the last `window` served video ids per user. Membership for a batch of candidate
rows (B, C) is a single sorted search: each user's ring row is sorted, offset by the row number
so the whole batch forms one sorted array, and all candidates are looked up at once.
"""
from __future__ import annotations

import numpy as np

EMPTY = -1


class SeenHistory:
    def __init__(self, n_users: int, window: int):
        self.ring = np.full((n_users, window), EMPTY, dtype=np.int64)   # (U, W)
        self.ptr = np.zeros(n_users, dtype=np.int64)

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
        b = user_ids.shape[0]
        ring = np.sort(self.ring[user_ids], axis=1) + 1                  # (B, W), EMPTY -> 0
        top = int(ring[:, -1].max(initial=0))                             # only these users' rows
        span = np.int64(max(int(candidates.max(initial=0)) + 1, top) + 1)
        offsets = np.arange(b, dtype=np.int64)[:, None] * span
        flat = (ring + offsets).ravel()                                   # globally sorted
        query = (candidates.astype(np.int64) + 1 + offsets).ravel()
        pos = np.searchsorted(flat, query).clip(0, flat.shape[0] - 1)
        return (flat[pos] == query).reshape(candidates.shape)
