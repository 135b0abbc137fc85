"""The `ranked` policy serves eligible pages, logs each task's prediction and its fused score."""
import numpy as np

from conftest import tiny_config
from feedsim.loop import Simulation
from feedsim.policy import POLICIES


def test_ranked_policy_runs_and_logs_predictions():
    assert "ranked" in POLICIES
    sim = Simulation(tiny_config("policy=ranked", "ranking.train.epochs=1",
                                 "ranking.candidates=60"))
    sim.step_day()                                  # day 0: no logs, popular order
    policy = sim.arms[0].policy
    assert not policy.ranker.fitted
    sim.step_day()                                  # day 1: trained on day 0
    assert policy.ranker.fitted and "offline/like/auc" in policy.metrics[1]
    log = sim.ctx.recent_logs[1]
    ranked = np.isfinite(log.score)
    assert ranked.mean() > 0.9
    for task in policy.ranker.cfg.heads:
        pred = log.extras[f"pred_{task}"][ranked]
        assert np.isfinite(pred).all()
    assert (log.propensity[ranked] == 1).all()             # random fallback slots: uniform
    assert not sim.ctx.view.videos.moderated[log.video_id].any()
    assert np.unique(np.stack([log.request_id, log.video_id]), axis=1).shape[1] == len(log)
