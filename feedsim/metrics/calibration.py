"""Calibration: how the simulated logs compare with public figures of a real short-video feed.

The targets are copied from KuaiRand-Pure and KuaiRec statistics (Gao et al., CIKM 2022; see
docs/calibration.md). Bands are wide on purpose: the default world should look like a real feed,
not fit a curve. `measure` computes the same statistics from a run's impressions and activity.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs.schema import ImpressionBatch
from feedsim.metrics.online import rates

# name -> (source figure, low, high)
RATE_BANDS = {
    "valid_play_rate": (0.460, 0.35, 0.60),
    "long_view_rate": (0.332, 0.22, 0.45),
    "like_rate": (0.0185, 0.009, 0.04),
    "comment_rate": (0.0026, 0.001, 0.008),
    "share_rate": (0.00096, 0.0003, 0.004),
    "follow_rate": (0.00107, 0.0003, 0.004),
    "hate_rate": (0.00049, 0.0001, 0.003),
}
WATCH_RATIO_QUARTILES = (0.31, 0.72, 1.16)        # KuaiRec big matrix
WATCH_RATIO_OVER_ONE = 0.25                       # "more than 25 % of views exceed 1.0"
DURATION_QUARTILES_S = (7.4, 9.6, 12.2)           # impression-weighted
PLAYS_PER_DAY = {"median": 42.0, "mean": 66.0, "q1": 19.0, "q3": 83.0}
RETURN_GAP_SHARES = {1: 0.617, 2: 0.165, 3: 0.079, 4: 0.047, 5: 0.031, 6: 0.021, 7: 0.014}
CONDITIONALS = {"p_long_view_given_like": 0.67, "p_like_given_follow": 0.43,
                "p_follow_given_like": 0.025}


def return_gaps(active_history: list[np.ndarray]) -> dict[int, float]:
    """Share of observed gaps (days until the next active day) of length 1..7."""
    act = np.stack(active_history)                        # (D, U)
    days, users = np.nonzero(act)
    order = np.lexsort((days, users))
    days, users = days[order], users[order]
    same = users[1:] == users[:-1]
    gaps = (days[1:] - days[:-1])[same]
    if gaps.size == 0:
        return {}
    return {g: float(np.mean(gaps == g)) for g in range(1, 8)}


def conditionals(log: ImpressionBatch) -> dict[str, float]:
    long_view = (log.watch_s >= 18.0) | (log.watch_s >= log.duration_s)
    safe = lambda num, den: float(num.sum() / max(den.sum(), 1))          # noqa: E731
    return {
        "p_long_view_given_like": safe(long_view & log.like, log.like),
        "p_like_given_follow": safe(log.like & log.follow, log.follow),
        "p_follow_given_like": safe(log.follow & log.like, log.like),
    }


def measure(log: ImpressionBatch, active_history: list[np.ndarray]) -> dict[str, object]:
    """Every calibrated statistic of a run's impressions (all days) and daily activity."""
    ratio = log.watch_s / log.duration_s
    per_user_day = np.unique(log.day.astype(np.int64) * (1 << 32) + log.user_id,
                             return_counts=True)[1]
    return {
        **rates(log),
        "watch_ratio_quartiles": tuple(float(q) for q in np.quantile(ratio, [0.25, 0.5, 0.75])),
        "watch_ratio_over_one": float(np.mean(ratio > 1.0)),
        "duration_quartiles_s": tuple(float(q) for q in
                                      np.quantile(log.duration_s, [0.25, 0.5, 0.75])),
        "plays_per_day": {"median": float(np.median(per_user_day)),
                          "mean": float(per_user_day.mean()),
                          "q1": float(np.quantile(per_user_day, 0.25)),
                          "q3": float(np.quantile(per_user_day, 0.75))},
        "return_gaps": return_gaps(active_history),
        **conditionals(log),
    }
