"""Markets and languages of the synthetic world.

Each user and creator belongs to a market; a market has a main language (and, for a few, a
second one many people watch in). Language match is a large driver of affinity, which is why
real feeds filter candidates by locale. Everything here is observable platform metadata.
"""
from __future__ import annotations

import numpy as np

LANGUAGES = ("en", "sv", "no", "da", "fi", "ja", "pt", "hi")
MARKET_LANGUAGE = {
    "US": "en", "UK": "en", "IE": "en", "SE": "sv", "NO": "no", "DK": "da",
    "FI": "fi", "JP": "ja", "BR": "pt", "IN": "hi",
}
# Share of a market's users (and creators) who use English rather than the market language.
ENGLISH_SHARE = {"SE": 0.25, "NO": 0.25, "DK": 0.25, "FI": 0.2, "IN": 0.35, "JP": 0.05, "BR": 0.08}
DEVICES = ("android", "ios", "web")
DEVICE_MIX = {"JP": (0.35, 0.62, 0.03), "US": (0.42, 0.55, 0.03), "IN": (0.9, 0.08, 0.02)}
DEFAULT_DEVICE_MIX = (0.55, 0.42, 0.03)


def draw_markets(rng: np.random.Generator, n: int, markets: list[str],
                 weights: list[float]) -> np.ndarray:
    """Market index (into `markets`) for n accounts, int8 (n,)."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(markets), size=n, p=p / p.sum()).astype(np.int8)


def draw_languages(rng: np.random.Generator, market_idx: np.ndarray,
                   markets: list[str]) -> np.ndarray:
    """Language index (into LANGUAGES) per account, int8 (n,): the market's or English."""
    main = np.array([LANGUAGES.index(MARKET_LANGUAGE[m]) for m in markets], dtype=np.int8)
    english_share = np.array([ENGLISH_SHARE.get(m, 0.0) for m in markets])
    lang = main[market_idx]
    switch = rng.random(market_idx.shape[0]) < english_share[market_idx]
    lang[switch] = LANGUAGES.index("en")
    return lang


def draw_devices(rng: np.random.Generator, market_idx: np.ndarray,
                 markets: list[str]) -> np.ndarray:
    """Device type index (into DEVICES) per user, int8 (n,)."""
    mix = np.array([DEVICE_MIX.get(m, DEFAULT_DEVICE_MIX) for m in markets])  # (M, 3)
    cum = np.cumsum(mix, axis=1)[market_idx]                                  # (n, 3)
    u = rng.random((market_idx.shape[0], 1))
    return np.minimum((u > cum).sum(axis=1), len(DEVICES) - 1).astype(np.int8)
