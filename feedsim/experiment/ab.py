"""Running an A/B experiment: the two designs, and the per-user outcome table they produce.

* `user_split`: one world, users randomised into arms by the named stream
  `experiment.assignment`; arms share the catalogue, the counters and the creators, as on a real
  platform, so interference between arms is real (and can be studied).
* `paired`: each arm runs on its own copy of the same seeded world. The world, the behaviour
  model and the day loop draw from the same named streams in every copy (common random
  numbers), so every user is observed under every arm: the counterfactual no platform can run.

Either way the output is one row per (arm, user): the user's totals over the run (impressions,
watch seconds, actions, active days, sessions). `feedsim.experiment.stats` compares arms on it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from feedsim.config.schema import Config
from feedsim.experiment.config import ExperimentPlan
from feedsim.logs.schema import ACTION_COLUMNS
from feedsim.loop import Simulation
from feedsim.loop.day import DayResult
from feedsim.rng import Streams

log = logging.getLogger("feedsim")
OUTCOME_COLUMNS = ("impressions", "watch_s", *ACTION_COLUMNS, "active_days", "sessions",
                   "last_day_active")
PAIRED_ARM = "paired"     # the arm name inside each paired copy (names its policy stream)
# Called after every simulated day with (label, simulation, day result); label is "user_split"
# or the paired arm's name. Lets an analysis keep the logs and the world (experiments/).
OnDay = Callable[[str, Simulation, DayResult], None]


def assign_users(n_users: int, n_arms: int, seed: int,
                 stream: str = "experiment.assignment") -> np.ndarray:
    """Balanced random assignment of users to arms from a named stream. (U,) int16"""
    rng = Streams(seed).numpy(stream)
    return rng.permutation(np.arange(n_users) % n_arms).astype(np.int16)


class UserOutcomes:
    """Per-user totals accumulated day by day from DayResults (bincounts, no per-user loops)."""

    def __init__(self, n_users: int):
        self.n = n_users
        self.totals = {c: np.zeros(n_users) for c in OUTCOME_COLUMNS}

    def add_day(self, result: DayResult) -> None:
        t, n = self.totals, self.n
        if result.log is not None and len(result.log):
            user = result.log.user_id.astype(np.int64)
            t["impressions"] += np.bincount(user, minlength=n)
            t["watch_s"] += np.bincount(user, result.log.watch_s.astype(np.float64), minlength=n)
            for action in ACTION_COLUMNS:
                t[action] += np.bincount(user, getattr(result.log, action).astype(np.float64),
                                         minlength=n)
        t["active_days"] += result.active
        t["sessions"] += np.where(result.active, result.sessions, 0)
        t["last_day_active"] = result.active.astype(np.float64)

    def frame(self, arm_of_user: np.ndarray, arm_names: list[str]) -> pd.DataFrame:
        """One row per user: arm name, user id and every total."""
        out = pd.DataFrame({"arm": np.asarray(arm_names, dtype=object)[arm_of_user],
                            "user_id": np.arange(self.n, dtype=np.int64)})
        for col, values in self.totals.items():
            out[col] = values
        return out


@dataclass
class ExperimentResult:
    """The per-user outcome table and the daily metrics (long format) of every arm."""
    per_user: pd.DataFrame       # arm, user_id, OUTCOME_COLUMNS
    daily: pd.DataFrame          # day, arm, metric, value
    wall_s: float


def _simulate(sim: Simulation, days: int, label: str, on_day: OnDay | None = None,
              name: str = "user_split") -> UserOutcomes:
    outcomes = UserOutcomes(sim.world.users.n)
    for _ in range(days):
        result = sim.step_day()
        outcomes.add_day(result)
        if on_day is not None:
            on_day(name, sim, result)
        log.info(f"{label} day {sim.world.day - 1}: impressions={len(result.log)} "
                 f"dau={int(result.active.sum())}")
    return outcomes


def _world_dir(out_dir: Path | None, name: str | None, cfg: Config) -> Path | None:
    if out_dir is None or not cfg.loop.write_impressions:
        return None
    path = Path(out_dir) if name is None else Path(out_dir) / "worlds" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_user_split(plan: ExperimentPlan, out_dir: Path | None = None,
                   on_day: OnDay | None = None) -> ExperimentResult:
    """One world, users randomised into the arms; returns per-user outcomes and daily metrics."""
    start, names = time.perf_counter(), [name for name, _ in plan.arms]
    arm_of_user = assign_users(plan.base.world.n_users, len(names), plan.base.seed)
    sim = Simulation(plan.base, _world_dir(out_dir, None, plan.base), arms=plan.arms,
                     arm_of_user=arm_of_user)
    outcomes = _simulate(sim, plan.base.loop.days, "user_split", on_day)
    return ExperimentResult(outcomes.frame(arm_of_user, names), sim.metrics_frame(),
                            time.perf_counter() - start)


def run_paired(plan: ExperimentPlan, out_dir: Path | None = None,
               on_day: OnDay | None = None) -> ExperimentResult:
    """Each arm on its own copy of the same seeded world (common random numbers)."""
    start, frames, daily = time.perf_counter(), [], []
    for name, cfg in plan.arms:
        # Every copy's policy also draws from one stream name: common random numbers there too.
        sim = Simulation(cfg, _world_dir(out_dir, name, cfg), arms=[(PAIRED_ARM, cfg)])
        outcomes = _simulate(sim, cfg.loop.days, f"paired[{name}]", on_day, name)
        everyone = np.zeros(sim.world.users.n, dtype=np.int16)
        frames.append(outcomes.frame(everyone, [name]))
        daily.append(sim.metrics_frame().assign(arm=name))
    return ExperimentResult(pd.concat(frames, ignore_index=True),
                            pd.concat(daily, ignore_index=True), time.perf_counter() - start)


def run_plan(plan: ExperimentPlan, out_dir: Path | None = None,
             on_day: OnDay | None = None) -> ExperimentResult:
    """Run the plan's design. `out_dir`: where impression logs go (None: keep nothing);
    `on_day`: called after every simulated day (see OnDay)."""
    runner = run_paired if plan.spec.design == "paired" else run_user_split
    return runner(plan, out_dir, on_day)
