"""Stage 4 of 5 (re-ranking): Thompson sampling for fresh videos, one page slot per request.

Each fresh candidate (uploaded within `fresh_days`, valid, not already on the page; at most
`max_arms` per request, best relevance first) is an arm with two Beta posteriors built from
the platform's own counters: completion rate Beta(a0 + completions, b0 + impressions -
completions) and like rate likewise, where the prior (a0, b0) has `prior_strength`
pseudo-impressions at the platform's average rate (refreshed by `begin_day`). One posterior draw
of w_c * completion + w_l * like per arm; the arm with the largest draw takes the slot.

Propensity, by Monte Carlo (the argmax of sums of Beta draws has no closed form): `draws`
posterior draws are made per request, each names its best arm, and the slot goes to the best
arm of one draw chosen uniformly. That is Thompson sampling exactly (a uniformly chosen i.i.d.
draw is a posterior draw), and the logged propensity, wins(v) / draws, is the exact probability
with which the served arm was chosen given the draws, and an unbiased estimate of its marginal
Thompson probability (standard error <= 0.5 / sqrt(draws)). It is never 0 for a served arm.
The displaced exploit video leaves the page (traced as exploration).
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Reason, RerankState, Step, first_valid, slot_index
from feedsim.rerank.config import ThompsonConfig
from feedsim.rerank.exploration import fresh

DEFAULT_RATES = (0.3, 0.03)   # completion and like rates assumed before any logs
RATE_FLOOR = 1e-3            # keeps both Beta prior parameters positive


def platform_rates(counters) -> tuple[float, float]:
    """The platform's average completion and like rates per impression so far."""
    imp = float(counters.total["impressions"].sum())
    if imp <= 0:
        return DEFAULT_RATES
    rates = (float(counters.total["completions"].sum()) / imp,
             float(counters.total["like"].sum()) / imp)
    return tuple(min(max(r, RATE_FLOOR), 1.0 - RATE_FLOOR) for r in rates)


class ThompsonStep(Step):
    name = "thompson"

    def __init__(self, cfg: ThompsonConfig):
        self.cfg = cfg
        self.rates = DEFAULT_RATES

    def begin_day(self, ctx) -> None:
        self.rates = platform_rates(ctx.counters)

    def arms(self, state: RerankState) -> np.ndarray:
        """Up to max_arms fresh candidate columns per row, best first, -1 padded. (B, A)"""
        eligible = state.valid & fresh(state, self.cfg.fresh_days) & ~state.on_page()
        in_order = np.take_along_axis(eligible, state.order, axis=1)
        return first_valid(state.order, in_order, self.cfg.max_arms)

    def _beta(self, state: RerankState, rows: np.ndarray, arms: np.ndarray, hits: np.ndarray,
              rate: float) -> np.ndarray:
        """Posterior draws of one rate for the live arms only, (L, draws): padding columns are
        three in four of the (B, A) grid at 10 k users, and Beta draws are the step's cost."""
        s, strength = state.slate, self.cfg.prior_strength
        n = s.impressions[rows, arms]                                          # (L,)
        h = np.minimum(hits[rows, arms], n)
        a = rate * strength + h
        b = (1.0 - rate) * strength + n - h
        return state.rng.beta(a[:, None], b[:, None], size=(len(rows), self.cfg.draws))

    def apply(self, state: RerankState) -> None:
        page = state.fix_page()
        arms = self.arms(state)                                                # (B, A)
        live = arms >= 0
        if not live.any():
            return
        rows, cols = np.nonzero(live)                                          # (L,) each
        live_arms = arms[rows, cols]                                           # (L,)
        comp = self._beta(state, rows, live_arms, state.slate.completions, self.rates[0])
        like = self._beta(state, rows, live_arms, state.slate.likes, self.rates[1])
        value = np.full((arms.shape[0], self.cfg.draws, arms.shape[1]), -np.inf)  # (B, M, A)
        value[rows, :, cols] = self.cfg.completion_weight * comp + self.cfg.like_weight * like
        winner = value.argmax(axis=2)                                          # (B, M)
        pick = state.rng.integers(0, winner.shape[1], size=winner.shape[0])    # (B,)
        chosen = winner[state.rows, pick]
        propensity = (winner == chosen[:, None]).mean(axis=1)                  # (B,)
        rows = live.any(axis=1)
        slot = slot_index(self.cfg.slot, state.k)
        new = np.where(rows, arms[state.rows, chosen], page[:, slot])
        moved = (rows & (new != page[:, slot]))[:, None]
        state.record(moved, np.array([slot]), page[:, slot:slot + 1], new[:, None],
                     Reason.EXPLORATION)
        state.propensity[:, slot] = np.where(rows, propensity, state.propensity[:, slot])
        state.explored[:, slot] |= rows
        page[:, slot] = new
