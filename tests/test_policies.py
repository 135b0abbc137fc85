"""Baselines: oracle beats popular beats random on true value; pages obey the serving rules."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import tiny_config
from feedsim.loop import Simulation
from feedsim.policy.base import first_occurrence, take_first


def mean_true_value(policy: str, days: int = 3) -> float:
    sim = Simulation(tiny_config(f"policy={policy}", f"loop.days={days}"))
    for _ in range(days):
        sim.step_day()
    frame = sim.metrics_frame()
    return float(frame[(frame.metric == "true_value") & (frame.day >= 1)]["value"].mean())


@pytest.fixture(scope="module")
def values():
    return {p: mean_true_value(p) for p in ("random", "popular", "oracle")}


def test_oracle_beats_popular_beats_random(values):
    assert values["oracle"] > values["popular"] > values["random"]
    assert values["oracle"] - values["popular"] > 0.2 * abs(values["popular"])


def test_served_pages_never_repeat_moderated_or_seen(tiny_logged_sim):
    """No moderated video, and no video the user saw within their last `seen_window` views."""
    sim = tiny_logged_sim
    window = sim.cfg.loop.seen_window
    log = type(next(iter(sim.ctx.recent_logs.values()))).concat(
        [sim.ctx.recent_logs[d] for d in sorted(sim.ctx.recent_logs)])
    assert not sim.world.videos.moderated[log.video_id].any()
    assert ((log.propensity > 0) & (log.propensity <= 1)).all()
    order = np.lexsort((log.position, log.request_id, log.user_id))
    user, video = log.user_id[order], log.video_id[order]
    nth = np.arange(user.size) - np.searchsorted(user, user)      # index in the user's history
    pair_order = np.lexsort((nth, video, user))
    same = (user[pair_order][1:] == user[pair_order][:-1]) & \
        (video[pair_order][1:] == video[pair_order][:-1])
    gaps = np.diff(nth[pair_order])[same]
    assert (gaps >= window).all()                                # repeats only beyond the window


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 8), min_size=6, max_size=12), min_size=1, max_size=6),
       st.integers(1, 16))
def test_take_first_picks_the_first_valid_unique_candidates(rows, k):
    width = min(len(r) for r in rows)
    cands = np.array([r[:width] for r in rows], dtype=np.int64)
    valid = (cands >= 0) & first_occurrence(cands)
    picked, cols = take_first(cands, valid, k)
    for row, got, col in zip(cands, picked, cols):
        want = [v for i, v in enumerate(row) if v >= 0 and v not in row[:i]][:k]
        assert list(got[: len(want)]) == want
        assert (got[len(want):] == -1).all() and (col[len(want):] == -1).all()
