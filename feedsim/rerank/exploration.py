"""Stage 4 of 5 (re-ranking): epsilon-greedy exploration slots, with exact propensities.

After the exploit page is fixed (filters, diversity and rules done), each filled slot is
explored independently with probability epsilon. An explored slot gets a uniform draw, without
replacement across the page's explored slots, from the request's exploration pool:

    pool = valid candidates uploaded within `fresh_days` (any age if negative), not on the page,
           whose creator and sound are on no page slot (so exploring never breaks the
           adjacency rules against exploited neighbours).

Slots are considered left to right; a slot drawn for exploration after the pool is used up
(more explored slots than P, the pool size) stays exploited. What is logged, exactly, with the
pool fixed by the page before any draw and q_s = epsilon * Pr[Binomial(s, epsilon) <= P - 1],
the probability that slot s (0-based) is explored:
- an explored slot's video: q_s / P (the explored slots take the first positions of a uniformly
  random permutation of the pool, so each pool video lands in a given explored slot w.p. 1/P);
- an exploited video: (1 - q_s) times the propensity it already had (it is not in the pool,
  so it cannot also be drawn);
- rows with an empty pool are not explored and keep their propensities.
When P >= K, q_s = epsilon for every slot. These are exact given the page the earlier steps
built; when an earlier explorer sampled that page (Thompson, traffic pools), they are
conditional on its draw, since it shapes the pool. Two explored neighbours can still share a
creator or sound (rare): exploration never re-sorts.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binom

from feedsim.rerank.base import Reason, RerankState, Step
from feedsim.rerank.config import EpsilonConfig


def fresh(state: RerankState, fresh_days: int) -> np.ndarray:
    """Candidates young enough for an exploration pool. (B, C) bool"""
    if fresh_days < 0:
        return np.ones(state.valid.shape, dtype=bool)
    return state.slate.age_days <= fresh_days


def _on_page_values(state: RerankState, values: np.ndarray) -> np.ndarray:
    """Whether each candidate's `values` (B, C) equals that of some page slot. (B, C) bool"""
    page = state.fix_page()
    page_values = np.where(page >= 0, np.take_along_axis(values, np.maximum(page, 0), 1), -2)
    return (values[:, :, None] == page_values[:, None, :]).any(axis=2)        # (B, C)


def exploration_pool(state: RerankState, fresh_days: int) -> np.ndarray:
    """The pool explored slots draw from. (B, C) bool"""
    s = state.slate
    return (state.valid & fresh(state, fresh_days) & ~state.on_page()
            & ~_on_page_values(state, s.creator) & ~_on_page_values(state, s.sound))


def uniform_permutation(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    """The first n columns of a uniformly random ordering of each row's pool. (B, n)"""
    keys = np.where(pool, rng.random(pool.shape), np.inf)                     # (B, C)
    if n >= pool.shape[1]:
        return np.argsort(keys, axis=1)
    first = np.argpartition(keys, n - 1, axis=1)[:, :n]                       # (B, n) unsorted
    return np.take_along_axis(first, np.argsort(np.take_along_axis(keys, first, 1), 1), 1)


class EpsilonStep(Step):
    name = "epsilon"

    def __init__(self, cfg: EpsilonConfig):
        self.epsilon, self.fresh_days = cfg.epsilon, cfg.fresh_days

    def apply(self, state: RerankState) -> None:
        page, k, eps = state.fix_page(), state.k, self.epsilon
        pool = exploration_pool(state, self.fresh_days)
        size = pool.sum(axis=1)                                                # (B,)
        draws = state.rng.random(page.shape) < eps                             # (B, K)
        explore = draws & (np.cumsum(draws, axis=1) <= size[:, None])          # pool not used up
        perm = uniform_permutation(state.rng, pool, k)                         # (B, K)
        nth = np.maximum(np.cumsum(explore, axis=1) - 1, 0)
        new = np.where(explore, np.take_along_axis(perm, nth, axis=1), page)
        state.record(explore, np.arange(k), page, new, Reason.EXPLORATION)
        q = explore_probability(eps, size, k)                                  # (B, K)
        state.propensity = np.where(explore, q / np.maximum(size, 1)[:, None],
                                    state.propensity * (1.0 - q))
        state.explored |= explore
        page[:] = new


def explore_probability(eps: float, size: np.ndarray, k: int) -> np.ndarray:
    """q[b, s] = eps * Pr[Binomial(s, eps) <= size_b - 1]: slot s is explored. (B, K)"""
    slots = np.arange(k)[None, :]                                              # (1, K)
    room = np.minimum(size[:, None] - 1, slots)                                # (B, K)
    return np.where(room >= 0, eps * binom.cdf(room, slots, eps), 0.0)
