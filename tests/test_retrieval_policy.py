"""The retrieval-only policy runs the loop end to end and tags impressions with their source."""
from __future__ import annotations

import numpy as np
from conftest import tiny_config

from feedsim.loop import Simulation
from feedsim.policy import POLICIES


def test_retrieval_policy_serves_from_learned_sources_after_day_zero():
    assert "retrieval" in POLICIES
    cfg = tiny_config("policy=retrieval", "loop.days=2", "device=cpu",
                      "retrieval.two_tower.epochs=1", "retrieval.mf.iterations=3",
                      "retrieval.total_candidates=200")
    sim = Simulation(cfg)
    policy = sim.arms[0].policy
    assert policy.source_names[:2] == ("two_tower", "mf")
    day0 = sim.step_day().log
    names = np.array(sim.source_names)
    assert set(names[day0.source]) <= {"popular", "random"}
    day1 = sim.step_day().log
    used = set(names[day1.source])
    assert {"two_tower", "mf"} <= used, used
    assert not sim.world.videos.moderated[day1.video_id].any()
    page = day1.request_id.astype(np.int64) * 10_000 + day1.video_id
    assert np.unique(page).size == page.size                 # no video twice in a page
    scored = np.isin(names[day1.source], list(policy.retriever.source_names))
    assert np.isfinite(day1.score[scored]).all()



def test_retrieval_figures_land_in_the_run_metrics_without_touching_serving_streams():
    from feedsim.retrieval.evaluate import TrueValue, attach_truth, day_metrics

    cfg = tiny_config("policy=retrieval", "loop.days=2", "device=cpu",
                      "retrieval.two_tower.epochs=1", "retrieval.mf.iterations=3",
                      "retrieval.total_candidates=200", "retrieval.eval_users=8",
                      "retrieval.eval_k=100")
    sim = Simulation(cfg)
    policy = sim.arms[0].policy
    assert policy.day_metrics() == {}                        # no truth attached, nothing fitted
    assert attach_truth(policy, TrueValue(sim.behavior.truth))
    for _ in range(2):
        sim.step_day()
    metrics = sim.metrics_frame()
    mine = metrics[metrics.metric.str.startswith("retrieval/")]
    assert set(mine.day) == {1}                              # day 0 serves the fallback
    values = dict(zip(mine.metric, mine.value))
    for source in ("two_tower", "mf", "merged"):
        assert 0.0 < values[f"retrieval/{source}/recall"] <= 1.0
        assert 0.0 < values[f"retrieval/{source}/coverage"] <= 1.0
    fresh = policy.retriever.source("fresh").rng
    before = fresh.bit_generator.state
    again = day_metrics(policy.retriever, 1, 8, 100)         # the fresh source draws keys
    assert set(again) == set(values) and fresh.bit_generator.state == before
