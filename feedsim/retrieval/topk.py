"""Stage 1 of 5 (retrieval): exact top-k of score rows on CPU, for the exact index.

Exact retrieval scores every video for a batch of users, (B, N), then keeps each row's best k
(a few hundred of 40 k to 1 M). `torch.topk` does that with a selection over the whole row; on
these cores it costs as much as the matrix product before it. Here a row is read three times:
- a strided sample of the row (every 16th score) gives a threshold, the sample's
  (3/2 k/16 + 8)-th best, so that about 1.5 k scores of the row clear it;
- one pass keeps the scores that clear it;
- a stable sort of those few orders them; the first k are the answer.
If fewer than k clear the threshold (a row of many equal scores), the row is sorted whole.
The result is exact for finite scores: the same values as `torch.topk`, and among equal
scores the lower index first (torch leaves that order unspecified). A NaN never clears the
threshold, where torch ranks it first; the index refuses non-finite vectors and queries, so
neither path meets one. Rows are split across threads (the compiled pass
releases the GIL), as many as torch uses.
"""
from __future__ import annotations

import numpy as np
import torch

from feedsim.jit import njit, thread_pool

STRIDE = 16              # one sampled score in STRIDE
MIN_ROWS = 8             # rows per thread below which one thread does the whole batch


def topk_exact(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best: (values (B, k) float32 descending, columns (B, k) int64).
    scores (B, N) float32, 0 < k <= N."""
    if not 0 < k <= scores.shape[1]:
        raise ValueError(f"topk_exact: k={k} must be in 1..{scores.shape[1]} (the row length)")
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    b = scores.shape[0]
    values = np.empty((b, k), dtype=np.float32)
    cols = np.empty((b, k), dtype=np.int64)
    threads = max(min(torch.get_num_threads(), b // MIN_ROWS), 1)
    bounds = np.linspace(0, b, threads + 1).astype(np.int64)
    if threads == 1:
        _topk_rows(scores, 0, b, k, values, cols)
        return values, cols
    jobs = [thread_pool(threads).submit(_topk_rows, scores, int(lo), int(hi), k, values, cols)
            for lo, hi in zip(bounds[:-1], bounds[1:])]
    for job in jobs:
        job.result()
    return values, cols


@njit
def _topk_rows(scores, first, last, k, values, cols):
    """Rows [first, last) of scores (B, N): their k best into values and cols (B, k)."""
    n = scores.shape[1]
    m = (n + STRIDE - 1) // STRIDE
    rank = min(k // STRIDE * 3 // 2 + 8, m)              # the sample's threshold rank
    sample = np.empty(m, dtype=np.float32)
    kept_v = np.empty(n, dtype=np.float32)
    kept_i = np.empty(n, dtype=np.int64)
    for r in range(first, last):
        row = scores[r]
        for j in range(m):
            sample[j] = row[j * STRIDE]
        threshold = np.partition(sample, m - rank)[m - rank]
        c = 0
        for j in range(n):
            if row[j] >= threshold:
                kept_v[c], kept_i[c] = row[j], j
                c += 1
        if c < k:                                         # too few cleared it: the whole row
            c = n
            kept_v[:] = row
            kept_i[:] = np.arange(n)
        order = np.argsort(-kept_v[:c], kind="mergesort")  # stable: lower index first on ties
        for q in range(k):
            values[r, q], cols[r, q] = kept_v[order[q]], kept_i[order[q]]
