"""Paired worlds after a warm-up day, and watch time per DAU with its paired CIs.

`feedsim.experiment.ab.run_paired` counts every day of a run into the per-user totals. The
experiments that compare whole feeds (experiments/ranker_vs_retrieval, experiments/
policy_ordering) leave day 0 out: on day 0 no learned arm has a model yet and each serves its
own cold-start fallback, so day 0 measures the fallbacks, not the feeds. This module runs a
paired plan with per-user totals counted from a warm-up onwards and reports the headline of
those experiments, watch seconds per DAU (the sum of watch seconds over the sum of active
user-days, a ratio of per-user totals), with the paired delta-method and bootstrap CIs of
`feedsim.experiment.stats`. The daily metrics frame of every arm keeps every day.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from feedsim.experiment.ab import PAIRED_ARM, UserOutcomes
from feedsim.experiment.config import ExperimentPlan
from feedsim.experiment.stats import bootstrap_effects, delta_effects
from feedsim.loop import Simulation
from feedsim.rng import Streams

WARMUP_DAYS = 1       # day 0: no arm has a model yet, each serves its own cold-start fallback
# Called after every simulated day with (arm name, day, simulation): progress lines, timings.
OnDay = Callable[[str, int, Simulation], None]


class Result:
    """What results_table needs: the per-user totals after the warm-up, the daily metrics."""

    def __init__(self, per_user: pd.DataFrame, daily: pd.DataFrame):
        self.per_user, self.daily = per_user, daily


def _run_arm(name: str, cfg, warmup_days: int,
             on_day: OnDay | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One arm on its own copy of the seeded world: (per-user totals, daily metrics)."""
    sim = Simulation(cfg, None, arms=[(PAIRED_ARM, cfg)])
    outcomes = UserOutcomes(sim.world.users.n)
    for day in range(cfg.loop.days):
        result = sim.step_day()
        if day >= warmup_days:
            outcomes.add_day(result)
        if on_day is not None:
            on_day(name, day, sim)
    everyone = np.zeros(sim.world.users.n, dtype=np.int16)
    return outcomes.frame(everyone, [name]), sim.metrics_frame().assign(arm=name)


def run_paired_after_warmup(plan: ExperimentPlan, warmup_days: int = WARMUP_DAYS,
                            on_day: OnDay | None = None) -> Result:
    """feedsim.experiment.ab.run_paired, with per-user totals counted from `warmup_days` on."""
    frames, daily = [], []
    for name, cfg in plan.arms:
        per_user, metrics = _run_arm(name, cfg, warmup_days, on_day)
        print(f"{name}: {cfg.loop.days} days simulated", flush=True)
        frames.append(per_user)
        daily.append(metrics)
    return Result(pd.concat(frames, ignore_index=True), pd.concat(daily, ignore_index=True))


def _watch_arrays(per_user: pd.DataFrame, arm: str) -> list[np.ndarray]:
    """Watch seconds and active days of one arm's users in user order, each (n_users, 1)."""
    rows = per_user[per_user.arm == arm].sort_values("user_id")
    return [rows.watch_s.to_numpy()[:, None], rows.active_days.to_numpy()[:, None]]


def watch_per_dau(per_user: pd.DataFrame, control: str, treatment: str, n_boot: int,
                  seed: int) -> dict:
    """Watch seconds per active user-day in both arms, the paired effect and its CIs."""
    arrays = _watch_arrays(per_user, control) + _watch_arrays(per_user, treatment)
    d = delta_effects(*arrays, paired=True)
    _, boot_rel = bootstrap_effects(*arrays, paired=True, n_boot=n_boot,
                                    rng=Streams(seed).numpy("experiment.bootstrap"))
    lo, hi = np.nanpercentile(boot_rel[:, 0], [2.5, 97.5])
    return {"control": d["control"][0], "treatment": d["treatment"][0],
            "rel": d["rel_effect"][0], "rel_lo": d["rel_effect"][0] - 1.96 * d["rel_se"][0],
            "rel_hi": d["rel_effect"][0] + 1.96 * d["rel_se"][0], "boot_lo": lo, "boot_hi": hi}


def save_frames(out_dir: Path, result: Result, wall_s: float, folder: str = "frames") -> None:
    """The per-user and daily frames and the run's wall time, under out_dir/folder/, so that a
    report can be rewritten without simulating again (`load_frames`)."""
    frames = Path(out_dir) / folder
    frames.mkdir(parents=True, exist_ok=True)
    result.per_user.to_parquet(frames / "per_user.parquet", index=False)
    result.daily.to_parquet(frames / "daily.parquet", index=False)
    (frames / "run.json").write_text(json.dumps({"wall_s": wall_s}))


def load_frames(out_dir: Path, folder: str = "frames") -> tuple[Result, float]:
    """(result, wall_s) saved by `save_frames`; a one-line exit when there are none."""
    frames = Path(out_dir) / folder
    if not (frames / "run.json").exists():
        raise SystemExit(f"{frames / 'run.json'}: not found; run without --report-only first")
    wall_s = json.loads((frames / "run.json").read_text())["wall_s"]
    return Result(pd.read_parquet(frames / "per_user.parquet"),
                  pd.read_parquet(frames / "daily.parquet")), wall_s


QUIET = ["loop.progress=false", "loop.report=false", "loop.write_impressions=false"]


def split_out(argv: list[str], default: Path) -> tuple[Path, list[str]]:
    """(the folder after `--out`, or `default`; the other arguments) of a run.py command line."""
    if "--out" not in argv:
        return default, list(argv)
    i = argv.index("--out")
    if i + 1 >= len(argv):
        raise SystemExit("run.py: error: --out needs a folder")
    return Path(argv[i + 1]), argv[:i] + argv[i + 2:]


def run_or_load(preset: str, argv: list[str], default_out: Path, on_day: OnDay | None = None):
    """The command line of a paired experiment's run.py: `--out DIR` (default `default_out`),
    `--report-only` (rewrite from the frames saved by an earlier run) and Hydra overrides.
    Runs the plan (saving its frames) or loads them. Returns (plan, result, out, overrides,
    wall_s)."""
    from feedsim.experiment.config import build_plan
    start = time.perf_counter()
    out, rest = split_out([a for a in argv if a != "--report-only"], default_out)
    plan = build_plan([preset, *QUIET, *rest])
    if "--report-only" in argv:
        result, wall_s = load_frames(out)
    else:
        result = run_paired_after_warmup(plan, on_day=on_day)
        wall_s = time.perf_counter() - start
        save_frames(out, result, wall_s)
    return plan, result, out, rest, wall_s
