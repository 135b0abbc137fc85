"""The statistics alone, on simulated per-user data with a known answer (no simulator needed).

Replicates are columns: one call computes thousands of A/A comparisons at once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feedsim.experiment.stats import (bootstrap_effects, compare, delta_effects, markdown,
                                      p_value)

N_USERS, REPLICATES = 300, 2000


def simulated_users(rng, n, reps):
    """Heavy-tailed per-user totals like the simulator's: many inactive users, lognormal watch."""
    active = rng.random((n, reps)) < 0.35
    plays = np.where(active, rng.poisson(rng.lognormal(3.5, 1.0, (n, reps))), 0).astype(float)
    likes = rng.binomial(plays.astype(np.int64), rng.beta(1, 40, (n, reps))).astype(float)
    return plays, likes


def aa_split(rng, reps=REPLICATES):
    plays, likes = simulated_users(rng, N_USERS, reps)
    half = N_USERS // 2
    return plays[:half], likes[:half], plays[half:], likes[half:]


def test_delta_method_false_positive_rate_is_nominal():
    pc, lc, pt, lt = aa_split(np.random.default_rng(1))
    rates = {}
    for name, (yc, xc, yt, xt) in {"mean": (pc, np.ones_like(pc), pt, np.ones_like(pt)),
                                   "ratio": (lc, pc, lt, pt)}.items():
        d = delta_effects(yc, xc, yt, xt, paired=False)
        rates[name] = float((p_value(d["abs_effect"], d["se"]) < 0.05).mean())
    # 2000 replicates: binomial sd 0.5 %; the band is about +-4 sd around 5 %.
    assert 0.03 <= rates["mean"] <= 0.07, rates
    assert 0.03 <= rates["ratio"] <= 0.07, rates


def test_unclustered_ratio_test_would_be_anti_conservative():
    """Treating impressions as independent (the classic mistake) rejects far too often."""
    pc, lc, pt, lt = aa_split(np.random.default_rng(2), 1000)
    rc, rt = lc.sum(0) / pc.sum(0), lt.sum(0) / pt.sum(0)
    naive_se = np.sqrt(rc * (1 - rc) / pc.sum(0) + rt * (1 - rt) / pt.sum(0))
    naive = float((p_value(rt - rc, naive_se) < 0.05).mean())
    d = delta_effects(lc, pc, lt, pt, paired=False)
    clustered = float((p_value(d["abs_effect"], d["se"]) < 0.05).mean())
    assert naive > 2 * clustered and clustered < 0.08, (naive, clustered)


def test_bootstrap_percentile_ci_covers_zero_at_nominal_rate():
    pc, lc, pt, lt = aa_split(np.random.default_rng(3), 400)
    boot_abs, _ = bootstrap_effects(lc, pc, lt, pt, False, 500, np.random.default_rng(4))
    lo, hi = np.percentile(boot_abs, [2.5, 97.5], axis=0)
    coverage = float(((lo <= 0) & (hi >= 0)).mean())
    assert 0.91 <= coverage <= 0.98, coverage


def test_delta_se_matches_the_spread_of_effects_across_replicates():
    pc, lc, pt, lt = aa_split(np.random.default_rng(5))
    d = delta_effects(lc, pc, lt, pt, paired=False)
    ratio = float(np.sqrt(np.mean(d["se"] ** 2)) / d["abs_effect"].std())
    assert 0.85 <= ratio <= 1.15, ratio


def test_paired_design_uses_the_within_user_correlation():
    rng = np.random.default_rng(6)
    base = rng.lognormal(3.0, 1.0, (N_USERS, 500))                 # the user's own level
    yc = base * rng.lognormal(0, 0.2, base.shape)
    yt = 1.05 * base * rng.lognormal(0, 0.2, base.shape)
    ones = np.ones_like(yc)
    paired = delta_effects(yc, ones, yt, ones, paired=True)
    split = delta_effects(yc[::2], ones[::2], yt[1::2], ones[1::2], paired=False)
    assert np.median(paired["se"]) < 0.5 * np.median(split["se"])
    assert abs(paired["abs_effect"].std() / np.median(paired["se"]) - 1) < 0.15


def test_compare_table_has_every_column_and_finds_a_planted_effect():
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({"arm": np.where(np.arange(n) % 2, "b", "a"), "user_id": np.arange(n)})
    frame["impressions"] = rng.poisson(40, n).astype(float)
    frame["watch_s"] = frame.impressions * np.where(frame.arm == "b", 9.0, 7.0)
    frame["watch_s"] *= rng.lognormal(0, 0.3, n)
    for col in ("like", "share", "comment", "follow", "hate", "active_days", "sessions",
                "last_day_active"):
        frame[col] = rng.poisson(1.0, n).astype(float)
    table = compare(frame, "a", "b", paired=False, n_boot=400)
    row = table.set_index("metric").loc["watch_s_per_play"]
    assert row.p_value < 1e-6 and row.p_boot <= 0.01
    assert row.ci_low < row.abs_effect < row.ci_high and row.boot_ci_low > 0
    assert 0.2 < row.rel_effect < 0.4
    assert table.set_index("metric").loc["like_rate"].p_value > 0.001
    assert markdown(table).count("\n") == len(table) + 1


def test_paired_compare_refuses_misaligned_users():
    frame = pd.DataFrame({"arm": ["a", "a", "b"], "user_id": [0, 1, 0]})
    with pytest.raises(ValueError, match="same users"):
        compare(frame, "a", "b", paired=True)


def test_t_interval_over_replicates_matches_the_t_table():
    from feedsim.experiment.stats import t_interval
    mean, low, high = t_interval(np.array([1.0, 2.0, 3.0]))
    half = 4.302653 / np.sqrt(3)                   # t(0.975, 2 df) x sd 1 / sqrt(3)
    assert mean == 2.0 and np.isclose(low, 2.0 - half) and np.isclose(high, 2.0 + half)
    assert all(np.isnan(b) for b in t_interval(np.array([5.0]))[1:])   # one seed: no interval
