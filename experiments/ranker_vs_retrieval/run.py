"""The ranker after retrieval against serving in retrieval order, in the loop (issue 4).

Runs the paired-worlds A/B preset `configs/experiment/ranker_vs_retrieval.yaml`: every arm on
its own copy of the same seeded world with common random numbers, so each user is observed
under both arms. Control `retrieval_order` (policy=retrieval: the merged retrieval order);
treatment `ranker` (policy=fyp rerank=none: the same retrieval, pre-rank, the multi-task
ranker and the value model, no re-ranking). Per-user totals skip the warm-up day. Reports
watch time per DAU (the sum of watch
seconds over the sum of active user-days, a ratio of per-user totals) with its paired
delta-method and bootstrap CIs from feedsim.experiment.stats, the preset's standard table and
the daily watch time per DAU of both arms. Writes results.md and watch_per_dau.png here.

    .venv/bin/python experiments/ranker_vs_retrieval/run.py
    .venv/bin/python experiments/ranker_vs_retrieval/run.py loop.days=4 world=tiny   # overrides
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib
import numpy as np

import pandas as pd

from feedsim.experiment.ab import PAIRED_ARM, UserOutcomes
from feedsim.experiment.cli import results_table
from feedsim.loop import Simulation
from feedsim.experiment.config import build_plan
from feedsim.experiment.stats import bootstrap_effects, delta_effects, markdown
from feedsim.rng import Streams

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PRESET = "experiment=ranker_vs_retrieval"
WARMUP_DAYS = 1       # day 0: no arm has a model yet, each serves its own cold-start fallback
SHOWN = ["treatment_arm", "metric", "control", "treatment", "rel_effect", "rel_ci_low",
         "rel_ci_high", "p_value"]


class Result:
    """What results_table needs: the per-user totals after the warm-up, the daily metrics."""

    def __init__(self, per_user: pd.DataFrame, daily: pd.DataFrame):
        self.per_user, self.daily = per_user, daily


def run_paired_after_warmup(plan) -> Result:
    """feedsim.experiment.ab.run_paired, with per-user totals counted from WARMUP_DAYS on."""
    frames, daily = [], []
    for name, cfg in plan.arms:
        sim = Simulation(cfg, None, arms=[(PAIRED_ARM, cfg)])
        outcomes = UserOutcomes(sim.world.users.n)
        for day in range(cfg.loop.days):
            result = sim.step_day()
            if day >= WARMUP_DAYS:
                outcomes.add_day(result)
        print(f"{name}: {cfg.loop.days} days simulated", flush=True)
        frames.append(outcomes.frame(np.zeros(sim.world.users.n, dtype=np.int16), [name]))
        daily.append(sim.metrics_frame().assign(arm=name))
    return Result(pd.concat(frames, ignore_index=True), pd.concat(daily, ignore_index=True))


def watch_per_dau(per_user, control: str, treatment: str, n_boot: int, seed: int) -> dict:
    """Watch seconds per active user-day in both arms, the paired effect and its CIs."""
    arrays = []
    for arm in (control, treatment):
        rows = per_user[per_user.arm == arm].sort_values("user_id")
        arrays += [rows.watch_s.to_numpy()[:, None], rows.active_days.to_numpy()[:, None]]
    d = delta_effects(*arrays, paired=True)
    _, boot_rel = bootstrap_effects(*arrays, paired=True, n_boot=n_boot,
                                    rng=Streams(seed).numpy("experiment.bootstrap"))
    lo, hi = np.nanpercentile(boot_rel[:, 0], [2.5, 97.5])
    return {"control": d["control"][0], "treatment": d["treatment"][0],
            "rel": d["rel_effect"][0], "rel_lo": d["rel_effect"][0] - 1.96 * d["rel_se"][0],
            "rel_hi": d["rel_effect"][0] + 1.96 * d["rel_se"][0], "boot_lo": lo, "boot_hi": hi}


def plot(daily, path: Path) -> None:
    rows = daily[daily.metric == "watch_s_per_dau"]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for arm, part in rows.groupby("arm"):
        part = part.sort_values("day")
        ax.plot(part.day, part.value, marker="o", label=arm)
    ax.set_xlabel("day")
    ax.set_ylabel("watch seconds per DAU")
    ax.set_title("Ranker after retrieval vs retrieval order (paired worlds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str]) -> None:
    start = time.perf_counter()
    plan = build_plan([PRESET, "loop.progress=false", "loop.report=false", *argv])
    result = run_paired_after_warmup(plan)
    names = [name for name, _ in plan.arms]
    table = results_table(plan, result)
    w = watch_per_dau(result.per_user, plan.control, names[1], plan.spec.bootstrap,
                      plan.base.seed)
    here = Path(__file__).parent
    plot(result.daily, here / "watch_per_dau.png")
    days = result.daily[result.daily.metric == "watch_s_per_dau"].pivot(
        index="day", columns="arm", values="value")
    lines = [
        f"# Ranker after retrieval vs retrieval order ({plan.base.world.n_users} users, "
        f"{plan.base.loop.days} days, seed {plan.base.seed}, paired worlds)", "",
        f"Arms: {', '.join(f'{n} {plan.spec.arms[n]}' for n in names)}. Generated by run.py "
        f"in {time.perf_counter() - start:.0f} s (`{' '.join([PRESET, *argv])}`).", "",
        f"Per-user totals and CIs count days {WARMUP_DAYS} onwards: on day 0 no arm has a "
        "model yet and each serves its own cold-start fallback (retrieval: the popular "
        "baseline; fyp: popular, fresh and random candidates). The daily table shows every day.",
        "", f"## Watch time per DAU (watch seconds / active user-days, days {WARMUP_DAYS}+)", "",
        "| control | treatment | relative effect | 95 % CI (delta) | 95 % CI (bootstrap) |",
        "|---|---|---|---|---|",
        f"| {w['control']:.1f} s | {w['treatment']:.1f} s | {w['rel']:+.2%} | "
        f"[{w['rel_lo']:+.2%}, {w['rel_hi']:+.2%}] | [{w['boot_lo']:+.2%}, {w['boot_hi']:+.2%}] |",
        "", "## Daily watch seconds per DAU", "", markdown(days.reset_index()), "",
        "![watch seconds per DAU](watch_per_dau.png)", "",
        f"## Per-user metrics, days {WARMUP_DAYS}+ (paired delta-method CIs)", "", markdown(table[SHOWN])]
    (here / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
