"""Real-time candidate sources: a trend that takes off mid-day reaches the day-cached feed."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import tiny_config
from feedsim.loop import Simulation
from feedsim.policy.base import Requests


@pytest.fixture(scope="module")
def live_sim():
    sim = Simulation(tiny_config("policy=fyp", "loop.days=2", "loop.regret_sample=0",
                                 "policy.live_sources=[trending]", "policy.live_candidates=10",
                                 "policy.live_refresh_requests=50"))
    for _ in range(2):
        sim.step_day()
    return sim


def requests_for(users, day):
    n = users.size
    return Requests(users, np.arange(n), np.zeros(n, np.int8), np.zeros(n, np.int64), day)


def test_live_sources_refresh_during_the_day_and_pages_stay_valid(live_sim):
    frame = live_sim.metrics_frame()
    refreshes = frame[(frame.metric == "live/refreshes") & (frame.day == 1)].value
    assert refreshes.size == 1 and refreshes.iloc[0] >= 1
    log = live_sim.ctx.recent_logs[1]
    pages = {}
    for r, v in zip(log.request_id, log.video_id):
        pages.setdefault(int(r), []).append(int(v))
    assert all(len(p) == len(set(p)) for p in pages.values())      # never a video twice


def test_a_video_trending_mid_day_enters_the_cached_candidates(live_sim):
    policy = live_sim.arms[0].policy
    ctx, view = live_sim.ctx, live_sim.ctx.view
    user = np.array([0])
    ids, *_ = policy._candidates(requests_for(user, view.day))     # fills the day cache
    lang = view.user_language[0]
    max_age = policy.retriever.source("trending").cfg.max_age_days
    pool = np.flatnonzero((view.videos.language == lang) & ~view.videos.moderated
                          & (view.videos.upload_day >= view.day - max_age))
    fresh = np.setdiff1d(pool, ids[0])
    fresh = fresh[~ctx.seen.contains(user, fresh[None, :])[0]][:1]
    assert fresh.size == 1
    for name in ("valid_plays", "like", "share"):                    # it takes off right now
        ctx.counters.recent[name][fresh] += 1e4
    before, *_ = policy._candidates(requests_for(user, view.day))
    assert fresh[0] not in before[0]                                 # the pools are stale
    policy.live.tick(policy.live.refresh_every)                      # a refresh is due
    after, score, source, prescore = policy._candidates(requests_for(user, view.day))
    assert fresh[0] in after[0]
    col = int(np.flatnonzero(after[0] == fresh[0])[0])
    assert policy.source_names[source[0, col]] == "trending" and np.isfinite(score[0, col])
    kept = after[0][after[0] >= 0]
    assert kept.size == np.unique(kept).size                         # no duplicate columns


def test_live_sources_are_off_by_default():
    cfg = tiny_config("policy=fyp")
    assert list(cfg.policy.live_sources) == []


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**16))
def test_live_pages_hold_no_repeat_moderated_or_seen_video(live_sim, seed):
    rng = np.random.default_rng(seed)
    users = np.unique(rng.integers(0, live_sim.world.users.n, 30))
    policy = live_sim.arms[0].policy
    policy.live.tick(policy.live.refresh_every)                      # fresh live pools
    page = policy.serve(requests_for(users, live_sim.world.day))
    ids = page.video_ids
    assert (ids >= 0).all() and all(len(set(row)) == row.size for row in ids)
    assert not live_sim.world.videos.moderated[ids].any()
    assert not live_sim.ctx.seen.contains(users, ids).any()
    assert ((page.propensity > 0) & (page.propensity <= 1)).all()
