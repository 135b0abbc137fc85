"""Stage 2 of 5 (pre-rank): the cheap cut from ~500 retrieved candidates to a few dozen.

The For You policy (`feedsim.policy.fyp`) scores every retrieved candidate with the two-tower
dot product (user vector . video vector), keeps each retrieval source's best few whatever their
score, and hands the best `policy.prerank` to the heavy multi-task ranker. Everything here is
batched over requests and cheap per candidate; the per-user part (the user tower) runs once per
user per day (`UserVectors`), and with the day cache the dot products themselves are computed
once, when a user's candidates are retrieved (`CandidateCache.prescore`).
"""
from __future__ import annotations

import numpy as np

CHUNK = 512           # requests per dot-product chunk: bounds the (chunk, C, D) gather
RESERVED = 1e6        # bonus that puts a source's reserved candidates ahead of any score


class UserVectors:
    """The two-tower's user vectors, computed once per user between two fits. (U, D) lazily.

    The user tower reads the user's static features and the history fixed at fit time, so a
    user's vector cannot change until the tower is refitted; `clear` is called when it is."""

    def __init__(self, n_users: int):
        self.n_users = n_users
        self.table: np.ndarray | None = None                                   # (U, D)
        self.known = np.zeros(n_users, dtype=bool)                             # (U,)

    def clear(self) -> None:
        self.known[:] = False

    def __call__(self, tower, users: np.ndarray) -> np.ndarray:
        """Vectors of users (B,) from `tower.user_vectors`, each computed once. (B, D)"""
        new = np.unique(users[~self.known[users]])
        if new.size:
            vectors = tower.user_vectors(new).detach().cpu().numpy()            # (N, D)
            if self.table is None or self.table.shape[1] != vectors.shape[1]:
                self.table = np.zeros((self.n_users, vectors.shape[1]), dtype=vectors.dtype)
            self.table[new] = vectors
            self.known[new] = True
        return self.table[users]


def dot_scores(vectors: np.ndarray, user: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """user_b . vectors[ids_bc] for candidates ids (B, C) (-1 pads score -inf). (B, C) float32"""
    out = np.empty(ids.shape, dtype=np.float32)
    for start in range(0, ids.shape[0], CHUNK):                     # bounded memory per chunk
        rows = slice(start, start + CHUNK)
        emb = np.take(vectors, np.maximum(ids[rows], 0), axis=0)                 # (b, C, D)
        out[rows] = np.matmul(emb, user[rows, :, None])[..., 0]                  # (b, C)
    return np.where(ids >= 0, out, -np.inf)


def reserved_bonus(score: np.ndarray, source: np.ndarray, per: int) -> np.ndarray:
    """RESERVED (B, C) on each source's own best `per` finite-score candidates, else 0."""
    bonus = np.zeros(score.shape, dtype=np.float64)
    if per <= 0:
        return bonus
    rows = np.arange(score.shape[0])[:, None]
    top = int(source.max(initial=-1))
    for s in range(top + 1):              # source ids 0..top (-1 pads); cheaper than np.unique
        mine = np.where(source == s, score, -np.inf)                            # (B, C)
        if per == 1:                                     # argmax: the first best, as a sort
            best = mine.argmax(axis=1)[:, None]                                  # (B, 1)
        else:
            best = top_columns(mine, per)                                        # (B, per)
        ok = np.isfinite(mine[rows, best])
        bonus[rows, best] = np.maximum(bonus[rows, best], np.where(ok, RESERVED, 0.0))
    return bonus


def top_columns(key: np.ndarray, keep: int) -> np.ndarray:
    """Columns of the `keep` largest keys per row, largest first, ties by column. (B, keep)

    Equal to a stable descending argsort cut at `keep`, except which of several tied keys
    at the cut gets in; a partition first keeps it O(C) per row instead of O(C log C)."""
    c = key.shape[1]
    keep = min(keep, c)
    if keep >= c or c <= 2 * keep:
        return np.argsort(-key, axis=1, kind="stable")[:, :keep]
    part = np.argpartition(-key, keep - 1, axis=1)[:, :keep]                     # (B, keep)
    part.sort(axis=1)                                    # column order breaks ties stably
    order = np.argsort(-np.take_along_axis(key, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
