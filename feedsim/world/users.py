"""The audience: users with observable account data and a latent taste the platform never sees.

Observable (what a platform knows from sign-up and settings): market, language, device, account
age. Latent (the hidden truth that drives behaviour): an interest mixture over topics with a few
dominant topics, a taste for each fine-grained style (sub-genre), activity (plays per active day, lognormal as in
CALIBRATION), propensities to like, comment, share, follow and hate, patience, sensitivity to
quality, appetite for trends and loyalty (a habit of returning). All arrays are indexed by user id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.config.schema import WorldConfig
from feedsim.world.markets import draw_devices, draw_languages, draw_markets


@dataclass
class Users:
    # observable account data
    market: np.ndarray          # (U,) int8 index into cfg.markets
    language: np.ndarray        # (U,) int8 index into LANGUAGES
    device: np.ndarray          # (U,) int8 index into DEVICES
    account_age_days: np.ndarray  # (U,) int32 at day 0
    # latent truth
    interest: np.ndarray        # (U, T) float32, rows sum to 1
    style: np.ndarray           # (U, S) float32 ~ N(0, 1) affinity to each style id
    activity: np.ndarray        # (U,) float32 plays per active day
    like_prop: np.ndarray       # (U,) float32 log-odds offsets of each action
    comment_prop: np.ndarray
    share_prop: np.ndarray
    follow_prop: np.ndarray
    hate_prop: np.ndarray
    patience: np.ndarray        # (U,) float32 offset of the leave hazard (negative = patient)
    quality_sens: np.ndarray    # (U,) float32 how much satisfaction quality matters
    trend_appetite: np.ndarray  # (U,) float32 in [0, 2]
    loyalty: np.ndarray         # (U,) float32 ~ N(0, 1): habit of coming back, beyond activity

    @property
    def n(self) -> int:
        return int(self.market.shape[0])


def _interest(rng: np.random.Generator, n: int, popularity: np.ndarray,
              alpha: float) -> np.ndarray:
    """Dirichlet interests with small alpha: most mass on a few topics. (n, T) float32."""
    concentration = alpha * popularity * popularity.shape[0]        # bigger topics, more fans
    g = rng.gamma(concentration, size=(n, popularity.shape[0])) + 1e-6
    return (g / g.sum(axis=1, keepdims=True)).astype(np.float32)


def _propensity(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    return rng.normal(0.0, sigma, n).astype(np.float32)


def generate_users(cfg: WorldConfig, rng: np.random.Generator,
                   topic_popularity: np.ndarray) -> Users:
    """Draw the user population of a world; `topic_popularity` (T,) sums to 1."""
    n = cfg.n_users
    market = draw_markets(rng, n, cfg.markets, cfg.market_weights)
    activity = rng.lognormal(cfg.activity_mu, cfg.activity_sigma, n).clip(1.0, 3_000.0)
    return Users(
        market=market,
        language=draw_languages(rng, market, cfg.markets),
        device=draw_devices(rng, market, cfg.markets),
        account_age_days=rng.geometric(1 / 400, n).astype(np.int32),
        interest=_interest(rng, n, topic_popularity, cfg.interest_concentration),
        style=rng.standard_normal((n, cfg.style_dim)).astype(np.float32),
        activity=activity.astype(np.float32),
        like_prop=_propensity(rng, n, 0.8),
        comment_prop=_propensity(rng, n, 0.9),
        share_prop=_propensity(rng, n, 0.9),
        follow_prop=_propensity(rng, n, 0.7),
        hate_prop=_propensity(rng, n, 0.8),
        patience=_propensity(rng, n, 0.5),
        quality_sens=rng.gamma(4.0, 0.25, n).astype(np.float32),
        trend_appetite=rng.beta(2.0, 2.0, n).astype(np.float32) * 2.0,
        loyalty=rng.standard_normal(n).astype(np.float32),
    )
