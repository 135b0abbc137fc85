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
