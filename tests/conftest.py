"""Shared fixtures: small worlds made by the tests themselves (nothing is downloaded)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from feedsim.config.compose import load_config  # noqa: E402
from feedsim.loop import Simulation  # noqa: E402


def tiny_config(*overrides: str):
    """The tiny preset with progress bars off, plus any Hydra overrides."""
    return load_config(["world=tiny", "loop.progress=false", *overrides])


@pytest.fixture(scope="session")
def tiny_logged_sim():
    """A tiny world run for 3 days under the popular baseline: a Simulation with logs in memory."""
    sim = Simulation(tiny_config("policy=popular", "loop.days=3"))
    for _ in range(3):
        sim.step_day()
    return sim
