"""Does the learned feed keep learning after its first fit? Daily retraining against frozen.

Runs the paired-worlds preset `configs/experiment/learning_curve.yaml` (default world, 10 k
users, 7 days) once per seed: `daily`, the fyp feed retrained every day, and `frozen`, the same
feed whose models are fitted once, on day 1 from day 0's cold-start logs, and never again. In
each seed both arms see the same users with common random numbers; each seed is a different
world. experiments/policy_ordering found the daily feed's regret flat after its first fit;
this separates "the feed stopped learning" from "the world moved and retraining keeps up with
it": if retraining matters, the frozen feed falls behind.

A paired CI inside one seed covers the sampling of users in that world, not the spread between
worlds, and one seed's verdict flipped between two code versions. So the verdict here is the
t interval over seeds of each seed's effect. Reports, all computed here: per seed, the
relative effect of `frozen` on watch minutes and active days per user (days 1+, with the
within-seed paired CI) and the least-squares slope of the regret gap frozen - daily over days
1+; across seeds, the mean of each with its t interval; and by day, regret and watch per DAU
of both arms, mean over seeds. Writes results.md and learning_curve.png beside this file, and
each seed's frames under frames/seed_<s>/ and the run's seeds and overrides in
frames/run.json (`--report-only` rewrites the report from them).

    .venv/bin/python experiments/learning_curve/run.py --seeds 0 1 2 3 4 5 --jobs 1
    .venv/bin/python experiments/learning_curve/run.py --report-only
    .venv/bin/python experiments/learning_curve/run.py --seeds 0 1 --out /tmp/lc \
        world=tiny loop.days=3
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from feedsim.experiment.canonical_report import write_results
from feedsim.experiment.cli import results_table
from feedsim.experiment.config import build_plan
from feedsim.experiment.paired import (QUIET, WARMUP_DAYS, Result, load_frames,
                                       run_paired_after_warmup, save_frames)
from feedsim.experiment.stats import markdown, t_interval

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PRESET = "experiment=learning_curve"
HERE = Path(__file__).parent
EFFECTS = ["watch_min_per_user", "active_days_per_user"]     # frozen vs daily, days 1+


def plan_for(seed: int, overrides: list[str]):
    return build_plan([PRESET, *QUIET, *overrides, f"seed={seed}"])


def run_seed(seed: int, overrides: list[str], out: Path) -> float:
    """Both arms of one seed's paired worlds; their frames under out/frames/seed_<seed>/."""
    start = time.perf_counter()
    result = run_paired_after_warmup(plan_for(seed, overrides))
    wall_s = time.perf_counter() - start
    save_frames(out, result, wall_s, folder=f"frames/seed_{seed}")
    return wall_s


def saved_run(out: Path) -> tuple[list[int], list[str]]:
    """The seeds and overrides of the run that wrote out/frames/ (its run.json), for
    `--report-only`; a one-line exit when there was none."""
    path = out / "frames" / "run.json"
    if not path.exists():
        raise SystemExit(f"{path}: not found; run without --report-only first")
    saved = json.loads(path.read_text())
    return saved["seeds"], saved["overrides"]


def regret_gap(daily: pd.DataFrame) -> pd.Series:
    """frozen - daily regret by day, days 1+ (regret is sampled per request, no CI)."""
    rows = daily[(daily.metric == "regret") & (daily.day >= WARMUP_DAYS)]
    wide = rows.pivot_table(index="day", columns="arm", values="value").reindex(
        columns=["daily", "frozen"])                       # no regret rows: an empty gap
    return (wide["frozen"] - wide["daily"]).dropna()


def seed_row(seed: int, plan, result: Result) -> dict:
    """One seed's effects: frozen vs daily per user (with the within-seed CI) and the regret
    gap's slope over days and its share of the daily regret on the last day."""
    table = results_table(plan, result).set_index("metric")
    row = {"seed": seed}
    for metric in EFFECTS:
        r = table.loc[metric]
        row |= {metric: r.rel_effect, f"{metric} low": r.rel_ci_low,
                f"{metric} high": r.rel_ci_high}
    gap = regret_gap(result.daily)
    daily_regret = result.daily[(result.daily.metric == "regret")
                                & (result.daily.arm == "daily")].set_index("day").value
    row["regret gap slope"] = float(np.polyfit(gap.index.to_numpy(float), gap.to_numpy(), 1)[0]) \
        if len(gap) >= 2 else float("nan")
    row["regret gap last day"] = float(gap.iloc[-1] / daily_regret[gap.index[-1]]) \
        if len(gap) else float("nan")
    return row


def verdict(low: float, high: float, n: int) -> str:
    if n < 2:
        return f"cannot be judged from {n} seed (an interval over seeds needs two or more)"
    if high < 0:
        return "falls behind (the interval over seeds is below zero)"
    if low > 0:
        return "does better (the interval over seeds is above zero)"
    return "shows no difference that the seeds can tell apart from zero"


def across_seeds(per_seed: pd.DataFrame) -> list[str]:
    """Markdown lines: each effect's mean over seeds, its t interval, and the verdict."""
    lines, watch = [], None
    for col, label in [(m, f"{m}, relative") for m in EFFECTS] + [
            ("regret gap slope", "regret gap frozen - daily, slope per day"),
            ("regret gap last day", "regret gap on the last day, share of daily regret")]:
        values = per_seed[col].dropna().to_numpy()            # a seed without the figure: out
        mean, low, high = t_interval(values)
        watch = (low, high, values.size) if col == "watch_min_per_user" else watch
        lines.append(f"- {label}: mean {mean:+.4f}, 95 % t interval over {values.size} seeds "
                     f"[{low:+.4f}, {high:+.4f}]; {int((values < 0).sum())} of {values.size} "
                     "seeds below zero.")
    return lines + ["", f"On watch time per user the frozen feed **{verdict(*watch)}**."]


def by_day(daily: pd.DataFrame) -> pd.DataFrame:
    """(day, metric arm) regret and watch per DAU, mean over seeds."""
    rows = daily[daily.metric.isin(["regret", "watch_s_per_dau"])]
    wide = rows.pivot_table(index="day", columns=["metric", "arm"], values="value", aggfunc="mean")
    wide.columns = [f"{m} {a}" for m, a in wide.columns]
    return wide


def plot(per_seed_daily: dict[int, pd.DataFrame], path: Path) -> None:
    """Regret gap and watch-per-DAU gap by day, one line per seed."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for seed, daily in per_seed_daily.items():
        gap = regret_gap(daily)
        axes[0].plot(gap.index, gap.to_numpy(), marker="o", label=f"seed {seed}")
        watch = daily[daily.metric == "watch_s_per_dau"].pivot_table(index="day", columns="arm",
                                                                     values="value")
        axes[1].plot(watch.index, watch["frozen"] / watch["daily"] - 1, marker="o")
    for ax, title in zip(axes, ["regret: frozen - daily", "watch per DAU: frozen / daily - 1"]):
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(xlabel="day", title=title)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    os.replace(tmp, path)
    plt.close(fig)


def report(seeds: list[int], overrides: list[str], out: Path) -> list[str]:
    loaded = {s: load_frames(out, folder=f"frames/seed_{s}") for s in seeds}
    plans = {s: plan_for(s, overrides) for s in seeds}
    per_seed = pd.DataFrame([seed_row(s, plans[s], r) for s, (r, _) in loaded.items()])
    daily = pd.concat([r.daily.assign(seed=s) for s, (r, _) in loaded.items()])
    plot({s: r.daily for s, (r, _) in loaded.items()}, out / "learning_curve.png")
    base, spec = plans[seeds[0]].base, plans[seeds[0]].spec
    walls = [w for _, w in loaded.values()]
    return [
        f"# Learning curve: daily retraining against a frozen feed ({base.world.n_users} users, "
        f"{base.loop.days} days, seeds {seeds}, paired worlds per seed)", "",
        f"Arms: {', '.join(f'`{name}` {list(o)}' for name, o in spec.arms.items())}. "
        "Generated by run.py "
        f"(`{' '.join([PRESET, *overrides])}`), median {np.median(walls):.0f} s per seed; do "
        "not edit.", "",
        "Both arms serve day 0 from the cold-start fallback and fit their models on day 1; "
        "from day 2 on only `daily` retrains. Effects are frozen relative to daily, per user "
        f"over days {WARMUP_DAYS}+. Regret: oracle page value minus served page value on a "
        f"{base.loop.regret_sample:.0%} sample of requests.", "",
        "## Across seeds (each seed a different world)", "", *across_seeds(per_seed), "",
        "## Per seed (within-seed paired CIs cover users, not worlds)", "",
        markdown(per_seed.round(4)), "", "## By day, mean over seeds", "",
        markdown(by_day(daily).round(3).reset_index()), "",
        "![regret and watch gaps by day, one line per seed](learning_curve.png)"]


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5],
                        help="(--report-only reports the seeds of the run in frames/)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds in parallel processes")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from frames/seed_<s>/ and the overrides "
                        "saved in frames/run.json, no simulation")
    return parser.parse_known_args(argv)


def main(argv: list[str]) -> None:
    args, overrides = parse(argv)
    if args.report_only:
        args.seeds, overrides = saved_run(args.out)
    else:
        (args.out / "frames").mkdir(parents=True, exist_ok=True)
        (args.out / "frames" / "run.json").write_text(
            json.dumps({"seeds": args.seeds, "overrides": overrides}))
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            walls = pool.map(run_seed, args.seeds, [overrides] * len(args.seeds),
                             [args.out] * len(args.seeds))
            for seed, wall_s in zip(args.seeds, walls):
                print(f"seed {seed}: both arms in {wall_s:.0f} s", flush=True)
    lines = report(args.seeds, overrides, args.out)
    write_results(args.out, lines)
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
