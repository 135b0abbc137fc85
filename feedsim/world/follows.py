"""The follow graph: which users follow which creators. Observable to the platform.

Stored as one sorted array of int64 keys `user * n_creators + creator`, so membership for a
whole batch of (user, creator) pairs is one `searchsorted`. Follows made during a day are
buffered and merged at day end (the platform's follow counts update daily).
"""
from __future__ import annotations

import numpy as np


class FollowGraph:
    def __init__(self, n_users: int, n_creators: int, users: np.ndarray, creators: np.ndarray):
        self.n_users = n_users
        self.n_creators = n_creators
        self._pending: list[np.ndarray] = []
        self._set_keys(np.unique(users.astype(np.int64) * n_creators + creators))

    def _set_keys(self, keys: np.ndarray) -> None:
        """Sorted keys (F,) plus a one-hash Bloom bitset that screens out most non-follows."""
        self.keys = keys
        bits = min(max(int(16 * keys.shape[0]).bit_length(), 10), 32)    # ~16 bits per key
        self._shift = np.uint32(32 - bits)
        self._bloom = np.zeros(max((1 << bits) // 8, 1), dtype=np.uint8)
        slots = self._hash(keys // self.n_creators, keys % self.n_creators)
        np.bitwise_or.at(self._bloom, slots >> 3, (1 << (slots & 7)).astype(np.uint8))

    def _hash(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Multiplicative hashing of (user, creator) pairs in uint32 to bit slots."""
        mixed = users.astype(np.uint32) * np.uint32(0x9E3779B1) \
            + creators.astype(np.uint32) * np.uint32(0x85EBCA77)
        return mixed >> self._shift

    def contains(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Whether each user follows the paired creator; any matching shapes. bool

        The Bloom bitset (a few MB, cache-resident) rejects most pairs in one gather; only the
        few candidates it lets through are confirmed by binary search in the sorted keys.
        """
        out = np.zeros(np.size(creators), dtype=bool)
        if self.keys.shape[0] == 0:
            return out.reshape(np.shape(creators))
        slots = self._hash(users, creators).ravel()
        bits = self._bloom[slots >> 3] >> (slots & 7).astype(np.uint8)
        maybe = np.flatnonzero(bits & 1)
        q = np.ravel(users)[maybe].astype(np.int64) * self.n_creators + np.ravel(creators)[maybe]
        pos = np.searchsorted(self.keys, q).clip(0, self.keys.shape[0] - 1)
        out[maybe] = self.keys[pos] == q
        return out.reshape(np.shape(creators))

    def add(self, users: np.ndarray, creators: np.ndarray) -> None:
        """Buffer new follows; they take effect at `commit`."""
        if users.size:
            self._pending.append(users.astype(np.int64) * self.n_creators + creators)

    def commit(self) -> np.ndarray:
        """Merge buffered follows; returns the creators that gained a follower (with repeats)."""
        if not self._pending:
            return np.empty(0, dtype=np.int64)
        new = np.unique(np.concatenate(self._pending))
        self._pending.clear()
        new = new[~np.isin(new, self.keys, assume_unique=True)]
        self._set_keys(np.union1d(self.keys, new))
        return new % self.n_creators

    def following(self, user_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Creators followed by each user, CSR style: (offsets (B+1,), creators (N,))."""
        starts = np.searchsorted(self.keys, user_ids.astype(np.int64) * self.n_creators)
        ends = np.searchsorted(self.keys, (user_ids.astype(np.int64) + 1) * self.n_creators)
        counts = ends - starts
        offsets = np.concatenate([[0], np.cumsum(counts)])
        idx = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        return offsets, self.keys[idx] % self.n_creators

    def counts_per_user(self) -> np.ndarray:
        """Number of creators each user follows. (U,) int64"""
        return np.bincount(self.keys // self.n_creators, minlength=self.n_users)


def initial_follows(rng: np.random.Generator, n_users: int, followers: np.ndarray,
                    creator_language: np.ndarray, user_language: np.ndarray,
                    median: float) -> FollowGraph:
    """Day-0 follows: a lognormal count per user, creators chosen by size within language."""
    counts = np.minimum(rng.lognormal(np.log(median), 1.0, n_users).astype(np.int64),
                        followers.shape[0])
    weight = np.sqrt(followers + 1.0)
    users, creators = [], []
    for lang in np.unique(user_language):           # a loop over languages, not users
        members = np.flatnonzero(user_language == lang)
        pool = np.flatnonzero(creator_language == lang)
        if pool.size == 0:
            continue
        p = weight[pool] / weight[pool].sum()
        n_pick = counts[members]
        users.append(np.repeat(members, n_pick))
        creators.append(pool[rng.choice(pool.size, int(n_pick.sum()), p=p)])
    if not users:
        empty = np.empty(0, dtype=np.int64)
        return FollowGraph(n_users, followers.shape[0], empty, empty)
    return FollowGraph(n_users, followers.shape[0], np.concatenate(users), np.concatenate(creators))
