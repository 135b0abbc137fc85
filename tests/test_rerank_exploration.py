"""Exploration: logged propensities match empirical frequencies; the traffic-pool ladder."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from feedsim.logs import VideoCounters
from feedsim.rerank.base import Slate
from feedsim.rerank.config import RerankConfig, TrafficPoolsConfig
from feedsim.rerank.pipeline import Reranker
from feedsim.rerank.pools import RETIRED, TrafficPools
from feedsim.rerank.synthetic import random_slate

K = 6
DRAWS = 40_000   # identical requests: the batch dimension gives independent draws


def replicated(slate: Slate, n: int) -> Slate:
    """The first request of `slate`, repeated n times."""
    fields = {}
    for name, value in vars(slate).items():
        if isinstance(value, np.ndarray):
            fields[name] = np.repeat(value[:1], n, axis=0)
        else:
            fields[name] = value
    return Slate(**fields)


def check_frequencies(res, slot_range=range(K)):
    """Each (slot, video)'s empirical frequency matches its logged propensity within 5 sigma."""
    checked = 0
    for slot in slot_range:
        vids, counts = np.unique(res.video_ids[:, slot], return_counts=True)
        for vid, count in zip(vids, counts):
            logged = res.propensity[res.video_ids[:, slot] == vid, slot]
            p = float(logged.mean())
            freq = count / res.video_ids.shape[0]
            sigma = np.sqrt(max(p * (1 - p), 1e-4) / res.video_ids.shape[0])
            assert abs(freq - p) < 5 * sigma + 0.003, (slot, vid, freq, p)
            checked += 1
    return checked


def test_epsilon_propensities_match_empirical_frequencies():
    rng = np.random.default_rng(0)
    base = random_slate(rng, b=1, c=40, moderated=0.0, seen=0.0, n_creators=40, n_sounds=40,
                        fresh=0.6)
    cfg = RerankConfig(steps=["moderation", "epsilon"])
    cfg.epsilon.epsilon = 0.3
    res = Reranker(cfg, K).rerank(replicated(base, DRAWS), np.random.default_rng(1))
    exploited = ~res.explored
    assert np.allclose(res.propensity[exploited], 0.7)
    assert res.explored.mean() == pytest.approx(0.3, abs=0.01)
    assert check_frequencies(res) > 2 * K          # explored videos were checked too
    pool = np.unique(res.propensity[res.explored])
    assert pool.size == 1 and pool[0] == pytest.approx(0.3 / np.unique(
        res.video_ids[res.explored]).size, rel=1e-6)


@pytest.mark.parametrize("fresh,explores", [(1.0, True), (0.0, False)])
def test_epsilon_with_a_pool_smaller_than_the_page(fresh, explores):
    rng = np.random.default_rng(0)
    base = random_slate(rng, b=1, c=9, moderated=0.0, seen=0.0, n_creators=40, n_sounds=40,
                        fresh=fresh)
    cfg = RerankConfig(steps=["moderation", "epsilon"])
    cfg.epsilon.epsilon = 0.5                    # ~3 explored slots wanted, a pool of 3
    res = Reranker(cfg, K).rerank(replicated(base, DRAWS), np.random.default_rng(1))
    assert res.explored.any() == explores
    assert (res.explored.sum(axis=1) <= 3).all()
    late = res.explored[:, K - 1].mean()         # the pool is often used up by the last slot
    assert late < 0.5 - 0.05 if explores else late == 0
    assert check_frequencies(res) >= (K + 3 if explores else K)


def test_thompson_propensity_matches_how_often_each_arm_wins():
    rng = np.random.default_rng(2)
    base = random_slate(rng, b=1, c=30, moderated=0.0, seen=0.0, fresh=1.0)
    imp = np.zeros_like(base.impressions)
    imp[0, :] = 10.0                                             # close arms: real uncertainty
    base = Slate(**{**vars(base), "impressions": imp,
                    "completions": np.floor(imp * rng.uniform(0.2, 0.5, imp.shape)),
                    "likes": np.floor(imp * rng.uniform(0.0, 0.2, imp.shape))})
    cfg = RerankConfig(steps=["moderation", "thompson"])
    cfg.thompson.max_arms, cfg.thompson.draws = 8, 300     # MC bias of E[p | served] <= 1/300
    res = Reranker(cfg, K).rerank(replicated(base, 3_000), np.random.default_rng(3))
    slot = K - 1
    assert res.explored[:, slot].all()
    assert np.unique(res.video_ids[:, slot]).size > 2            # it really explores
    assert check_frequencies(res, [slot]) > 2


def test_thompson_takes_only_real_fresh_arms_when_rows_have_few_or_none():
    """Rows with fewer fresh candidates than max_arms (padded arm grids) and rows with none:
    the explored slot always holds a fresh candidate that was not on the page yet, a lone
    arm is served with propensity 1, and a row without arms keeps its page untouched."""
    rng = np.random.default_rng(5)
    slate = random_slate(rng, b=400, c=30, moderated=0.1, seen=0.0, fresh=0.08)
    cfg = RerankConfig(steps=["moderation", "thompson"])
    res = Reranker(cfg, K).rerank(slate, np.random.default_rng(6))
    valid = ~slate.moderated
    order = np.argsort(np.where(valid, -slate.score, np.inf), axis=1, kind="stable")
    before = order[:, :K]                                   # the page Thompson receives
    arms = valid & (slate.age_days <= cfg.thompson.fresh_days)
    np.put_along_axis(arms, before, False, axis=1)          # not on the page already
    n_arms = np.minimum(arms.sum(axis=1), cfg.thompson.max_arms)
    slot = K - 1
    explored = res.explored[:, slot]
    np.testing.assert_array_equal(explored, n_arms > 0)
    assert (n_arms == 0).any() and ((n_arms > 0) & (n_arms < cfg.thompson.max_arms)).any()
    rows = np.flatnonzero(explored)
    assert arms[rows, res.columns[rows, slot]].all()
    p = res.propensity[:, slot]
    assert ((p > 0) & (p <= 1)).all()
    np.testing.assert_array_equal(p[n_arms == 1], 1.0)
    untouched = n_arms == 0
    np.testing.assert_array_equal(res.columns[untouched], before[untouched])


def _pools_world(upload_day, moderated=None):
    n = len(upload_day)
    videos = SimpleNamespace(n=n, upload_day=np.asarray(upload_day),
                             moderated=np.zeros(n, bool) if moderated is None else moderated)
    return SimpleNamespace(videos=videos, day=10)


def test_traffic_pools_promote_winners_and_retire_losers():
    view = _pools_world([10, 10, 10, 0, 9])
    counters = VideoCounters(5)
    pools = TrafficPools(TrafficPoolsConfig(sizes=[100, 1000], max_age_days=3))
    pools.update(view, counters)
    np.testing.assert_array_equal(pools.stage, [0, 0, 0, RETIRED, 0])
    counters.total["impressions"][:] = [120, 150, 40, 500, 0]
    counters.total["completions"][:] = [80, 10, 30, 200, 0]       # platform ~ 0.47
    counters.total["like"][:] = [20, 1, 8, 20, 0]                 # platform ~ 0.07
    moves = pools.update(view, counters)
    np.testing.assert_array_equal(pools.stage, [1, RETIRED, 0, RETIRED, 0])
    assert moves["promoted"] == 1 and moves["retired"] == 1
    remaining = pools.remaining(np.array([[0, 1, 2, 3, 4, -1]]),
                                np.array([[120.0, 150, 40, 500, 0, 0]]))
    np.testing.assert_array_equal(remaining, [[1000, 0, 60, 0, 100, 0]])
    counters.total["impressions"][0] = 1200                       # second test audience used
    counters.total["completions"][0] = 900
    counters.total["like"][0] = 300
    pools.update(view, counters)
    assert pools.stage[0] == pools.graduated                      # past the last pool


def test_traffic_pool_slot_propensity_matches_frequency():
    rng = np.random.default_rng(4)
    base = random_slate(rng, b=1, c=30, moderated=0.0, seen=0.0)
    cfg = RerankConfig(steps=["moderation", "traffic_pools"])
    cfg.traffic_pools.share = 0.4
    reranker = Reranker(cfg, K)
    pools = reranker.step("traffic_pools").pools
    pools.stage = np.where(np.arange(300) % 3 == 0, 0, RETIRED).astype(np.int8)
    pools.entry = np.zeros(300)
    base = Slate(**{**vars(base), "impressions": np.zeros_like(base.impressions)})
    res = reranker.rerank(replicated(base, DRAWS), np.random.default_rng(5))
    slot = cfg.traffic_pools.slot
    assert res.explored[:, slot].mean() == pytest.approx(0.4, abs=0.01)
    assert (pools.stage[res.video_ids[res.explored[:, slot], slot]] == 0).all()
    assert check_frequencies(res, [slot]) > 2
