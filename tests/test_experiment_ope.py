"""Off-policy evaluation against the truth: a target simulated on-policy in the same world."""
from __future__ import annotations

import numpy as np
import pytest

from feedsim.experiment.ope import DurationTarget, bucket_model, estimate
from feedsim.logs.schema import ImpressionBatch
from feedsim.loop import Simulation

from conftest import tiny_config

DAYS = 2
TARGET = DurationTarget(max_duration_s=8.0)      # about half the catalogue: the short videos


def logged_and_true(seed: int):
    """Random-policy logs, and the target's true value from serving it on the same world."""
    cfg = tiny_config("policy=random", "loop.write_impressions=false", f"seed={seed}")
    logger = Simulation(cfg)
    log = ImpressionBatch.concat([logger.step_day().log for _ in range(DAYS)])
    on = Simulation(cfg)
    on.arms[0].policy = TARGET.policy(on.ctx, on.streams.numpy("policy.target"))
    served = ImpressionBatch.concat([on.step_day().log for _ in range(DAYS)])
    truth = estimate(served.watch_s, np.ones(len(served)), np.ones(len(served)),
                     served.user_id).set_index("estimator").loc["ips"]
    return logger.world.videos, log, served, truth


def ope(videos, log, propensity):
    target_prob = TARGET.slot_probability(log, videos)
    edges = np.quantile(videos.duration_s, np.linspace(0, 1, 11)[1:-1])
    model = bucket_model(log.duration_s, log.watch_s.astype(np.float64), edges)
    q0, qt = TARGET.dm_terms(log, videos, edges, model)
    return estimate(log.watch_s, propensity, target_prob, log.user_id, q0, qt).set_index(
        "estimator")


@pytest.fixture(scope="module")
def world():
    return logged_and_true(seed=0)


def covers(row, truth) -> bool:
    return abs(row.value - truth.value) <= 1.96 * np.hypot(row.se, truth.se)


def test_random_policy_logs_a_uniform_propensity(world):
    videos, log, _, _ = world
    ok = ~videos.moderated
    servable = np.array([ok[videos.upload_day <= d].sum() for d in range(DAYS)])[log.day]
    # 1/propensity is the eligible count: the servable catalogue less what the user has seen.
    eligible = 1.0 / log.propensity.astype(np.float64)
    assert np.allclose(eligible, np.rint(eligible), atol=1e-3)           # a count, inverted
    assert (np.rint(eligible) <= servable).all() and (np.rint(eligible) >= servable - 512).all()
    assert (np.rint(eligible) == servable).mean() > 0.01           # first pages: nothing seen


def test_ips_snips_dr_cover_the_on_policy_truth(world):
    videos, log, served, truth = world
    assert TARGET.in_target(served.duration_s).mean() > 0.95       # the target was served
    table = ope(videos, log, log.propensity)
    for name in ("ips", "snips", "dr"):
        assert covers(table.loc[name], truth), (name, table.loc[name].value, truth.value)
    naive = log.watch_s.mean()
    assert abs(naive - truth.value) > 5 * truth.se                 # the question is not trivial
    assert table.loc["dr"].se <= 1.05 * table.loc["ips"].se


def test_wrong_logged_propensities_are_caught(world):
    videos, log, _, truth = world
    # A logger that claims a flat propensity (e.g. forgot the seen filter and new uploads).
    flat = np.full(len(log), float(np.median(log.propensity)) * 2, np.float32)
    assert not covers(ope(videos, log, flat).loc["ips"], truth)


@pytest.mark.slow
def test_coverage_over_seeds():
    hits = []
    for seed in range(1, 9):
        videos, log, _, truth = logged_and_true(seed)
        table = ope(videos, log, log.propensity)
        hits += [covers(table.loc[n], truth) for n in ("ips", "snips", "dr")]
    assert np.mean(hits) >= 0.8, hits
