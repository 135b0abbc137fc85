"""The explain trace: one request of a tiny For You run, traced through every stage."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from feedsim.explain import main as explain_main
from feedsim.explain import parse
from feedsim.loop import Simulation
from feedsim.report.explain import ExplainError, explain, simulate_to
from feedsim.report.explain_render import SECTIONS, render_html, render_text

CFG = ("policy=fyp", "loop.regret_sample=0")
REASONS = {"same_creator", "same_sound", "creator_cap", "diversity", "exploration",
           "moderation", "seen", "locale"}


@pytest.fixture(scope="module")
def traced():
    """(sim at the start of day 1, trace of user 0's first request on day 1)."""
    sim = simulate_to(tiny_config(*CFG), 1)
    trace = explain(sim.cfg, day=1, user=0, request=0, top=8, sim=sim)
    return sim, trace


def test_every_section_is_printed_and_written(traced):
    _, trace = traced
    text, page = render_text(trace), render_html(trace)
    for name in SECTIONS:
        assert f"== {name} ==" in text
        assert f'<h2 id="{name}">' in page
    assert "http" not in page and "<script" not in page


def test_the_funnel_narrows_and_sources_add_up(traced):
    sim, trace = traced
    f = trace.funnel
    assert f["catalogue"] > f["retrieved"] >= f["pre-ranked"] >= f["on page"] >= f["viewed"] > 0
    assert trace.sources["in_candidates"].sum() == f["retrieved"]
    assert trace.sources["on_page"].sum() == f["on page"]
    assert (trace.source_top["native_score"].notna()).all() and len(trace.source_top) > 0


def test_fused_scores_are_the_rankers_and_terms_sum_to_them(traced):
    _, trace = traced
    ranked = trace.ranked
    assert trace.fusion_form == "linear" and len(ranked) == 8
    terms = ranked[[f"term_{t}" for t in trace.tasks if f"term_{t}" in ranked]].sum(axis=1)
    np.testing.assert_allclose(terms, ranked["fused"], rtol=1e-4, atol=1e-5)
    assert ranked["fused"].is_monotonic_decreasing
    page = trace.page.set_index("video")
    shared = ranked[ranked["on_page"]]
    assert len(shared) > 0
    np.testing.assert_allclose(page.loc[shared["video"], "fused"], shared["fused"], rtol=1e-6)


def test_moves_have_known_reasons_and_the_page_shows_truth_and_behaviour(traced):
    _, trace = traced
    assert set(trace.moves["reason"]) <= REASONS
    page = trace.page
    assert len(page) == 6 and page["video"].is_unique
    assert page["viewed"].iloc[0]                      # the first slot is always reached
    assert (page.loc[page["viewed"], "watch_s"] >= 0).all()
    assert page.loc[~page["viewed"], "watch_s"].isna().all()
    assert ((page["true_like"] >= 0) & (page["true_like"] <= 1)).all()
    assert trace.meta["user"] == 0 and trace.meta["day"] == 1


def test_bad_requests_fail_with_a_message(traced):
    sim, _ = traced
    with pytest.raises(ExplainError, match="users 0.."):
        explain(sim.cfg, day=sim.world.day, user=10**6, sim=sim)
    assert parse(["day=2", "user=5", "world=tiny"]) == ({"day": 2, "user": 5}, ["world=tiny"])
    assert explain_main(["run=/nonexistent", "day=1"]) == 2


@pytest.mark.slow
def test_the_traced_page_is_the_page_the_run_served():
    trace = explain(tiny_config(*CFG), day=1, user=None, request=1)
    sim = Simulation(tiny_config(*CFG))
    sim.step_day()
    log = sim.step_day().log
    served = log.select(log.request_id == trace.meta["request_id"])
    viewed = trace.page[trace.page["viewed"]]
    np.testing.assert_array_equal(served.video_id, viewed["video"])
    np.testing.assert_allclose(served.watch_s, viewed["watch_s"], rtol=1e-6)
