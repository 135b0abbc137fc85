"""Invariants under random input (hypothesis): probabilities, watch time bounds, determinism.

Pages never repeating or serving moderated/seen videos, and propensities in (0, 1], are covered
by tests/test_fyp.py and tests/test_policies.py; these add the behaviour model's bounds and
metrics that depend on the seed alone.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import tiny_config
from feedsim.behavior import Behavior
from feedsim.loop import Simulation
from feedsim.rng import Streams
from feedsim.world import World

PROBABILITIES = ("p_hook", "like", "comment", "share", "follow", "hate")


@pytest.fixture(scope="module")
def world_cfg():
    cfg = tiny_config()
    return World.generate(cfg.world, Streams(0).numpy("world")), cfg


def pages(seed: int, world, b: int, k: int = 6):
    rng = np.random.default_rng(seed)
    return rng.integers(0, world.users.n, b), rng.integers(0, world.videos.n, (b, k))


behaviour_knobs = st.fixed_dictionaries({
    "loop_limit": st.floats(0.2, 10.0),
    "watch_ratio_mu": st.floats(-3.0, 3.0),
    "watch_ratio_sigma": st.floats(0.01, 3.0),
    "hook_bias": st.floats(-10.0, 10.0),
    "like_bias": st.floats(-12.0, 4.0),
    "boredom_weight": st.floats(0.0, 5.0),
})


@settings(max_examples=25, deadline=None)
@given(knobs=behaviour_knobs, seed=st.integers(0, 2**31), b=st.integers(1, 64))
def test_truth_probabilities_are_in_the_unit_interval(world_cfg, knobs, seed, b):
    world, cfg = world_cfg
    behavior = Behavior(world, dataclasses.replace(cfg.behavior, **knobs),
                        np.random.default_rng(seed))
    users, videos = pages(seed, world, b)
    truth = behavior.truth(users, videos)
    for name in PROBABILITIES:
        p = getattr(truth, name)
        assert p.shape == videos.shape and np.isfinite(p).all()
        assert ((p >= 0) & (p <= 1)).all(), name
    limit = knobs["loop_limit"] * world.videos.duration_s[videos]
    assert (truth.watch_s >= 0).all() and (truth.watch_s <= limit * (1 + 1e-5)).all()


@settings(max_examples=25, deadline=None)
@given(knobs=behaviour_knobs, seed=st.integers(0, 2**31), b=st.integers(1, 64))
def test_watch_seconds_are_bounded_by_the_loop_limit(world_cfg, knobs, seed, b):
    world, cfg = world_cfg
    behavior = Behavior(world, dataclasses.replace(cfg.behavior, **knobs),
                        np.random.default_rng(seed))
    users, videos = pages(seed, world, b)
    out = behavior.respond(users, videos)
    limit = knobs["loop_limit"] * world.videos.duration_s[videos]
    assert (out.watch_s >= 0).all()
    assert (out.watch_s <= limit * (1 + 1e-5)).all()
    assert (out.watch_s[~out.viewed] == 0).all()


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**62), policy=st.sampled_from(["random", "popular"]))
def test_metrics_are_deterministic_for_a_seed(seed, policy):
    frames = []
    for _ in range(2):
        sim = Simulation(tiny_config(f"seed={seed}", f"policy={policy}", "world.n_users=120"))
        sim.step_day()
        frames.append(sim.metrics_frame())
    assert len(frames[0]) > 0
    assert frames[0].equals(frames[1])
