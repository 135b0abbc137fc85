"""Page rules and filters: invariants on random slates, and hand-checked examples."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsim.rerank.base import Reason
from feedsim.rerank.config import CreatorCapConfig, RerankConfig
from feedsim.rerank.pipeline import Reranker
from feedsim.rerank.synthetic import random_slate

K = 6
RULES = ["moderation", "seen", "locale", "dpp", "no_same_creator", "no_same_sound",
         "creator_cap"]
EXPLORE = ["traffic_pools", "thompson", "epsilon"]


def served(res, slate, what: np.ndarray) -> np.ndarray:
    """`what` (B, C) at each served slot. (B, K)"""
    return np.take_along_axis(what, np.maximum(res.columns, 0), axis=1) & (res.columns >= 0)


def run_with_history(slate, res, column: np.ndarray) -> np.ndarray:
    """The last served video's value followed by the page's. (B, 1 + K)"""
    page = np.take_along_axis(column, np.maximum(res.columns, 0), axis=1)
    return np.concatenate([slate.recent_creator[:, -1:] if column is slate.creator
                           else slate.recent_sound[:, -1:], page], axis=1)


def check_invariants(slate, res):
    vids = res.video_ids
    filled = vids >= 0
    for row in vids:
        real = row[row >= 0]
        assert len(set(real.tolist())) == real.size, "a video twice on a page"
    assert not served(res, slate, slate.moderated).any()
    assert not served(res, slate, slate.seen).any()
    p = res.propensity[filled]
    assert ((p > 0) & (p <= 1)).all()
    # a page is full whenever the slate had K servable candidates
    ok = slate.base_valid & ~slate.moderated & ~slate.seen & (slate.language == 1)
    assert (filled.all(axis=1) | (ok.sum(axis=1) < K)).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_creators=st.integers(1, 6),
       n_sounds=st.integers(1, 6), moderated=st.floats(0, 0.6), seen=st.floats(0, 0.6),
       cap=st.integers(1, 3), explore=st.booleans())
def test_page_invariants_on_random_slates(seed, n_creators, n_sounds, moderated, seen, cap,
                                          explore):
    rng = np.random.default_rng(seed)
    slate = random_slate(rng, b=16, c=40, n_creators=n_creators, n_sounds=n_sounds,
                         moderated=moderated, seen=seen, foreign=0.2, unique_tail=2 * K + 2)
    cfg = RerankConfig(steps=RULES + (EXPLORE if explore else []), history=1,
                       creator_cap=CreatorCapConfig(max_per_window=cap, window=4))
    cfg.epsilon.fresh_days = -1
    reranker = Reranker(cfg, K)
    if explore:                                       # every video owed test impressions
        pools = reranker.step("traffic_pools").pools
        pools.stage, pools.entry = np.zeros(10 * 40, dtype=np.int8), np.zeros(10 * 40)
    res = reranker.rerank(slate, rng)
    check_invariants(slate, res)
    assert not served(res, slate, slate.language != 1).any()
    if explore:
        return
    for column in (slate.creator, slate.sound):      # the unique tail keeps the rules feasible
        run = run_with_history(slate, res, column)
        assert not (run[:, 1:] == run[:, :-1]).any(), "two consecutive same creator/sound"
    creators = np.take_along_axis(slate.creator, res.columns, axis=1)
    for start in range(K - 3):
        window = creators[:, start:start + 4]
        counts = (window[:, :, None] == window[:, None, :]).sum(axis=2)
        assert (counts <= cap).all(), "creator cap broken"


def tiny_slate(creators, sounds, scores=None, recent_creator=-1):
    rng = np.random.default_rng(0)
    c = len(creators)
    slate = random_slate(rng, b=1, c=c, moderated=0.0, seen=0.0, history=1)
    score = np.asarray(scores if scores is not None else -np.arange(c), dtype=np.float32)
    return replace(slate, creator=np.array([creators]), sound=np.array([sounds]),
                   score=score[None], language=np.ones((1, c), dtype=np.int64),
                   recent_creator=np.array([[recent_creator]]), recent_sound=np.array([[-1]]))


def test_same_creator_rule_takes_the_next_best_candidate():
    slate = tiny_slate(creators=[7, 7, 7, 1, 2, 3, 4, 5], sounds=list(range(8)))
    res = Reranker(RerankConfig(steps=["moderation", "no_same_creator"]), K).rerank(
        slate, np.random.default_rng(0))
    np.testing.assert_array_equal(res.columns[0], [0, 3, 1, 4, 2, 5])
    moves = res.trace.for_row(0)
    assert moves[0] == (1, int(slate.candidates[0, 1]), int(slate.candidates[0, 3]),
                        "same_creator")


def test_rules_hold_across_the_page_boundary():
    slate = tiny_slate(creators=[9, 1, 2, 3, 4, 5, 6], sounds=list(range(7)), recent_creator=9)
    res = Reranker(RerankConfig(steps=["moderation", "no_same_creator"]), K).rerank(
        slate, np.random.default_rng(0))
    assert res.columns[0, 0] == 1


def test_creator_cap_limits_a_creator_per_window():
    creators = [7, 1, 7, 2, 7, 3, 7, 4, 5]
    slate = tiny_slate(creators=creators, sounds=list(range(9)))
    cfg = RerankConfig(steps=["moderation", "creator_cap"], history=0,
                       creator_cap=CreatorCapConfig(max_per_window=2, window=6))
    res = Reranker(cfg, K).rerank(slate, np.random.default_rng(0))
    page = np.array(creators)[res.columns[0]]
    assert (page == 7).sum() == 2
    np.testing.assert_array_equal(res.columns[0], [0, 1, 2, 3, 5, 7])
    assert Reason.CREATOR_CAP in res.trace.reason


def test_infeasible_rules_relax_rather_than_drop_slots():
    slate = tiny_slate(creators=[7] * 8, sounds=[3] * 8)
    cfg = RerankConfig(steps=["moderation", "no_same_creator", "no_same_sound", "creator_cap"])
    res = Reranker(cfg, K).rerank(slate, np.random.default_rng(0))
    np.testing.assert_array_equal(res.columns[0], np.arange(K))


def test_locale_filter_allows_english_only_when_configured():
    rng = np.random.default_rng(0)
    slate = random_slate(rng, b=4, c=30, moderated=0.0, seen=0.0)
    lang = rng.choice([0, 1, 2], size=slate.candidates.shape)
    slate = replace(slate, language=lang)
    for allow, ok in ((True, {0, 1}), (False, {1})):
        cfg = RerankConfig(steps=["moderation", "locale"])
        cfg.locale.allow_english = allow
        res = Reranker(cfg, K).rerank(slate, rng)
        assert set(np.take_along_axis(lang, res.columns, axis=1).ravel().tolist()) <= ok
        assert (res.columns >= 0).all()


@pytest.mark.parametrize("reason,mask", [("moderation", "moderated"), ("seen", "seen")])
def test_filters_trace_what_they_removed_from_the_page(reason, mask):
    rng = np.random.default_rng(0)
    slate = random_slate(rng, b=8, c=30, moderated=0.3, seen=0.3)
    res = Reranker(RerankConfig(steps=["moderation", "seen"]), K).rerank(slate, rng)
    code = Reason[reason.upper()]
    hits = res.trace.reason == code
    assert hits.any()
    removed = res.trace.video[hits]
    flagged = set(slate.candidates[getattr(slate, mask)].tolist())
    assert set(removed.tolist()) <= flagged


@pytest.mark.parametrize("c", [3, 7])
def test_short_and_empty_rows_never_repeat_or_serve_filtered_videos(c):
    # fewer candidates than slots, an all-padding row and a row of one repeated video
    rng = np.random.default_rng(c)
    slate = random_slate(rng, b=6, c=c, moderated=0.3, seen=0.3, fresh=1.0)
    cand = slate.candidates.copy()
    cand[0], cand[1, 1:] = -1, cand[1, 0]
    slate = replace(slate, candidates=cand)
    cfg = RerankConfig()
    cfg.epsilon.epsilon = 0.5
    res = Reranker(cfg, K).rerank(slate, rng)
    check_invariants(slate, res)
    assert (res.video_ids[0] == -1).all() and (res.video_ids[1] >= 0).sum() <= 1


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_creators=st.integers(1, 5),
       n_sounds=st.integers(1, 5), cap=st.integers(1, 3), window=st.integers(2, 7),
       history=st.integers(1, 4), tail=st.booleans())
def test_compiled_fill_picks_the_pages_of_the_traced_fill(seed, n_creators, n_sounds, cap,
                                                         window, history, tail):
    """Serving fills the page in one compiled pass; explanations fill it slot by slot in numpy
    to trace displacements. Both pick the same videos, feasible rules or relaxed."""
    slate = random_slate(np.random.default_rng(seed), b=12, c=30, n_creators=n_creators,
                         n_sounds=n_sounds, moderated=0.2, seen=0.2, foreign=0.1,
                         unique_tail=2 * K + 2 if tail else 0, history=history)
    cfg = RerankConfig(steps=RULES, history=history,
                       creator_cap=CreatorCapConfig(max_per_window=cap, window=window))
    traced = Reranker(cfg, K, tracing=True).rerank(slate, np.random.default_rng(1))
    fast = Reranker(cfg, K, tracing=False).rerank(slate, np.random.default_rng(1))
    np.testing.assert_array_equal(fast.columns, traced.columns)
    np.testing.assert_array_equal(fast.video_ids, traced.video_ids)
