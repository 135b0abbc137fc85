"""The behaviour model: nesting of actions in watch time, boredom, clickbait, and the truth."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import tiny_config
from feedsim.behavior import Behavior
from feedsim.behavior.affinity import compute_drivers
from feedsim.behavior.draws import page_key
from feedsim.behavior.response import respond
from feedsim.behavior.truth import expected_from_drivers
from feedsim.rng import Streams
from feedsim.world import World


def make(seed: int = 0, *overrides: str):
    cfg = tiny_config(*overrides)
    streams = Streams(seed)
    world = World.generate(cfg.world, streams.numpy("world"))
    return world, Behavior(world, cfg.behavior, streams.numpy("behavior")), cfg


def random_pages(rng, world, b: int, k: int = 6):
    users = rng.integers(0, world.users.n, b)
    return users, rng.integers(0, world.videos.n, (b, k))


def test_explicit_actions_nest_in_watch_time():
    world, beh, cfg = make(0, "world.n_users=3000")
    rng = np.random.default_rng(1)
    users, pages = random_pages(rng, world, 3000)
    d = compute_drivers(world, beh.state, cfg.behavior, users, pages)
    outs = [respond(page_key(rng), 0, d, world.users, users, np.zeros(3000, np.float32),
                    np.zeros(3000, np.int32), cfg.behavior) for _ in range(20)]
    watch = np.concatenate([o.watch_s[o.viewed] for o in outs])
    dur = np.concatenate([np.broadcast_to(d.duration_s, o.viewed.shape)[o.viewed] for o in outs])
    like = np.concatenate([o.like[o.viewed] for o in outs])
    long_view = (watch >= 18) | (watch >= dur)
    assert like.sum() > 200
    p_long = long_view.mean()
    p_long_given_like = long_view[like].mean()
    assert p_long_given_like > 0.55 and p_long_given_like > 1.5 * p_long
    assert (watch >= 0).all() and (watch <= cfg.behavior.loop_limit * dur + 1e-4).all()
    assert (watch > dur).mean() > 0.1                       # loops happen


def test_boredom_lowers_repeat_topic_affinity_and_wears_off():
    world, beh, cfg = make(0)
    user = np.array([0])
    topic = int(np.argmax(world.users.interest[0]))
    same = np.flatnonzero(world.videos.topic[:, 0] == topic)[:7]
    other = np.flatnonzero(world.videos.topic[:, 0] != topic)[:60]
    probe = same[6:7][None, :]
    fresh = compute_drivers(world, beh.state, cfg.behavior, user, probe).affinity[0, 0]
    beh.state.record_views(user, np.full((1, 6), topic), world.videos.creator[same[:6]][None, :],
                           np.ones((1, 6), bool), cfg.behavior.boredom_decay)
    bored = compute_drivers(world, beh.state, cfg.behavior, user, probe).affinity[0, 0]
    assert bored < fresh - 1.0
    for chunk in other.reshape(10, 6):
        beh.state.record_views(user, world.videos.topic[chunk, 0][None, :],
                               world.videos.creator[chunk][None, :], np.ones((1, 6), bool),
                               cfg.behavior.boredom_decay)
    recovered = compute_drivers(world, beh.state, cfg.behavior, user, probe).affinity[0, 0]
    assert recovered > bored + 0.5 * (fresh - bored)


def session_lengths(world, beh, rng, users, max_pages=60):
    """Videos watched in one session per user, serving random pages until each leaves."""
    watched = np.zeros(users.size)
    beh.start_sessions(users)
    live = np.ones(users.size, bool)
    for _ in range(max_pages):
        idx = np.flatnonzero(live)
        if idx.size == 0:
            break
        out = beh.respond(users[idx], rng.integers(0, world.videos.n, (idx.size, 6)))
        watched[idx] += out.viewed.sum(axis=1)
        live[idx[out.left]] = False
    return watched


def test_clickbait_ends_sessions_sooner_than_equal_hook_quality():
    world, beh, _ = make(3, "world.n_users=2000")
    worlds = {}
    for name, satisfaction in (("quality", 0.8), ("clickbait", -1.2)):
        w = copy.deepcopy(world)
        w.videos._cols["hook"][:] = 1.0
        w.videos._cols["satisfaction"][:] = satisfaction
        b = Behavior(w, beh.cfg, np.random.default_rng(5))
        users = np.arange(2000)
        worlds[name] = session_lengths(w, b, np.random.default_rng(6), users).mean()
    assert worlds["clickbait"] < 0.75 * worlds["quality"]


def test_truth_matches_the_sampler():
    world, beh, cfg = make(4, "world.n_users=400")
    rng = np.random.default_rng(8)
    users, pages = random_pages(rng, world, 400, k=1)
    d = compute_drivers(world, beh.state, cfg.behavior, users, pages)
    exp = expected_from_drivers(d, world.users, users, cfg.behavior)
    n = 400
    draws = [respond(page_key(rng), 0, d, world.users, users, np.zeros(400, np.float32),
                     np.zeros(400, np.int32), cfg.behavior) for _ in range(n)]
    watch = np.mean([o.watch_s for o in draws], axis=0)
    like = np.mean([o.like for o in draws], axis=0)
    assert np.corrcoef(watch.ravel(), exp.watch_s.ravel())[0, 1] > 0.95
    assert abs(watch.mean() / exp.watch_s.mean() - 1) < 0.05
    assert abs(like.mean() / exp.like.mean() - 1) < 0.15
    probs = [exp.like, exp.comment, exp.share, exp.follow, exp.hate, exp.p_hook]
    assert all(((p >= 0) & (p <= 1)).all() for p in probs)


def test_engagement_and_satisfaction_can_disagree():
    world, beh, cfg = make(5)
    rng = np.random.default_rng(2)
    users, pages = random_pages(rng, world, 300, k=20)
    truth = beh.truth(users, pages)
    bait = world.creators.clickbait[world.videos.creator[pages]]
    assert truth.engagement[bait].mean() > 0.8 * truth.engagement[~bait].mean()
    assert truth.utility[bait].mean() < truth.utility[~bait].mean() - 0.3
    corr = np.corrcoef(truth.engagement.ravel(), truth.utility.ravel())[0, 1]
    assert corr < 0.95                                        # not the same signal


@pytest.mark.parametrize("seed", [0, 1])
def test_return_probability_follows_satisfaction(seed):
    world, beh, cfg = make(seed)
    active = np.ones(world.users.n, bool)
    happy, sad = copy.deepcopy(beh), copy.deepcopy(beh)
    happy.state.day_utility[:], happy.state.day_views[:] = 1.0 * 50, 50
    sad.state.day_utility[:], sad.state.day_views[:] = -1.0 * 50, 50
    from feedsim.behavior.session import update_return
    update_return(happy.state, world.users, active, cfg.behavior)
    update_return(sad.state, world.users, active, cfg.behavior)
    assert happy.state.return_p.mean() > sad.state.return_p.mean() + 0.15


def test_sampling_outcomes_leaves_state_untouched():
    world, beh, cfg = make(6)
    rng = np.random.default_rng(3)
    users, pages = random_pages(rng, world, 200)
    before = beh.state.exposure_raw.copy(), beh.state.temper.copy()
    out = beh.sample(users, pages, np.random.default_rng(4))
    assert out.viewed[:, 0].all()
    assert np.array_equal(before[0], beh.state.exposure_raw)
    assert np.array_equal(before[1], beh.state.temper)


def test_exposure_follows_the_decay_recursion_across_the_fold():
    """Boredom after each page is decay^viewed x before + views of the topic, exactly, also
    after the lazy scale gets tiny and is folded back into the raw row (about 28 pages)."""
    world, beh, cfg = make(7)
    state, decay = beh.state, cfg.behavior.boredom_decay
    users = np.array([3, 5])
    topics = np.array([[2, 2, 2, 4, 2, 7], [1, 1, 1, 1, 1, 1]])     # repeats within a page
    creators = world.videos.creator[:12].reshape(2, 6)
    viewed = np.array([[True] * 6, [True, True, True, False, False, False]])
    want = np.zeros(2)
    for _ in range(40):
        state.record_views(users, topics, creators, viewed, decay)
        want = want * decay ** viewed.sum(axis=1) + np.array([4, 3])
    got = state.boredom_at(users, np.array([[2], [1]]))[:, 0]
    assert np.allclose(got, want, rtol=1e-4)
    assert (state.exposure_scale[users] > 1e-12).all()


def test_follow_lookup_broadcasts_users_over_a_page():
    world, _, _ = make(8)
    rng = np.random.default_rng(5)
    users = rng.integers(0, world.users.n, 300)
    follows = world.follows
    offsets, followed = follows.following(users)
    creators = rng.integers(0, follows.n_creators, (300, 6))
    has = np.diff(offsets) > 0
    creators[has, 0] = followed[offsets[:-1][has]]                # a true follow per row
    full = follows.contains(np.repeat(users[:, None], 6, axis=1), creators)
    assert np.array_equal(follows.contains(users[:, None], creators), full)
    truth = set(zip(np.repeat(np.arange(300), np.diff(offsets)).tolist(), followed.tolist()))
    assert full.tolist() == [[(i, c) in truth for c in row] for i, row in
                             enumerate(creators.tolist())]
    assert full[has, 0].all()


def test_one_pass_gives_the_page_and_truth_drivers_of_two_passes():
    """page_and_truth_drivers is compute_drivers with and without in-page repeats, bit for bit."""
    from feedsim.behavior.affinity import page_and_truth_drivers

    world, beh, cfg = make(0, "world.n_users=400")
    rng = np.random.default_rng(3)
    users = rng.choice(world.users.n, 300, replace=False)
    pages = rng.integers(0, world.videos.n, (300, 6))
    pages[:, 5] = pages[:, 0]                                  # every page repeats a video
    beh.respond(users, pages)                                  # some boredom and satiation
    page, truth = page_and_truth_drivers(world, beh.state, cfg.behavior, users, pages)
    for ours, within in ((page, True), (truth, False)):
        ref = compute_drivers(world, beh.state, cfg.behavior, users, pages, within_page=within)
        for name in ref.__dataclass_fields__:
            assert np.array_equal(getattr(ours, name), getattr(ref, name)), name
    assert (page.affinity < truth.affinity).any()              # the repeats did count


@pytest.mark.parametrize("shards", [1, 2])
def test_respond_with_given_drivers_matches_its_own(monkeypatch, shards):
    """The day loop hands respond the drivers it took for the truth; outcomes and the state
    they leave are those of respond computing them itself, also when sharded over threads."""
    import feedsim.behavior.model as model

    monkeypatch.setattr(model, "MIN_SHARD", 64)
    world, beh, cfg = make(0, "world.n_users=400", f"behavior.threads={shards}")
    rng = np.random.default_rng(4)
    users = rng.choice(world.users.n, 300, replace=False)
    pages = rng.integers(0, world.videos.n, (300, 6))
    twin = copy.deepcopy(beh)
    own = beh.respond(users, pages)
    given = twin.respond(users, pages, twin.page_drivers(users, pages)[0])
    for name in own.__dataclass_fields__:
        assert np.array_equal(getattr(own, name), getattr(given, name)), name
    assert np.array_equal(beh.state.exposure_raw, twin.state.exposure_raw)
    assert np.array_equal(beh.state.temper, twin.state.temper)
    assert own.viewed.sum() > 300                              # the pages were watched


@pytest.mark.parametrize("kernel", ["fused", "numpy"])
def test_a_page_leaves_its_views_utility_and_temper_in_the_state(kernel):
    world, beh, cfg = make(2, "world.n_users=400", f"behavior.kernel={kernel}")
    rng = np.random.default_rng(6)
    users = rng.choice(world.users.n, 300, replace=False)
    beh.start_sessions(users)
    first = beh.respond(users, rng.integers(0, world.videos.n, (300, 6)))
    second = beh.respond(users, rng.integers(0, world.videos.n, (300, 6)))
    views = first.viewed.sum(axis=1) + second.viewed.sum(axis=1)
    s = beh.state
    assert np.array_equal(s.day_views[users], views)
    assert np.array_equal(s.session_videos[users], views)
    np.testing.assert_allclose(s.day_utility[users],
                               first.utility.sum(axis=1) + second.utility.sum(axis=1), rtol=1e-5)
    assert np.array_equal(s.temper[users], second.temper)
    others = np.setdiff1d(np.arange(world.users.n), users)
    assert (s.day_views[others] == 0).all() and (s.exposure_raw[others] == 0).all()
    assert (s.exposure_scale[users] < 1.0).all()                 # views decay the old exposure
