"""The For You feed end to end on a tiny world: the cascade runs, learns, and obeys its rules."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import tiny_config
from feedsim.loop import Simulation

DAYS = 3


@pytest.fixture(scope="module")
def fyp_sim():
    sim = Simulation(tiny_config("policy=fyp", f"loop.days={DAYS}", "loop.regret_sample=0.2"))
    for _ in range(DAYS):
        sim.step_day()
    return sim


def test_fyp_serves_from_learned_sources_after_day_zero(fyp_sim):
    names = np.array(fyp_sim.source_names)
    day0 = set(names[fyp_sim.ctx.recent_logs[0].source])
    later = names[fyp_sim.ctx.recent_logs[DAYS - 1].source]
    assert day0 <= {"cold_popular", "cold_fresh", "cold_random"}
    learned = np.isin(later, ["two_tower", "mf", "item2item", "follow", "trending", "fresh"])
    assert learned.mean() > 0.5


def test_fyp_logs_predictions_scores_and_offline_metrics(fyp_sim):
    log = fyp_sim.ctx.recent_logs[DAYS - 1]
    for task in ("watch", "like", "long_view", "skip"):
        pred = log.extras[f"pred_{task}"]
        assert np.isfinite(pred).mean() > 0.5
    frame = fyp_sim.metrics_frame()
    auc = frame[(frame.metric == "offline/long_view/auc") & (frame.day == DAYS - 1)].value
    assert len(auc) == 1 and auc.iloc[0] > 0.55


def test_regret_is_measured_and_falls_as_the_feed_learns(fyp_sim):
    frame = fyp_sim.metrics_frame()
    regret = frame[frame.metric == "regret"].set_index("day").value
    assert len(regret) == DAYS and (regret > 0).all()
    assert regret[DAYS - 1] < regret[0]                 # day 0 is the cold start
    relative = frame[frame.metric == "regret_relative"].set_index("day").value
    assert len(relative) == DAYS and ((relative > 0) & (relative < 1)).all()
    assert relative[DAYS - 1] < relative[0]             # a share of the oracle's page value


def test_pages_never_repeat_or_serve_moderated_and_propensities_are_valid(fyp_sim):
    for log in fyp_sim.ctx.recent_logs.values():
        assert not fyp_sim.world.videos.moderated[log.video_id].any()
        assert ((log.propensity > 0) & (log.propensity <= 1)).all()
        key = log.request_id * (fyp_sim.world.videos.n + 1) + log.video_id
        assert np.unique(key).size == key.size          # no video twice on a page
    explored = np.concatenate([l.extras["explored"] for l in fyp_sim.ctx.recent_logs.values()])
    assert explored.sum() > 0                            # exploration slots are served


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**16))
def test_any_batch_of_requests_gets_valid_pages(fyp_sim, seed):
    from feedsim.policy.base import Requests
    rng = np.random.default_rng(seed)
    users = np.unique(rng.integers(0, fyp_sim.world.users.n, 40))
    requests = Requests(users, np.arange(users.size), rng.integers(0, 24, users.size).astype(np.int8),
                        rng.integers(0, 30, users.size).astype(np.int32), fyp_sim.world.day)
    page = fyp_sim.arms[0].policy.serve(requests)
    ids = page.video_ids
    assert (ids >= 0).all() and (ids < fyp_sim.world.videos.n).all()
    assert all(len(set(row)) == row.size for row in ids)
    assert not fyp_sim.world.videos.moderated[ids].any()
    assert not fyp_sim.ctx.seen.contains(users, ids).any()
    assert ((page.propensity > 0) & (page.propensity <= 1)).all()


def test_prerank_keeps_every_sources_best_candidates(fyp_sim):
    policy = fyp_sim.arms[0].policy
    rng = np.random.default_rng(0)
    users = np.arange(8)
    ids = rng.integers(0, fyp_sim.world.videos.n, (8, 60))
    source = np.repeat(np.arange(3, dtype=np.int16), 20)[None, :].repeat(8, 0)
    score = np.where(source == 0, 10.0, 0.0) + rng.random((8, 60))   # source 0 dominates
    policy.cfg.prerank_per_source = 3
    cols, _ = policy.prerank(users, ids, score.astype(np.float32), source)
    kept = np.take_along_axis(source, cols, axis=1)
    for s in range(3):                                       # whatever the pre-rank scores
        assert ((kept == s).sum(1) >= 3).all()


# ---------------------------------------------------------------- the pre-rank cut, unit tests
def _reference_prerank(score, source, per, keep):
    """Brute force: each source's best `per` finite scores (stable) get RESERVED; then a
    stable descending sort of score + bonus, cut at keep."""
    from feedsim.policy.prerank import RESERVED
    bonus = np.zeros(score.shape)
    for r in range(score.shape[0]):
        for s in set(source[r].tolist()) - {-1}:
            mine = [j for j in np.argsort(-score[r], kind="stable")
                    if source[r, j] == s and np.isfinite(score[r, j])]
            bonus[r, mine[:per]] = RESERVED
    return np.argsort(-(score + bonus), axis=1, kind="stable")[:, :keep]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 40), st.integers(1, 90), st.integers(0, 3))
def test_prerank_columns_reserve_each_sources_best_then_cut_a_stable_sort(seed, keep, c, per):
    from feedsim.policy.prerank import prerank_columns
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 8, (5, c)).astype(np.float32)        # many ties
    score[rng.random(score.shape) < 0.3] = -np.inf
    source = rng.integers(-1, 4, (5, c)).astype(np.int16)
    got = prerank_columns(score, source, per, keep)
    assert np.array_equal(got, _reference_prerank(score, source, per, keep))
    plain = prerank_columns(score, None, per, keep)              # no sources: a plain cut
    assert np.array_equal(plain, np.argsort(-score, axis=1, kind="stable")[:, :keep])


def test_prerank_columns_keep_a_quiet_sources_best_and_a_missing_source_clears_nothing():
    from feedsim.policy.prerank import prerank_columns
    score = np.array([[5.0, 4.0, 3.0, 1.0], [9.0, 8.0, -np.inf, 1.0]], dtype=np.float32)
    source = np.array([[0, 0, 0, 1], [0, 0, 2, 0]], dtype=np.int16)   # row 1 lacks source 1
    assert prerank_columns(score, source, 1, 2).tolist() == [[0, 3], [0, 1]]
    assert prerank_columns(score, source, 0, 2).tolist() == [[0, 1], [0, 1]]
    assert prerank_columns(score, source, 2, 4).tolist() == [[0, 1, 3, 2], [0, 1, 3, 2]]


def test_user_vectors_are_computed_once_per_user_and_dot_scores_match(monkeypatch):
    import torch
    from feedsim.policy import prerank
    from feedsim.retrieval.two_tower import UserVectors
    table = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    asked = []

    class Tower:
        def user_vectors(self, users):
            asked.extend(users.tolist())
            return torch.from_numpy(table[users])

    vectors = UserVectors(50)
    users = np.array([3, 7, 3, 9])
    assert np.array_equal(vectors(Tower(), users), table[users])
    assert np.array_equal(vectors(Tower(), np.array([9, 7, 11])), table[[9, 7, 11]])
    assert sorted(asked) == [3, 7, 9, 11]                       # each user once
    monkeypatch.setattr(prerank, "CHUNK", 2)                    # several chunks
    catalogue = np.random.default_rng(1).standard_normal((30, 4)).astype(np.float32)
    ids = np.random.default_rng(2).integers(-1, 30, (5, 7))
    user = table[:5]
    got = prerank.dot_scores(catalogue, user, ids)
    want = np.einsum("bcd,bd->bc", catalogue[np.maximum(ids, 0)], user)
    assert np.allclose(got[ids >= 0], want[ids >= 0], atol=1e-5)
    assert np.isneginf(got[ids < 0]).all()


def test_cached_prerank_scores_are_the_fresh_dot_products(fyp_sim):
    from feedsim.policy.base import Requests
    policy = fyp_sim.arms[0].policy
    assert policy.cache is not None and policy._catalogue_vectors() is not None
    users = np.arange(0, fyp_sim.world.users.n, 7)
    requests = Requests(users, np.arange(users.size), np.zeros(users.size, np.int8),
                        np.ones(users.size, np.int32), fyp_sim.world.day)
    ids, merged, source, prescore = policy._candidates(requests)    # from the day cache
    user = policy.retriever.source("two_tower").user_vectors(users).cpu().numpy()  # no caches
    fresh = np.einsum("bcd,bd->bc", policy._catalogue_vectors()[np.maximum(ids, 0)], user)
    fresh = np.where(ids >= 0, fresh, -np.inf)
    assert (np.isneginf(prescore) == (ids < 0)).all() and (np.isneginf(fresh) == (ids < 0)).all()
    assert np.allclose(prescore[ids >= 0], fresh[ids >= 0], atol=1e-5)
    cached, _ = policy.prerank(users, ids, merged, source, prescore)
    again, emb = policy.prerank(users, ids, merged, source)
    assert np.array_equal(np.take_along_axis(ids, cached, 1), np.take_along_axis(ids, again, 1))
    vectors = policy._catalogue_vectors()
    assert np.array_equal(emb, vectors[np.maximum(np.take_along_axis(ids, again, 1), 0)])


def test_the_day_cache_refills_a_short_list_only_once_half_of_it_is_used():
    from feedsim.policy.fyp import CandidateCache
    cache = CandidateCache(3, 500)
    full, short = np.arange(500), np.where(np.arange(500) < 40, np.arange(500), -1)
    cache.store(np.array([0, 1, 2]), np.stack([full, short, short]), *(np.zeros((3, 500)),) * 3)
    cache.drain(np.array([0, 1, 2]), np.array([99, 25, 19]), refill_below=100)
    assert cache.valid.tolist() == [False, True, False]     # 99 < 100; 25 >= 20; 19 < 20
    empty = np.full((1, 500), -1)
    cache.store(np.array([0]), empty, *(np.zeros((1, 500)),) * 3)
    cache.drain(np.array([0]), np.array([0]), refill_below=100)
    assert not cache.valid[0]                             # nothing found: try again next time


def test_a_diverged_source_stops_the_run_naming_it_instead_of_being_skipped(monkeypatch):
    """A source with too little data is skipped for the day (RetrievalError); one whose model
    produced NaN vectors must not serve on: DivergedError, naming the source."""
    import torch
    from feedsim.retrieval.base import DivergedError
    from feedsim.retrieval.two_tower import TwoTowerSource
    encode = TwoTowerSource.video_vectors
    monkeypatch.setattr(TwoTowerSource, "video_vectors",
                        lambda self, ids: encode(self, ids) * torch.tensor(float("nan")))
    sim = Simulation(tiny_config("policy=fyp", "loop.days=2"))
    sim.step_day()                                      # day 0: cold start, nothing fitted
    with pytest.raises(DivergedError, match="retrieval source 'two_tower': index: .* NaN or inf"):
        sim.step_day()
