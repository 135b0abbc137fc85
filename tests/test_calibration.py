"""The default world under the popular baseline looks like a real short-video feed.

Targets (copied into feedsim.metrics.calibration and docs/calibration.md) are public figures
from KuaiRand-Pure and KuaiRec. Day 0 (a cold platform without logs) is excluded, as a real
platform is never measured on its first day.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import tiny_config
from feedsim.logs import ImpressionBatch
from feedsim.loop import Simulation
from feedsim.metrics.calibration import (CONDITIONALS, RATE_BANDS, RETURN_GAP_SHARES,
                                         WATCH_RATIO_QUARTILES, measure)

DAYS = 5


@pytest.fixture(scope="module")
def measured():
    sim = Simulation(tiny_config("world=default", "policy=popular", f"loop.days={DAYS}"))
    logs = [sim.step_day().log for _ in range(DAYS)]
    return measure(ImpressionBatch.concat(logs[1:]), sim.active_history)


@pytest.mark.parametrize("name", sorted(RATE_BANDS))
def test_rates_fall_in_their_bands(measured, name):
    _, low, high = RATE_BANDS[name]
    assert low <= measured[name] <= high, f"{name}={measured[name]:.5f} not in [{low}, {high}]"


def test_watch_ratio_has_skips_completions_and_loops(measured):
    for got, want in zip(measured["watch_ratio_quartiles"], WATCH_RATIO_QUARTILES):
        assert abs(got - want) / want < 0.35
    assert measured["watch_ratio_over_one"] > 0.2


def test_plays_per_active_day(measured):
    plays = measured["plays_per_day"]
    assert 25 <= plays["median"] <= 65 and 40 <= plays["mean"] <= 100
    assert plays["q3"] > 3 * plays["q1"]                          # a heavy-tailed audience


def test_return_gaps_resemble_calibration(measured):
    window = range(1, DAYS)                                       # gaps observable in the run
    target = np.array([RETURN_GAP_SHARES[g] for g in window])
    got = np.array([measured["return_gaps"][g] for g in window])
    assert abs(got[0] / got.sum() - target[0] / target.sum()) < 0.1
    assert got[1] > got[2] > got[3] > 0


def test_actions_nest_as_in_the_logs(measured):
    assert 0.5 <= measured["p_long_view_given_like"] <= 0.85      # 0.67
    assert 0.25 <= measured["p_like_given_follow"] <= 0.65        # 0.43
    assert 0.008 <= measured["p_follow_given_like"] <= 0.05       # 0.025
    assert set(CONDITIONALS) <= set(measured)
