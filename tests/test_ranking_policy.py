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


def test_validation_keeps_whole_days_of_a_fixed_subset_of_users():
    from types import SimpleNamespace
    from feedsim.ranking.ranker import split_rows
    rng = np.random.default_rng(0)
    day = np.repeat([0, 1, 2], 3000)
    user = rng.integers(0, 400, day.size)
    log = SimpleNamespace(day=day, user_id=user, request_id=np.arange(day.size))
    train, val_all = split_rows(log, days=3, max_rows=0)
    assert (day[val_all] == 2).all() and val_all.size == 3000
    _, val = split_rows(log, days=3, max_rows=0, max_val_rows=600)
    kept = np.unique(user[val])
    assert 600 <= val.size < 600 + np.bincount(user[day == 2]).max()     # about 600 rows
    assert np.isin(user[val_all], kept).sum() == val.size                 # kept users: all rows
    again = split_rows(SimpleNamespace(day=day + 1, user_id=user, request_id=log.request_id),
                       days=3, max_rows=0, max_val_rows=600)[1]
    assert np.array_equal(again, val)                                     # the same users daily


def test_daily_counter_freshness_freezes_the_counters_for_the_day():
    """counter_freshness=daily: the ranker reads a copy taken at the day's first request,
    blind to the day's own impressions; a new day takes a new copy. Live reads them as is."""
    from feedsim.ranking.config import RankingConfig
    from feedsim.ranking.ranker import Ranker
    live = {"impressions": np.array([1.0, 2.0])}
    ranker = Ranker(RankingConfig(counter_freshness="daily"), view=None)
    first = ranker._serving_counts(live, day=3)
    live["impressions"] += 5.0                                  # the day's impressions land
    assert ranker._serving_counts(live, day=3)["impressions"].tolist() == [1.0, 2.0]
    assert first is ranker._serving_counts(live, day=3)
    assert ranker._serving_counts(live, day=4)["impressions"].tolist() == [6.0, 7.0]
    assert Ranker(RankingConfig(), view=None)._serving_counts(live, day=3) is live
