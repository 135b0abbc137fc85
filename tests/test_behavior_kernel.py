"""The fused response kernel computes the numpy steps' model, draw for draw."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from conftest import tiny_config
from feedsim.behavior import Behavior, kernel
from feedsim.behavior.affinity import compute_drivers, page_and_truth_drivers
from feedsim.behavior.draws import page_key
from feedsim.behavior.fused_drivers import fused_drivers
from feedsim.behavior.response import ACTIONS, _respond_fused, _respond_steps, respond
from feedsim.behavior.truth import _expected_steps, expected_from_drivers
from feedsim.config.compose import load_config
from feedsim.config.validate import ConfigError, validate_config
from feedsim.rng import Streams
from feedsim.world import World

pytestmark = pytest.mark.skipif(not kernel.AVAILABLE, reason="numba is not installed")


def page_inputs(seed: int = 0, b: int = 3000, k: int = 6):
    cfg = tiny_config("world.n_users=3000")
    world = World.generate(cfg.world, Streams(seed).numpy("world"))
    beh = Behavior(world, cfg.behavior, Streams(seed).numpy("behavior"))
    rng = np.random.default_rng(seed + 1)
    users = rng.integers(0, world.users.n, b)
    pages = rng.integers(0, world.videos.n, (b, k))
    d = compute_drivers(world, beh.state, cfg.behavior, users, pages)
    temper0 = rng.normal(0.0, 0.4, b).astype(np.float32)        # mid-session users
    watched0 = rng.integers(0, 40, b).astype(np.int32)
    return world, cfg, users, d, temper0, watched0, page_key(rng)


@pytest.mark.parametrize("seed", [0, 1])
def test_fused_kernel_draws_what_the_numpy_steps_draw(seed):
    world, cfg, users, d, temper0, watched0, key = page_inputs(seed)
    fused = _respond_fused(key, 7, d, world.users, users, temper0, watched0, cfg.behavior)
    steps = _respond_steps(key, 7, d, world.users, users, temper0, watched0, cfg.behavior)
    for name in ("viewed", "left") + ACTIONS:
        assert np.array_equal(getattr(fused, name), getattr(steps, name)), name
    for name in ("watch_s", "utility", "temper"):
        np.testing.assert_allclose(getattr(fused, name), getattr(steps, name),
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    assert 0.0 < fused.left.mean() < 1.0 and fused.like.any() and not fused.viewed.all()


def test_respond_uses_the_numpy_steps_without_numba(monkeypatch):
    world, cfg, users, d, temper0, watched0, key = page_inputs()
    fused = respond(key, 0, d, world.users, users, temper0, watched0, cfg.behavior)
    monkeypatch.setattr(kernel, "AVAILABLE", False)
    steps = respond(key, 0, d, world.users, users, temper0, watched0, cfg.behavior)
    assert np.array_equal(fused.viewed, steps.viewed)
    np.testing.assert_allclose(fused.watch_s, steps.watch_s, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["fused", "numpy"])
def test_a_shard_of_the_batch_draws_what_the_whole_batch_draws(name):
    world, cfg, users, d, temper0, watched0, key = page_inputs(3)
    behavior = tiny_config(f"behavior.kernel={name}").behavior
    whole = respond(key, 0, d, world.users, users, temper0, watched0, behavior)
    cut = 1234
    head, tail = slice(0, cut), slice(cut, None)
    parts = [respond(key, rows.start, _shard(d, rows), world.users, users[rows],
                     temper0[rows], watched0[rows], behavior) for rows in (head, tail)]
    for name in ("viewed", "watch_s", "utility", "temper") + ACTIONS:
        joined = np.concatenate([getattr(p, name) for p in parts])
        assert np.array_equal(joined, getattr(whole, name)), name
    other = respond(key + np.uint64(1), 0, d, world.users, users, temper0, watched0, behavior)
    assert not np.array_equal(other.watch_s, whole.watch_s)


def _shard(d, rows):
    return type(d)(*(getattr(d, f.name)[rows] for f in fields(d)))


def test_outcomes_do_not_depend_on_the_thread_count(monkeypatch):
    import feedsim.behavior.model as model

    monkeypatch.setattr(model, "MIN_SHARD", 100)
    cfg = tiny_config("world.n_users=3000")
    world = World.generate(cfg.world, Streams(5).numpy("world"))
    pages = np.random.default_rng(9).integers(0, world.videos.n, (3000, 6))
    outs = []
    for threads in (1, 2, 3):
        behavior = tiny_config("world.n_users=3000", f"behavior.threads={threads}").behavior
        beh = Behavior(world, behavior, Streams(5).numpy("behavior"))
        assert len(beh._shards(3000)) == threads
        outs.append(beh.sample(np.arange(3000), pages, np.random.default_rng(1)))
    for out in outs[1:]:
        for name in ("viewed", "watch_s", "like", "follow", "temper"):
            assert np.array_equal(getattr(out, name), getattr(outs[0], name)), name


def test_unknown_kernel_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match="behavior.kernel"):
        validate_config(load_config(["behavior.kernel=cuda"]))


def test_fused_drivers_equal_the_numpy_steps_with_and_without_page_repeats():
    cfg = tiny_config("world.n_users=600")
    world = World.generate(cfg.world, Streams(2).numpy("world"))
    beh = Behavior(world, cfg.behavior, Streams(2).numpy("behavior"))
    rng = np.random.default_rng(4)
    users = rng.permutation(world.users.n)[:500]
    for _ in range(3):                      # some boredom, satiation and follows to look up
        beh.respond(users, rng.integers(0, world.videos.n, (500, 6)))
    world.follows.commit()
    pages = rng.integers(0, 40, (500, 6))   # few videos: topics and creators repeat on a page
    assert world.follows.contains(users[:, None], world.videos.creator[pages]).any()
    page, truth = fused_drivers(world, beh.state, cfg.behavior, users, pages, with_truth=True)
    want_page, want_truth = page_and_truth_drivers(world, beh.state, cfg.behavior, users, pages)
    for got, want in ((page, want_page), (truth, want_truth)):
        for name in ("followed", "topic", "creator", "cells"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
            assert getattr(got, name).dtype == getattr(want, name).dtype, name
        for name in ("affinity", "hook", "satisfaction", "worth", "duration_s", "trend"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-5,
                                       atol=1e-6, err_msg=name)
    assert not np.allclose(page.affinity, truth.affinity)      # the page's repeats count
    alone, none = fused_drivers(world, beh.state, cfg.behavior, users, pages, with_truth=False)
    assert none is None and np.array_equal(alone.affinity, page.affinity)


def test_truth_of_candidates_is_the_same_under_both_kernels():
    cfg = tiny_config("world.n_users=300")
    world = World.generate(cfg.world, Streams(3).numpy("world"))
    fused = Behavior(world, cfg.behavior, Streams(3).numpy("behavior"))
    steps = Behavior(world, tiny_config("world.n_users=300", "behavior.kernel=numpy").behavior,
                     Streams(3).numpy("behavior"))
    rng = np.random.default_rng(6)
    users = np.arange(300)
    fused.respond(users, rng.integers(0, world.videos.n, (300, 6)))
    steps.state = fused.state                               # the same exposure to look up
    candidates = rng.integers(0, 50, (300, 40))             # repeats that must not count
    got, want = fused.truth(users, candidates), steps.truth(users, candidates)
    np.testing.assert_allclose(got.value, want.value, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got.p_hook, want.p_hook, rtol=1e-5, atol=1e-6)


def test_fused_truth_integrates_as_the_numpy_steps():
    world, cfg, users, d, *_ = page_inputs(seed=2, b=800, k=12)
    fused = expected_from_drivers(d, world.users, users, cfg.behavior)
    steps = _expected_steps(d, world.users, users, cfg.behavior)
    for name in ("watch_s", "p_hook", "like", "comment", "share", "follow", "hate", "utility",
                 "engagement", "value"):
        np.testing.assert_allclose(getattr(fused, name), getattr(steps, name), rtol=2e-4,
                                   atol=1e-6, err_msg=name)
    assert (fused.follow[d.followed] == 0).all() and fused.like.max() > 0.01
