"""Trends: sounds and hashtags whose popularity rises, peaks and fades over days.

A trend is born on some day, rises to its peak and decays (a gamma-shaped curve). While it
lasts, videos on its sound or hashtag get an affinity boost for users with an appetite for
trends, and creators pick trending sounds more often. New trends are born every day (Poisson),
so the catalogue is always chasing something. Strengths are latent; the platform can only see
trends through the rising engagement counts they cause.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.config.schema import WorldConfig

SOUND, TAG = 0, 1


@dataclass
class Trends:
    kind: np.ndarray     # (R,) int8 SOUND or TAG
    target: np.ndarray   # (R,) int32 sound id or tag id
    birth: np.ndarray    # (R,) float32 day the trend started
    rise: np.ndarray     # (R,) float32 days from birth to peak
    peak: np.ndarray     # (R,) float32 strength at the peak
    sound_strength: np.ndarray  # (n_sounds,) float32 today's strength per sound
    tag_strength: np.ndarray    # (T,) float32 today's strength per hashtag/topic

    def strength_on(self, day: float) -> np.ndarray:
        """Strength of every trend on `day`: 0 before birth, peak at birth + rise. (R,)"""
        age = np.maximum(day - self.birth, 0.0) / self.rise
        return (self.peak * age * np.exp(1.0 - age)).astype(np.float32)


def _draw(rng: np.random.Generator, cfg: WorldConfig, n: int, births: np.ndarray):
    kind = (rng.random(n) < 0.35).astype(np.int8)           # a third are hashtag trends
    target = np.where(kind == SOUND, rng.integers(0, cfg.n_sounds, n),
                      rng.integers(0, cfg.n_topics, n))
    rise = rng.gamma(4.0, cfg.trend_life_days / 12.0, n).clip(0.3, None)
    peak = cfg.trend_peak * rng.uniform(0.5, 1.5, n)
    return kind, target.astype(np.int32), births.astype(np.float32), \
        rise.astype(np.float32), peak.astype(np.float32)


def generate_trends(cfg: WorldConfig, rng: np.random.Generator) -> Trends:
    """Trends alive at day 0, born at various days before the run."""
    n = cfg.n_initial_trends
    births = -rng.uniform(0.0, cfg.trend_life_days, n)
    kind, target, birth, rise, peak = _draw(rng, cfg, n, births)
    trends = Trends(kind, target, birth, rise, peak,
                    np.zeros(cfg.n_sounds, np.float32), np.zeros(cfg.n_topics, np.float32))
    refresh_strengths(trends, 0.0)
    return trends


def advance_trends(trends: Trends, cfg: WorldConfig, rng: np.random.Generator,
                   day: int) -> None:
    """Give birth to today's new trends, drop dead ones, and refresh today's strengths."""
    n_new = int(rng.poisson(cfg.trend_births_per_day))
    if n_new:
        new = _draw(rng, cfg, n_new, day + rng.uniform(0.0, 1.0, n_new))
        for name, col in zip(("kind", "target", "birth", "rise", "peak"), new):
            setattr(trends, name, np.concatenate([getattr(trends, name), col]))
    alive = (day - trends.birth) < 8.0 * trends.rise
    for name in ("kind", "target", "birth", "rise", "peak"):
        setattr(trends, name, getattr(trends, name)[alive])
    refresh_strengths(trends, float(day) + 0.5)


def refresh_strengths(trends: Trends, day: float) -> None:
    strength = trends.strength_on(day)
    is_sound = trends.kind == SOUND
    trends.sound_strength[:] = np.bincount(trends.target[is_sound], strength[is_sound],
                                           minlength=trends.sound_strength.shape[0])
    trends.tag_strength[:] = np.bincount(trends.target[~is_sound], strength[~is_sound],
                                         minlength=trends.tag_strength.shape[0])


def pick_sounds(rng: np.random.Generator, trends: Trends, n: int,
                sound_popularity: np.ndarray) -> np.ndarray:
    """Sounds for n uploads: trending sounds in proportion to their strength, else evergreen."""
    strength = trends.sound_strength.astype(np.float64)
    total = strength.sum()
    evergreen = rng.choice(sound_popularity.shape[0], n, p=sound_popularity)
    if total <= 0:
        return evergreen.astype(np.int32)
    on_trend = rng.random(n) < min(0.6, 0.15 * total)
    trending = rng.choice(strength.shape[0], n, p=strength / total)
    return np.where(on_trend, trending, evergreen).astype(np.int32)
