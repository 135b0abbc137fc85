"""Stage 2 of 5 (pre-rank): the cheap cut from ~500 retrieved candidates to a few dozen.

The For You policy (`feedsim.policy.fyp`) scores every retrieved candidate with the two-tower
dot product (user vector . video vector), keeps each retrieval source's best few whatever their
score, and hands the best `policy.prerank` to the heavy multi-task ranker. Everything here is
batched over requests and cheap per candidate; the per-user part (the user tower) runs once per
user between two fits (`retrieval.two_tower.UserVectors`, shared with retrieval), and with the
day cache the dot products themselves are computed once, when a user's candidates are
retrieved (`CandidateCache.prescore`).
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit

CHUNK = 512           # requests per dot-product chunk: bounds the (chunk, C, D) gather
RESERVED = 1e6        # bonus that puts a source's reserved candidates ahead of any score


def dot_scores(vectors: np.ndarray, user: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """user_b . vectors[ids_bc] for candidates ids (B, C) (-1 pads score -inf). (B, C) float32"""
    out = np.empty(ids.shape, dtype=np.float32)
    for start in range(0, ids.shape[0], CHUNK):                     # bounded memory per chunk
        rows = slice(start, start + CHUNK)
        emb = np.take(vectors, np.maximum(ids[rows], 0), axis=0)                 # (b, C, D)
        out[rows] = np.matmul(emb, user[rows, :, None])[..., 0]                  # (b, C)
    return np.where(ids >= 0, out, -np.inf)


def prerank_columns(score: np.ndarray, source: np.ndarray | None, per: int,
                    keep: int) -> np.ndarray:
    """Columns of the `keep` best candidates per row, best first. (B, keep) int64

    Each retrieval source's own best `per` finite-score candidates are reserved (ranked ahead
    of any unreserved one, as if RESERVED were added to their score), so that a dot-product
    pre-rank cannot silence a source; the rest follow by score. Ties go to the lower column,
    as in a stable descending sort. One compiled pass per row: a bounded insertion list per
    source and one for the cut, O(C x (per + keep)) at worst, no sort of the C candidates.
    score (B, C) with -inf on padding; source (B, C) ids, -1 on padding, or None.
    """
    b, c = score.shape
    keep = min(keep, c)
    out = np.empty((b, keep), dtype=np.int64)
    if source is None or per <= 0 or source.size == 0:
        per, source = 0, np.full((b, c), -1, dtype=np.int16)
    n_sources = int(source.max(initial=-1)) + 1
    _prerank_rows(score, source, per, keep, max(n_sources, 1), out)
    return out


@njit
def _insert(keys, cols, n, key, col):
    """Insert (key, col) into the descending list keys[:n] (bounded by len(keys)); an equal
    key stays behind the ones already there. Returns the new length."""
    cap = keys.shape[0]
    at = n
    while at > 0 and key > keys[at - 1]:
        at -= 1
    if at >= cap:
        return n
    last = min(n, cap - 1)
    for i in range(last, at, -1):
        keys[i], cols[i] = keys[i - 1], cols[i - 1]
    keys[at], cols[at] = key, col
    return min(n + 1, cap)


@njit
def _prerank_rows(score, source, per, keep, n_sources, out):
    c = score.shape[1]
    best_key = np.empty((n_sources, max(per, 1)), dtype=np.float64)
    best_col = np.empty((n_sources, max(per, 1)), dtype=np.int64)
    count = np.zeros(n_sources, dtype=np.int64)
    reserved = np.zeros(c, dtype=np.bool_)
    top_key = np.empty(keep, dtype=np.float64)
    top_col = np.empty(keep, dtype=np.int64)
    for b in range(score.shape[0]):
        reserved[:] = False
        if per > 0:
            count[:] = 0
            for j in range(c):                      # each source's best `per`, finite only
                s, x = source[b, j], np.float64(score[b, j])
                if s < 0 or not np.isfinite(x) or (count[s] == per and x <= best_key[s, per - 1]):
                    continue                        # not among the source's best so far
                count[s] = _insert(best_key[s], best_col[s], count[s], x, j)
            for s in range(n_sources):
                for i in range(count[s]):
                    reserved[best_col[s, i]] = True
        n = 0
        for j in range(c):                          # the cut, reserved ones first
            key = np.float64(score[b, j]) + (RESERVED if reserved[j] else 0.0)
            if n < keep or key > top_key[keep - 1]:     # else it cannot make the cut
                n = _insert(top_key, top_col, n, key, j)
        out[b, :] = top_col[:keep]
