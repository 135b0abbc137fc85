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
the window is full, the factor is rebuilt over the picks still in the window from their cached
similarity rows, O(w^2 C) per pick, which is simpler than the paper's O(w C) downdate and equal
in result.
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Reason, RerankState, Step, unit_relevance
from feedsim.rerank.config import DPPConfig

TINY = 1e-12
MAX_RATIO = 50.0   # above it exp(-ratio) x TINY underflows float32: use logarithms


class _Cholesky:
    """Incremental Cholesky rows c_i (t, B, C) and residuals d_i^2 (B, C) over the picks."""

    def __init__(self, feats: np.ndarray, jitter: float, capacity: int):
        b, c, _ = feats.shape
        self.feats, self.jitter, self.rows = feats, jitter, np.arange(b)
        self.diag = np.einsum("bcd,bcd->bc", feats, feats) + jitter          # S_ii (B, C)
        self.c = np.zeros((max(capacity, 1), b, c), dtype=feats.dtype)       # (n, B, C)
        self.reset()

    def reset(self) -> None:
        self.t = 0
        self.d2 = self.diag.copy()                                            # (B, C)

    def similarity(self, j: np.ndarray) -> np.ndarray:
        """S_j. for picks j (B,): similarity of every candidate to the pick. (B, C)"""
        s_j = np.einsum("bcd,bd->bc", self.feats, self.feats[self.rows, j])
        s_j[self.rows, j] += self.jitter
        return s_j

    def add(self, j: np.ndarray, s_j: np.ndarray, ok: np.ndarray) -> None:
        """Add picks j (B,) with similarity rows s_j (B, C) to the factor; rows where ok (B,)
        is False ran out of candidates and add nothing."""
        c, t = self.c[:self.t], self.t
        e = s_j - np.einsum("tbc,tb->bc", c, c[:, self.rows, j])             # S_ji - <c_j, c_i>
        e /= np.sqrt(np.maximum(self.d2[self.rows, j], TINY))[:, None]       # / d_j
        e *= ok[:, None]
        self.c[t] = e
        self.d2 = self.d2 - e * e
        self.t = t + 1


class _Gain:
    """The pick criterion, monotone in the marginal gain theta r + (1 - theta) log d^2.

    Where theta / (1 - theta) is moderate it is d^2 exp(theta / (1 - theta) (r - 1)), which
    needs no logarithm per pick; invalid and picked candidates score -1 (or -inf)."""

    def __init__(self, theta: float, relevance: np.ndarray, valid: np.ndarray, dtype):
        ratio = theta / (1.0 - theta) if theta < 1.0 else np.inf
        self.product = ratio <= MAX_RATIO
        if self.product:
            self.w = np.where(valid, np.exp(ratio * (relevance - 1.0)), -1.0).astype(dtype)
        else:
            self.w = np.where(valid, theta * relevance, -np.inf).astype(dtype)
        self.theta = theta

    def __call__(self, d2: np.ndarray) -> np.ndarray:
        d2 = np.maximum(d2, TINY)                                             # (B, C)
        if self.product:
            return d2 * self.w
        return (1.0 - self.theta) * np.log(d2) + self.w

    def available(self, rows: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.w[rows, j] > (0.0 if self.product else -np.inf)

    def take(self, rows: np.ndarray, j: np.ndarray) -> None:
        self.w[rows, j] = -1.0 if self.product else -np.inf


def dpp_greedy(feats: np.ndarray, relevance: np.ndarray, valid: np.ndarray, n: int,
               theta: float, window: int = 0, jitter: float = 1e-4) -> np.ndarray:
    """Greedy MAP picks of the DPP, in pick order. Returns (B, n) columns, -1 when a row runs out.

    feats (B, C, D) similarity features, relevance (B, C) in [0, 1], valid (B, C) bool.
    window 0 (or >= n) means no sliding window.
    """
    b, c, _ = feats.shape
    n = min(n, c)
    slide = 0 < window < n
    chol = _Cholesky(feats, jitter, window - 1 if slide else n)
    gain = _Gain(theta, relevance, valid, feats.dtype)
    picks = np.full((b, n), -1, dtype=np.int64)
    sims: list[np.ndarray] = []                                               # n x (B, C)
    rows = np.arange(b)
    for t in range(n):                                                        # n picks
        j = gain(chol.d2).argmax(axis=1)                                      # (B,)
        picks[:, t] = np.where(gain.available(rows, j), j, -1)
        gain.take(rows, j)
        if t == n - 1:
            break
        sims.append(chol.similarity(j))
        if slide and chol.t == window - 1:                                    # window full:
            chol.reset()                                                      # refactor the
            for u in range(t - window + 2, t + 1):                            # last w-1 picks
                chol.add(np.maximum(picks[:, u], 0), sims[u], picks[:, u] >= 0)
        else:
            chol.add(j, sims[t], picks[:, t] >= 0)
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
