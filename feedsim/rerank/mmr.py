"""Stage 4 of 5 (re-ranking): diversity by Maximal Marginal Relevance (Carbonell and Goldstein).

At each step MMR picks the candidate with the largest

    lam * r_i - (1 - lam) * max_{j picked} sim(i, j),

with r the relevance rescaled per request to [0, 1] and sim(i, j) = F_i . F_j in [0, 1], the
same similarity the DPP uses. lam = 1 is pure relevance order; lower lam trades relevance for
distance from what is already on the page. Batched over requests: each pick costs one (B, C)
similarity row; the only Python loop is over the picks.
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Reason, RerankState, Step, unit_relevance
from feedsim.rerank.config import MMRConfig


def mmr_greedy(feats: np.ndarray, relevance: np.ndarray, valid: np.ndarray, n: int,
               lam: float) -> np.ndarray:
    """MMR picks in pick order. feats (B, C, D), relevance (B, C), valid (B, C) -> (B, n)."""
    b, c, _ = feats.shape
    n = min(n, c)
    rows = np.arange(b)
    max_sim = np.zeros((b, c))                                                # (B, C)
    avail = valid.copy()
    picks = np.full((b, n), -1, dtype=np.int64)
    for t in range(n):                                                        # n picks
        gain = lam * relevance - (1.0 - lam) * max_sim
        j = np.where(avail, gain, -np.inf).argmax(axis=1)                     # (B,)
        ok = avail[rows, j]
        picks[:, t] = np.where(ok, j, -1)
        avail[rows, j] = False
        sim = np.einsum("bcd,bd->bc", feats, feats[rows, j])                  # (B, C)
        max_sim = np.maximum(max_sim, sim)
    return picks


class MMRStep(Step):
    name = "mmr"

    def __init__(self, cfg: MMRConfig):
        self.lam, self.length = cfg.lam, cfg.length

    def apply(self, state: RerankState) -> None:
        relevance = unit_relevance(state.slate.score, state.valid)            # (B, C)
        picks = mmr_greedy(state.features(), relevance, state.valid,
                           max(self.length, state.k), self.lam)
        state.reorder(picks, Reason.DIVERSITY)
