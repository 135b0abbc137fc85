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
n picks. S is one batched matrix product over requests; the picks run per request in one
compiled loop (numba), where a batched numpy version paid a dozen array calls per pick.

Sliding window (the paper's Algorithm 2): with window w, only the last w - 1 picks count. Once
the window is full, the factor is rebuilt over the picks still in the window from their cached
similarity rows, O(w^2 C) per pick, which is simpler than the paper's O(w C) downdate and equal
in result.
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit
from feedsim.rerank.base import Reason, RerankState, Step, unit_relevance
from feedsim.rerank.config import DPPConfig

TINY = 1e-12
MAX_RATIO = 50.0   # above it exp(-ratio) x TINY underflows float32: use logarithms


def gain_weights(theta: float, relevance: np.ndarray, valid: np.ndarray, dtype):
    """The pick criterion's per-candidate term, and whether it is a product. (B, C)

    The criterion is monotone in the marginal gain theta r + (1 - theta) log d^2. Where
    theta / (1 - theta) is moderate it is d^2 exp(theta / (1 - theta) (r - 1)), a product that
    needs no logarithm per pick (invalid candidates weigh -1); otherwise it is the sum
    (1 - theta) log d^2 + theta r (invalid: -inf)."""
    ratio = theta / (1.0 - theta) if theta < 1.0 else np.inf
    if ratio <= MAX_RATIO:
        return np.where(valid, np.exp(ratio * (relevance - 1.0)), -1.0).astype(dtype), True
    return np.where(valid, theta * relevance, -np.inf).astype(dtype), False


@njit
def _gain(d2, w, product, theta):
    """The pick criterion of one candidate from its residual d^2 and weight w."""
    d2 = max(d2, TINY)
    if product:
        return d2 * w
    return (1.0 - theta) * np.log(d2) + w


@njit
def _add_pick(chol, t, j, sim, ok, d2):
    """Add pick j with similarity row sim (C,) as Cholesky row t; update residuals d2 (C,).
    Rows of a request that ran out of candidates (not ok) add a zero row."""
    c = d2.shape[0]
    scale = 1.0 / np.sqrt(max(d2[j], TINY))
    for i in range(c):
        e = sim[i]
        for r in range(t):                                  # S_ji - <c_j, c_i>
            e -= chol[r, i] * chol[r, j]
        e = e * scale if ok else 0.0
        chol[t, i] = e
        d2[i] -= e * e


@njit
def _greedy_rows(gram, w, product, theta, n, window, jitter, picks):
    """Greedy MAP for every request b: picks[b, :n] in pick order (-1 once b runs out).

    gram (B, C, C) = F F^T, w (B, C) from gain_weights (edited: picked candidates are taken)."""
    b_count, c, _ = gram.shape
    slide = 0 < window < n
    capacity = max(window - 1 if slide else n, 1)
    chol = np.zeros((capacity, c), dtype=np.float64)                        # (n, C)
    sims = np.zeros((n, c), dtype=np.float64)                               # S_j. per pick
    d2 = np.empty(c, dtype=np.float64)
    diag = np.empty(c, dtype=np.float64)
    for b in range(b_count):
        for i in range(c):                                                  # S_ii
            diag[i] = gram[b, i, i] + jitter
            d2[i] = diag[i]
        t_rows = 0
        for t in range(n):
            j, best = 0, _gain(d2[0], w[b, 0], product, theta)
            for i in range(1, c):
                g = _gain(d2[i], w[b, i], product, theta)
                if g > best:
                    j, best = i, g
            live = w[b, j] > 0.0 if product else w[b, j] > -np.inf
            picks[b, t] = j if live else -1
            w[b, j] = -1.0 if product else -np.inf
            if t == n - 1:
                break
            for i in range(c):                                              # S_j.
                sims[t, i] = gram[b, j, i]
            sims[t, j] += jitter
            if slide and t_rows == window - 1:          # window full: refactor the last w-1
                t_rows = 0
                d2[:] = diag
                for u in range(t - window + 2, t + 1):
                    _add_pick(chol, t_rows, max(picks[b, u], 0), sims[u],
                              picks[b, u] >= 0, d2)
                    t_rows += 1
            else:
                _add_pick(chol, t_rows, j, sims[t], picks[b, t] >= 0, d2)
                t_rows += 1


def dpp_greedy(feats: np.ndarray, relevance: np.ndarray, valid: np.ndarray, n: int,
               theta: float, window: int = 0, jitter: float = 1e-4) -> np.ndarray:
    """Greedy MAP picks of the DPP, in pick order. Returns (B, n) columns, -1 when a row runs out.

    feats (B, C, D) similarity features, relevance (B, C) in [0, 1], valid (B, C) bool.
    window 0 (or >= n) means no sliding window. The similarities S = F F^T are one batched
    matrix product; the picks are one compiled pass per request, in float64.
    """
    b, c, _ = feats.shape
    n = min(n, c)
    picks = np.full((b, n), -1, dtype=np.int64)
    if b == 0 or n == 0:
        return picks
    w, product = gain_weights(theta, relevance, valid, np.float64)
    gram = np.matmul(feats, feats.transpose(0, 2, 1))                       # (B, C, C)
    _greedy_rows(gram, w, product, float(theta), n, int(window),
                 float(jitter), picks)
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
