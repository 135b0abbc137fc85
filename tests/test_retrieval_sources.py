"""Contract tests for every retrieval source and the merge, plus bad input naming its cause."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from feedsim.retrieval.base import EmptyLogError, NotFittedError, RetrievalError
from feedsim.retrieval.config import ALL_SOURCES, RetrievalConfig
from feedsim.retrieval.index import make_index
from feedsim.retrieval.merge import quota_sizes
from feedsim.retrieval.retriever import Retriever


def small_cfg(**kw) -> RetrievalConfig:
    cfg = tiny_config().retrieval
    cfg.total_candidates = 100
    cfg.two_tower.epochs, cfg.two_tower.dim = 1, 16
    cfg.mf.factors, cfg.mf.iterations = 8, 3
    cfg.overfetch = 3.0             # one-epoch tiny models mix languages: fetch more to filter
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture(scope="module")
def fitted(tiny_logged_sim):
    cfg = small_cfg(sources=list(ALL_SOURCES))
    return Retriever(cfg, tiny_logged_sim.ctx, seed=1).fit()


@pytest.mark.parametrize("name", ALL_SOURCES)
def test_every_source_returns_valid_tagged_candidates(fitted, name):
    users = np.arange(50)
    cands = fitted.source(name).retrieve(users, 40)
    ids, n = cands.video_ids, fitted.ctx.view.videos.n
    assert ids.shape[0] == 50 and ids.shape[1] <= 40
    assert ((ids == -1) | ((ids >= 0) & (ids < n))).all()
    assert (cands.source == fitted.source_names.index(name)).all()
    real = ids >= 0
    assert real.any(), f"{name} retrieved nothing"
    ordered = np.where(real[:, 1:], np.diff(cands.scores, axis=1) <= 1e-6, True)
    assert ordered.all(), f"{name} is not best-first"


def test_merge_fills_quotas_filters_and_keeps_source_tags(fitted):
    users = np.arange(60)
    merged = fitted.retrieve(users)
    ctx = fitted.ctx
    ids = merged.video_ids
    assert ids.shape == (60, 100)
    real = ids >= 0
    safe = np.maximum(ids, 0)
    assert real.mean() > 0.5
    assert not (ctx.view.videos.moderated[safe] & real).any()
    lang_ok = ctx.view.videos.language[safe] == ctx.view.user_language[users][:, None]
    assert lang_ok[real].all()
    assert not (ctx.seen.contains(users, safe) & real).any()
    for row in ids:                                         # no repeats within a row
        assert np.unique(row[row >= 0]).size == (row >= 0).sum()
    assert set(np.unique(merged.source[real])) <= set(range(len(fitted.source_names)))
    assert np.unique(merged.source[real]).size >= 4
    head = merged.scores[:, :20]
    both = np.isfinite(head[:, 1:]) & np.isfinite(head[:, :-1])
    assert (np.diff(np.where(np.isfinite(head), head, 0), axis=1)[both] <= 0).all()


def test_market_filter_keeps_the_users_market(tiny_logged_sim):
    r = Retriever(small_cfg(sources=["popular", "fresh"], filter_by="market"),
                  tiny_logged_sim.ctx, seed=1).fit()
    users = np.arange(40)
    ids = r.retrieve(users).video_ids
    view = tiny_logged_sim.ctx.view
    market = view.creator_market[view.videos.creator[np.maximum(ids, 0)]]
    assert (market == view.user_market[users][:, None])[ids >= 0].all()


def test_quota_sizes_sum_to_total_and_follow_weights():
    assert quota_sizes(["a", "b", "c"], {"a": 2, "b": 1, "c": 1}, 10) == [5, 3, 2]
    assert sum(quota_sizes(["a", "b"], {"a": 1, "b": 2}, 500)) == 500


def test_retrieve_before_fit_names_the_cause(tiny_logged_sim):
    r = Retriever(small_cfg(sources=["item2item", "trending"]), tiny_logged_sim.ctx, seed=1)
    with pytest.raises(NotFittedError, match="before fit"):
        r.retrieve(np.arange(3))
    with pytest.raises(NotFittedError, match="'item2item'.*before fit"):
        r.source("item2item").retrieve(np.arange(3), 5)


@pytest.mark.parametrize("name", ["two_tower", "mf", "item2item", "follow"])
def test_empty_log_names_the_cause(tiny_logged_sim, name):
    r = Retriever(small_cfg(sources=[name]), tiny_logged_sim.ctx, seed=1)
    empty = tiny_logged_sim.ctx.training_log(1).select(np.zeros(len(tiny_logged_sim.ctx.training_log(1)), bool))
    with pytest.raises(EmptyLogError, match="empty impression log"):
        r.fit(empty)
    with pytest.raises(EmptyLogError, match=f"{name!r}.*empty"):
        r.source(name).fit(empty)


def test_log_without_positives_names_the_cause(tiny_logged_sim):
    log = tiny_logged_sim.ctx.training_log(1)
    skips = log.select(log.watch_s < 0.5)
    for name in ("two_tower", "mf", "item2item"):
        r = Retriever(small_cfg(sources=[name]), tiny_logged_sim.ctx, seed=1)
        with pytest.raises(EmptyLogError, match="no positive"):
            r.fit(skips)


def test_quota_sum_zero_names_the_cause(tiny_logged_sim):
    cfg = small_cfg(sources=["trending", "fresh"], quotas={"trending": 0.0, "fresh": 0.0})
    with pytest.raises(RetrievalError, match="quotas.*sum to zero"):
        Retriever(cfg, tiny_logged_sim.ctx, seed=1)


def test_unknown_names_name_the_cause(tiny_logged_sim):
    with pytest.raises(RetrievalError, match="unknown source 'tow_tower'"):
        Retriever(small_cfg(sources=["tow_tower"]), tiny_logged_sim.ctx, seed=1)
    with pytest.raises(RetrievalError, match="filter_by.*'region'"):
        Retriever(small_cfg(sources=["fresh"], filter_by="region"), tiny_logged_sim.ctx, seed=1)
    cfg = small_cfg()
    cfg.index.kind = "annoy"
    with pytest.raises(RetrievalError, match="index.kind.*'annoy'"):
        make_index(cfg.index)
    cfg = small_cfg(sources=["mf"])
    cfg.mf.algorithm = "svd"
    with pytest.raises(RetrievalError, match="mf.algorithm.*'svd'"):
        Retriever(cfg, tiny_logged_sim.ctx, seed=1).fit()


def test_unknown_source_in_config_fails_at_compose():
    with pytest.raises(Exception, match="two_towr"):
        tiny_config("retrieval.two_towr.dim=3")


def test_mf_bpr_option_fits(tiny_logged_sim):
    cfg = small_cfg(sources=["mf"])
    cfg.mf.algorithm = "bpr"
    r = Retriever(cfg, tiny_logged_sim.ctx, seed=1).fit()
    assert (r.source("mf").retrieve(np.arange(20), 10).video_ids >= 0).any()


def _sorted_merge(user_ids, parts, sizes, total, keep):
    """The merge as whole-array numpy (a stable argsort, first copies, then the filters):
    the reference the compiled merge must reproduce."""
    from feedsim.policy.base import first_occurrence
    from feedsim.retrieval.merge import interleave_scores
    ids = np.concatenate([p.video_ids for p in parts], axis=1)
    merged = np.concatenate([interleave_scores(p, q) for p, q in zip(parts, sizes)], axis=1)
    source = np.concatenate([p.source for p in parts], axis=1)
    order = np.argsort(-merged, axis=1, kind="stable")
    ids, merged, source = (np.take_along_axis(a, order, axis=1) for a in (ids, merged, source))
    ok = first_occurrence(ids) & keep(user_ids, ids) & np.isfinite(merged)
    out = np.full((ids.shape[0], total), -1), np.full((ids.shape[0], total), -np.inf), \
        np.full((ids.shape[0], total), -1)
    for b in range(ids.shape[0]):
        cols = np.flatnonzero(ok[b])[:total]
        for a, col in zip(out, (ids, merged, source)):
            a[b, :cols.size] = col[b, cols]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_compiled_merge_equals_the_sorted_merge(seed):
    """Parts with repeats across and within sources, padding, and a filter that depends on
    the (user, video) pair: the compiled merge keeps what the sorted reference keeps."""
    from feedsim.retrieval.base import Candidates
    from feedsim.retrieval.merge import merge
    rng = np.random.default_rng(seed)
    b, total = 7, int(rng.integers(5, 60))
    sizes = [int(s) for s in rng.integers(1, 40, 4)]
    parts = []
    for source_id, size in enumerate(sizes):
        ids = rng.integers(0, 50, (b, 2 * size))
        ids[rng.random(ids.shape) < 0.15] = -1                    # padding among the ids
        parts.append(Candidates(ids, np.zeros(ids.shape, np.float32),
                                np.full(ids.shape, source_id, np.int16)))
    users = np.arange(b)
    banned = rng.random((b, 50)) < 0.3
    keep = lambda u, v: (v >= 0) & ~banned[u[:, None], np.maximum(v, 0)]   # noqa: E731
    got = merge(users, parts, sizes, total, keep)
    want = _sorted_merge(users, parts, sizes, total, keep)
    np.testing.assert_array_equal(got.video_ids, want[0])
    np.testing.assert_array_equal(got.scores, want[1].astype(np.float32))
    np.testing.assert_array_equal(got.source, want[2])


def test_fresh_draws_ordered_samples_without_replacement_uniformly():
    """Each row: distinct ids of its own language's pool, all of a short pool; over many rows
    every pool member is drawn about equally often, at every rank."""
    from feedsim.retrieval.fresh import _draw_rows
    rng = np.random.default_rng(0)
    pools = np.full((2, 12), -1)
    pools[0, :10], pools[1, :3] = np.arange(10), np.arange(100, 103)
    sizes = (pools >= 0).sum(axis=1)
    lang = np.r_[np.zeros(20_000, np.int64), np.ones(50, np.int64)]
    out = np.full((lang.size, 4), -1)
    _draw_rows(pools, sizes, lang, rng.random((lang.size, 4)), out)
    long, short = out[:20_000], out[20_000:]
    assert all(len(set(row)) == 4 for row in long[:500]) and np.isin(long, np.arange(10)).all()
    assert (np.sort(short[:, :3], axis=1) == [100, 101, 102]).all() and (short[:, 3] == -1).all()
    for rank in range(4):                          # 2 000 expected per member and rank
        counts = np.bincount(long[:, rank], minlength=10)
        assert np.abs(counts - 2_000).max() < 200, (rank, counts)
