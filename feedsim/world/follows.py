"""The follow graph: which users follow which creators. Observable to the platform.

Stored as one sorted array of int64 keys `user * n_creators + creator`, so membership for a
whole batch of (user, creator) pairs is a gather in a per-user Bloom block, then one
`searchsorted` for the few pairs it does not rule out. Follows made during a day are
buffered and merged at day end (the platform's follow counts update daily).
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit

BLOCK_WORDS = 8          # 256 Bloom bits per user (8 x uint32), 3 bits per follow


@njit
def _contains_pairs(users, creators, blocks, word, mask, keys, n_creators, out):
    """out[i] = (users[i], creators[i]) is a follow: the Bloom block first, then the keys."""
    for i in range(users.shape[0]):
        u, c = users[i], creators[i]
        bits = mask[c]
        if blocks[u * BLOCK_WORDS + word[c]] & bits == bits:
            q = u * n_creators + c
            at = np.searchsorted(keys, q)
            out[i] = at < keys.shape[0] and keys[at] == q


def _creator_bits(n_creators: int) -> tuple[np.ndarray, np.ndarray]:
    """Each creator's word in a user's block and its 3-bit mask there: ((C,) int64, (C,) uint32)."""
    mixed = np.arange(n_creators, dtype=np.uint32) * np.uint32(0x9E3779B1)
    word = (mixed >> np.uint32(29)).astype(np.int64)
    mask = np.zeros(n_creators, dtype=np.uint32)
    for shift in (24, 19, 14):
        mask |= np.uint32(1) << ((mixed >> np.uint32(shift)) & np.uint32(31))
    return word, mask


class FollowGraph:
    def __init__(self, n_users: int, n_creators: int, users: np.ndarray, creators: np.ndarray):
        self.n_users = n_users
        self.n_creators = n_creators
        self._pending: list[np.ndarray] = []
        self._set_keys(np.unique(users.astype(np.int64) * n_creators + creators))

    def _set_keys(self, keys: np.ndarray) -> None:
        """Sorted keys (F,) plus a per-user Bloom block that screens out most non-follows."""
        self.keys = keys
        self._word, self._mask = _creator_bits(self.n_creators)                # (C,) each
        self._blocks = np.zeros(self.n_users * BLOCK_WORDS, dtype=np.uint32)    # (U x 8,)
        creators = keys % self.n_creators
        np.bitwise_or.at(self._blocks, (keys // self.n_creators) * BLOCK_WORDS
                         + self._word[creators], self._mask[creators])

    def contains(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Whether each user follows the paired creator; any matching shapes. bool

        A Bloom filter blocked per user: a creator owns 3 bits of one 32-bit word of the
        user's 32-byte block, so one gather per pair (and one cache line per user) rejects
        most pairs; the ~3 % it lets through are confirmed by binary search in the keys.
        Both happen pair by pair in one compiled loop (`_contains_pairs`).
        """
        shape = np.broadcast_shapes(np.shape(users), np.shape(creators))
        out = np.zeros(int(np.prod(shape)), dtype=bool)
        if self.keys.shape[0] == 0 or out.size == 0:
            return out.reshape(shape)
        pair_users = np.broadcast_to(np.asarray(users, dtype=np.int64), shape).reshape(-1)
        pair_creators = np.broadcast_to(np.asarray(creators, dtype=np.int64), shape).reshape(-1)
        _contains_pairs(pair_users, pair_creators, self._blocks, self._word, self._mask,
                        self.keys, self.n_creators, out)
        return out.reshape(shape)

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
