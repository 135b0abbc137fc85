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
