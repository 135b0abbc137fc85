"""The generated world matches its targets, grows, and hides its latent state."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import tiny_config
from feedsim.metrics.calibration import DURATION_QUARTILES_S
from feedsim.rng import Streams
from feedsim.world import World
from feedsim.world.creators import draw_followers
from feedsim.world.observable import CatalogueView


@pytest.fixture(scope="module")
def world():
    cfg = tiny_config("world.n_users=20000", "world.n_creators=20000", "world.n_videos=30000")
    return World.generate(cfg.world, Streams(7).numpy("world"))


def test_activity_is_lognormal_as_calibrated(world):
    log_activity = np.log(world.users.activity)
    assert abs(np.median(log_activity) - 3.74) < 0.05
    assert abs(log_activity.std() - 1.09) < 0.06


def test_interests_have_a_few_dominant_topics(world):
    interest = world.users.interest
    assert np.allclose(interest.sum(axis=1), 1.0, atol=1e-4)
    top3 = np.sort(interest, axis=1)[:, -3:].sum(axis=1)
    assert np.median(top3) > 0.45         # a uniform mixture over 31 topics gives 0.097


def test_follower_counts_have_the_calibrated_body_and_pareto_tail():
    cfg = tiny_config().world
    followers = draw_followers(np.random.default_rng(0), 200_000, cfg)
    assert 30 <= np.median(followers) <= 75
    tail = np.sort(followers[followers >= 1_000])
    hill = 1.0 / np.mean(np.log(tail / 1_000.0))          # Hill estimator of the exponent
    assert 0.95 <= hill <= 1.35
    assert followers.max() <= cfg.follower_max


def test_durations_match_calibration_and_tags_per_video(world):
    q = np.quantile(world.videos.duration_s, [0.25, 0.5, 0.75])
    for got, want in zip(q, DURATION_QUARTILES_S):
        assert abs(got - want) / want < 0.25
    assert world.videos.duration_s.max() <= 315.0
    tags_per_video = (world.videos.tags >= 0).sum(axis=1).mean()
    assert 1.1 <= tags_per_video <= 1.26                     # KuaiRec: 1.18


def test_clickbait_hooks_more_and_satisfies_less(world):
    bait = world.creators.clickbait[world.videos.creator]
    assert world.videos.hook[bait].mean() > world.videos.hook[~bait].mean() + 0.8
    assert world.videos.satisfaction[bait].mean() < world.videos.satisfaction[~bait].mean() - 1.0


def test_moderation_share_and_markets(world):
    assert 0.005 < world.videos.moderated.mean() < 0.02
    assert set(np.unique(world.users.market)) == set(range(10))


def test_catalogue_grows_and_ignored_creators_lose_motivation():
    cfg = tiny_config().world
    world = World.generate(cfg, Streams(1).numpy("world"))
    n0 = world.videos.n
    ignored = np.zeros(world.creators.n)
    for _ in range(3):
        world.end_day(ignored)
        world.start_day()
    assert world.videos.n > n0
    assert world.videos.upload_day[n0:].min() >= 1
    assert world.creators.motivation.max() < 0.6           # no audience for three days


def test_trends_are_born_rise_and_fade():
    cfg = tiny_config("world.trend_births_per_day=3").world
    world = World.generate(cfg, Streams(2).numpy("world"))
    births = []
    for _ in range(6):
        world.end_day(np.zeros(world.creators.n))
        births.append(world.trends.birth.max())
    assert max(births) > 0                                   # new trends during the run
    t = world.trends
    rise = float(t.rise[0])
    curve = [float(t.strength_on(t.birth[0] + f * rise)[0]) for f in (0.2, 1.0, 4.0)]
    assert curve[1] > curve[0] and curve[1] > curve[2]


def test_platform_view_exposes_no_latent_state(world):
    view = world.view()
    for latent in ("hook", "satisfaction", "topic", "style", "topic_weight", "clickbait"):
        with pytest.raises(AttributeError):
            getattr(view.videos, latent)
    assert not hasattr(view, "users") and not hasattr(view, "world")
    assert set(CatalogueView.COLUMNS) >= {"creator", "tags", "sound", "duration_s"}
    with pytest.raises(ValueError):
        view.videos.duration_s[0] = 1.0                      # read-only


def test_follow_graph_membership_matches_a_plain_set():
    from feedsim.world.follows import FollowGraph

    rng = np.random.default_rng(0)
    users, creators = rng.integers(0, 500, 4000), rng.integers(0, 300, 4000)
    graph = FollowGraph(500, 300, users, creators)
    truth = set(zip(users.tolist(), creators.tolist()))
    qu, qc = rng.integers(0, 500, 20000), rng.integers(0, 300, 20000)
    qu[:4000], qc[:4000] = users, creators                      # include every true follow
    got = graph.contains(qu, qc)
    assert got.tolist() == [(u, c) in truth for u, c in zip(qu.tolist(), qc.tolist())]
    graph.add(np.array([1, 2]), np.array([5, 6]))
    graph.commit()
    assert graph.contains(np.array([1, 2]), np.array([5, 6])).all()
