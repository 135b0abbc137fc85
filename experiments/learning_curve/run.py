"""Does the learned feed keep learning after its first fit? Daily retraining against frozen.

Runs the paired-worlds preset `configs/experiment/learning_curve.yaml` (default world, 10 k
users, 7 days): `daily`, the fyp feed retrained every day, and `frozen`, the same feed whose
models are fitted once, on day 1 from day 0's cold-start logs, and never again. Both see the
same users with common random numbers. experiments/policy_ordering found the daily feed's regret
flat after its first fit; this separates "the feed stopped learning" from "the world moved and
retraining keeps up with it": if retraining matters, the frozen feed's regret grows away from
the daily one's. Reports, all computed here: regret, true value per impression and watch per
DAU by day for both arms, the gap frozen - daily by day and its least-squares slope over days
1+, and per-user totals (days 1+) with paired CIs. Writes results.md and learning_curve.png
beside this file at the end of the run, and the frames under frames/ (`--report-only`).

    .venv/bin/python experiments/learning_curve/run.py
    .venv/bin/python experiments/learning_curve/run.py --report-only
    .venv/bin/python experiments/learning_curve/run.py --out /tmp/lc world=tiny loop.days=3
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from feedsim.experiment.cli import results_table
from feedsim.experiment.canonical_report import write_results
from feedsim.experiment.paired import WARMUP_DAYS, Result, run_or_load
from feedsim.experiment.stats import markdown

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PRESET = "experiment=learning_curve"
DAILY = ["regret", "true_value", "watch_s_per_dau"]
PER_USER = ["watch_min_per_user", "active_days_per_user", "sessions_per_user"]


def by_day(daily: pd.DataFrame) -> pd.DataFrame:
    """(day, metric_arm) wide table of the DAILY metrics."""
    rows = daily[daily.metric.isin(DAILY)]
    wide = rows.pivot_table(index="day", columns=["metric", "arm"], values="value")
    wide.columns = [f"{m} {a}" for m, a in wide.columns]
    return wide


def gap_lines(wide: pd.DataFrame) -> list[str]:
    """frozen - daily regret by day after the warm-up: its slope and first/last values."""
    gap = (wide["regret frozen"] - wide["regret daily"])[wide.index >= WARMUP_DAYS].dropna()
    if len(gap) < 2:
        return ["- fewer than 2 days with regret after the warm-up."]
    slope = float(np.polyfit(gap.index.to_numpy(float), gap.to_numpy(), 1)[0])
    grows = slope > 0 and gap.iloc[-1] > gap.iloc[0]
    share = gap.iloc[-1] / wide["regret daily"][gap.index[-1]]
    size = "a little" if abs(share) < 0.1 else "clearly"
    return [f"- regret gap frozen - daily: day {gap.index[0]} {gap.iloc[0]:+.3f}, day "
            f"{gap.index[-1]} {gap.iloc[-1]:+.3f} ({share:+.1%} of the daily feed's regret that "
            f"day), least-squares slope {slope:+.3f} per day (daily regret is measured on a "
            "sample of requests, without a CI): the frozen feed "
            f"**{f'falls {size} further behind' if grows else 'does not fall behind'}** as "
            "the days pass. Read it with the per-user watch time below, which has a CI."]


def plot(wide: pd.DataFrame, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric in zip(axes, DAILY):
        for arm in ("daily", "frozen"):
            ax.plot(wide.index, wide[f"{metric} {arm}"], marker="o", label=arm)
        ax.set(xlabel="day", title=metric)
        ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    os.replace(tmp, path)


def report(plan, result: Result, argv: list[str], wall_s: float) -> list[str]:
    wide = by_day(result.daily)
    table = results_table(plan, result)
    shown = ["treatment_arm", "metric", "control", "treatment", "rel_effect", "rel_ci_low",
             "rel_ci_high", "p_value"]
    return [
        f"# Learning curve: daily retraining against a frozen feed ({plan.base.world.n_users} "
        f"users, {plan.base.loop.days} days, seed {plan.base.seed}, paired worlds)", "",
        f"Arms: {', '.join(f'`{n}` {plan.spec.arms[n]}' for n, _ in plan.arms)}. Generated "
        f"by run.py in {wall_s:.0f} s (`{' '.join([PRESET, *argv])}`); do not edit.", "",
        "Both arms serve day 0 from the cold-start fallback and fit their models on day 1; "
        "from day 2 on only `daily` retrains. Regret: oracle page value minus served page value "
        f"on a {plan.base.loop.regret_sample:.0%} sample of requests.", "",
        "## The regret gap", "", *gap_lines(wide), "", "## By day", "",
        markdown(wide.round(3).reset_index()), "",
        f"## Per user, days {WARMUP_DAYS}+ (paired CIs, control `{plan.control}`)", "",
        markdown(table[table.metric.isin(PER_USER)][shown]), "",
        "![regret, true value and watch per DAU by day](learning_curve.png)"]


def main(argv: list[str]) -> None:
    plan, result, out, rest, wall_s = run_or_load(PRESET, argv, Path(__file__).parent)
    lines = report(plan, result, rest, wall_s)
    plot(by_day(result.daily), out / "learning_curve.png")
    write_results(out, lines)
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
