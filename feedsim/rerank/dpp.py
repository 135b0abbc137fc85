"""Stage 4 of 5 (re-ranking): diversity by a determinantal point process, sliding window.

The kernel is L = diag(q) S diag(q) with q_i = exp(alpha r_i), where r is relevance rescaled
per request to [0, 1] and S_ij = F_i . F_j (+ jitter on the diagonal) the similarity of video
embeddings (see `slate.similarity_features`). With alpha = theta / (2 (1 - theta)), as in Chen,
Zhang and Zhou (NeurIPS 2018), maximising log det L_Y is maximising, up to the factor 1-theta,

    theta * sum_{i in Y} r_i + (1 - theta) * log det S_Y,

so theta = 1 is pure relevance order and theta = 0 pure diversity. The fast greedy MAP algorithm
picks, at each step, the candidate with the largest marginal gain
theta r_i + (1 - theta) log d_i^2, where d_i^2 = S_ii - |c_i|^2 is the squared residual of the
incremental Cholesky factor of S over the picks so far; each pick j updates every candidate's
c_i and d_i with one new entry e_i = (S_ji - <c_j, c_i>) / d_j: O(n C (D + n)) per request for
n picks, batched over requests (the only Python loop is over the n picks).

Sliding window (the paper's Algorithm 2): with window w, only the last w - 1 picks count. Once
the window is full, the factor is rebuilt over the picks still in the window, O(w^2 C) per pick,
which is simpler than the paper's O(w C) downdate and equal in result.
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Reason, RerankState, Step, unit_relevance
from feedsim.rerank.config import DPPConfig

TINY = 1e-12


class _Cholesky:
    """Incremental Cholesky rows c_i (t x (B, C)) and residuals d_i^2 (B, C) over the picks."""

    def __init__(self, feats: np.ndarray, jitter: float):
        self.feats, self.jitter, self.rows = feats, jitter, np.arange(feats.shape[0])
        self.diag = np.einsum("bcd,bcd->bc", feats, feats) + jitter          # S_ii (B, C)
        self.reset()

    @property
    def t(self) -> int:
        return len(self.c)

    def reset(self) -> None:
        self.c: list[np.ndarray] = []                                         # t x (B, C)
        self.d2 = self.diag.copy()                                            # (B, C)

    def add(self, j: np.ndarray) -> None:
        """Add pick j (B,) column indices to the factor."""
        rows = self.rows
        e = np.einsum("bcd,bd->bc", self.feats, self.feats[rows, j])         # S_j. (B, C)
        e[rows, j] += self.jitter
        for c_t in self.c:                                                    # e -= <c_j, c_i>
            e -= c_t[rows, j][:, None] * c_t
        e /= np.sqrt(np.maximum(self.d2[rows, j], TINY))[:, None]             # / d_j
        self.c.append(e)
        self.d2 = self.d2 - e * e


def dpp_greedy(feats: np.ndarray, relevance: np.ndarray, valid: np.ndarray, n: int,
               theta: float, window: int = 0, jitter: float = 1e-4) -> np.ndarray:
    """Greedy MAP picks of the DPP, in pick order. Returns (B, n) columns, -1 when a row runs out.

    feats (B, C, D) similarity features, relevance (B, C) in [0, 1], valid (B, C) bool.
    window 0 (or >= n) means no sliding window.
    """
    b, c, _ = feats.shape
    n = min(n, c)
    slide = 0 < window < n
    chol = _Cholesky(feats, jitter)
    avail = valid.copy()
    picks = np.full((b, n), -1, dtype=np.int64)
    rows = np.arange(b)
    for t in range(n):                                                        # n picks
        gain = theta * relevance + (1.0 - theta) * np.log(np.maximum(chol.d2, TINY))
        j = np.where(avail, gain, -np.inf).argmax(axis=1)                     # (B,)
        ok = avail[rows, j]
        picks[:, t] = np.where(ok, j, -1)
        avail[rows, j] = False
        if t == n - 1:
            break
        if slide and chol.t == window - 1:
            chol.reset()
            for kept in picks[:, t - window + 2:t + 1].T:                     # last w-1 picks
                chol.add(np.maximum(kept, 0))
        else:
            chol.add(j)
    return picks


class DPPStep(Step):
    name = "dpp"

    def __init__(self, cfg: DPPConfig):
        self.theta, self.window = cfg.theta, cfg.window
        self.length, self.jitter = cfg.length, cfg.jitter

    def apply(self, state: RerankState) -> None:
        relevance = unit_relevance(state.slate.score, state.valid)            # (B, C)
        picks = dpp_greedy(state.features(), relevance, state.valid,
                           max(self.length, state.k), self.theta, self.window, self.jitter)
        state.reorder(picks, Reason.DIVERSITY)
