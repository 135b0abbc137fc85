"""Offline evaluation: the metrics on known answers, and the learned sources against the truth."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from feedsim.retrieval.evaluate import evaluate_retriever, in_rows, recall_ndcg
from feedsim.retrieval.retriever import Retriever


def test_recall_and_ndcg_on_known_answers():
    relevant = np.array([[1, 2, 3, 4]])
    assert recall_ndcg(np.array([[1, 2, 3, 4]]), relevant) == (1.0, 1.0)
    r, n = recall_ndcg(np.array([[9, 8, 1, 2]]), relevant)
    assert r == 0.5 and 0 < n < 0.5
    assert recall_ndcg(np.array([[-1, -1, 7, 8]]), relevant) == (0.0, 0.0)
    assert in_rows(np.array([[5, -1, 2]]), np.array([[2, 5, -1]])).tolist() == [[True, False, True]]


@pytest.fixture(scope="module")
def report(tiny_logged_sim):
    sim = tiny_logged_sim
    cfg = tiny_config().retrieval
    cfg.sources, cfg.total_candidates = ["two_tower", "popular", "fresh"], 100
    cfg.two_tower.epochs = 2
    retriever = Retriever(cfg, sim.ctx, seed=0).fit()
    users = np.arange(0, sim.world.users.n, 3)
    truth = lambda u, v: sim.behavior.truth(u, v).value                    # noqa: E731
    return {row["source"]: row for row in evaluate_retriever(retriever, users, truth, k=100)}


def test_evaluation_reports_every_source_and_the_merge(report):
    assert set(report) == {"two_tower", "popular", "fresh", "merged"}
    for row in report.values():
        assert 0.0 <= row["recall"] <= 1.0 and 0.0 <= row["ndcg"] <= 1.0
        assert 0.0 < row["coverage"] <= 1.0


def test_two_tower_beats_fresh_exploration_against_the_truth(report):
    assert report["two_tower"]["recall"] > report["fresh"]["recall"] + 0.1
    assert report["two_tower"]["log_popularity"] > report["fresh"]["log_popularity"]


def tower_report(sim, *overrides: str) -> dict:
    cfg = tiny_config(*overrides).retrieval
    cfg.sources, cfg.total_candidates, cfg.two_tower.epochs = ["two_tower"], 100, 2
    retriever = Retriever(cfg, sim.ctx, seed=0).fit()
    users = np.arange(0, sim.world.users.n, 3)
    truth = lambda u, v: sim.behavior.truth(u, v).value                    # noqa: E731
    return {r["source"]: r for r in evaluate_retriever(retriever, users, truth, k=100)}


def test_without_logq_the_two_tower_buries_popular_videos(tiny_logged_sim, report):
    """The classic logQ lesson, measured without the exposure correction on either side; and
    the exposure correction stops the towers re-learning what the logging policy showed."""
    sim = tiny_logged_sim
    assert tiny_config("retrieval=no_logq").retrieval.two_tower.logq is False
    on = tower_report(sim, "retrieval.two_tower.exposure_correction=false")["two_tower"]
    off = tower_report(sim, "retrieval=no_logq",
                       "retrieval.two_tower.exposure_correction=false")["two_tower"]
    assert off["log_popularity"] < on["log_popularity"] - 0.05
    assert report["two_tower"]["log_popularity"] < on["log_popularity"] - 0.05


def test_retrieval_presets_compose():
    assert tiny_config("retrieval=two_tower").retrieval.sources == ["two_tower"]
    assert tiny_config("retrieval=no_logq").retrieval.sources[0] == "two_tower"
