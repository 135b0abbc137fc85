"""Creators: who makes the videos, how big their audience is, and whether they keep posting.

Follower counts follow CALIBRATION (median about 48, a Pareto tail with exponent about 1.15
above 10^3, a maximum near 2 M), from nano to mega tiers. Each creator has a topic focus, a
latent skill, a clickbait habit for a minority (strong hooks, poor satisfaction), a posting
rate, a market and a language. Posting reacts to the audience a creator gets: creators whose
videos find no viewers lose motivation, post less, and may stop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.config.schema import WorldConfig
from feedsim.world.markets import draw_languages, draw_markets

TIERS = ("nano", "micro", "mid", "macro", "mega")
TIER_EDGES = np.array([1e3, 1e4, 1e5, 1e6])   # followers at which the next tier starts


@dataclass
class Creators:
    market: np.ndarray        # (C,) int8, observable
    language: np.ndarray      # (C,) int8, observable
    followers: np.ndarray     # (C,) float64, observable, grows with in-world follows
    focus: np.ndarray         # (C, 2) int16 latent main and second topic
    focus_weight: np.ndarray  # (C,) float32 latent weight of the main topic
    style: np.ndarray         # (C,) int16 latent style (sub-genre) the creator's videos have
    skill: np.ndarray         # (C,) float32 latent, raises both qualities
    clickbait: np.ndarray     # (C,) bool latent: strong hooks, poor satisfaction
    posting_rate: np.ndarray  # (C,) float32 uploads per day when motivated
    motivation: np.ndarray    # (C,) float32 in [0, 1], reacts to audience
    active: np.ndarray        # (C,) bool, False once a creator has quit

    @property
    def n(self) -> int:
        return int(self.market.shape[0])

    def tier(self) -> np.ndarray:
        """Tier index into TIERS per creator, from current followers. (C,) int8"""
        return np.searchsorted(TIER_EDGES, self.followers, side="right").astype(np.int8)


def draw_followers(rng: np.random.Generator, n: int, cfg: WorldConfig) -> np.ndarray:
    """Lognormal body with a Pareto tail above `follower_tail_start`. (n,) float64"""
    body = rng.lognormal(np.log(cfg.follower_median), 1.75, n)
    start = cfg.follower_tail_start
    tail = body >= start
    pareto = start * (1.0 - rng.random(int(tail.sum()))) ** (-1.0 / cfg.follower_tail_alpha)
    body[tail] = pareto
    return np.floor(body.clip(0.0, cfg.follower_max))


def generate_creators(cfg: WorldConfig, rng: np.random.Generator,
                      topic_popularity: np.ndarray) -> Creators:
    """Draw the creator population; `topic_popularity` (T,) biases which topics they cover."""
    n, t = cfg.n_creators, cfg.n_topics
    market = draw_markets(rng, n, cfg.markets, cfg.market_weights)
    focus = np.stack([rng.choice(t, n, p=topic_popularity), rng.integers(0, t, n)], axis=1)
    return Creators(
        market=market,
        language=draw_languages(rng, market, cfg.markets),
        followers=draw_followers(rng, n, cfg),
        focus=focus.astype(np.int16),
        focus_weight=rng.uniform(0.6, 0.95, n).astype(np.float32),
        style=rng.integers(0, cfg.style_dim, n).astype(np.int16),
        skill=rng.normal(0.0, 0.5, n).astype(np.float32),
        clickbait=rng.random(n) < cfg.clickbait_creator_share,
        posting_rate=rng.gamma(2.0, cfg.uploads_per_creator_day / 2.0, n).astype(np.float32),
        motivation=np.ones(n, dtype=np.float32),
        active=np.ones(n, dtype=bool),
    )


def update_motivation(creators: Creators, engaged_views: np.ndarray,
                      quit_below: float = 0.05) -> None:
    """Move motivation toward the day's audience; creators with none fade and may quit.

    engaged_views: (C,) views longer than a skip that each creator's videos got today.
    """
    signal = np.clip(np.log1p(engaged_views) / np.log1p(20.0), 0.0, 1.5).astype(np.float32)
    creators.motivation[:] = np.clip(0.8 * creators.motivation + 0.2 * signal, 0.0, 1.0)
    creators.active &= creators.motivation >= quit_below
