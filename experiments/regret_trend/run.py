"""Why the learned feed's regret does not fall after its first fit: the learner, or the world?

The policy-ordering run (experiments/policy_ordering) found the fyp's regret against the oracle
lowest on day 1, the day its first model (trained on the cold-start day's popular, fresh and
random traffic) serves, and a little higher every day after, when it trains on its own feed.
Two explanations predict different things:

- the world drifts (users' boredom and seen videos accumulate; the users who come back change),
  so every policy falls further behind the oracle, learning or not: then `popular`, which
  learns nothing, and `fyp_frozen` (fitted once, on day 0's logs, never again) should show the
  same rise in relative regret as `fyp`;
- the learner feeds on its own exposure (it only sees outcomes of what it chose): then
  `fyp_frozen`'s regret should rise less than `fyp`'s, and the training window (`fyp_window1`,
  only yesterday, against the default week) should change the slope.

Every (arm, seed) is one simulation on the small world with regret measured on a fifth of the
requests; runs go in parallel (`--jobs`), each saving its daily metrics to
frames/<arm>_<seed>.parquet as it ends, so a cut-off run keeps what finished. The report reads
the frames only: relative regret (regret / the oracle's page value on the same requests) by day,
and each arm's least-squares slope over days 1..D-1 with a 95 % t interval over seeds, and
each arm's slope minus fyp's, paired by seed.

    .venv/bin/python experiments/regret_trend/run.py --seeds 0 1 2 3 4 5 --days 8 --jobs 2
    .venv/bin/python experiments/regret_trend/run.py --report-only
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from feedsim.experiment.canonical_report import write_results
from feedsim.experiment.stats import t_interval

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
BASE = ("loop.progress=false", "loop.regret_sample=0.2",
        "ranking.train.threads=1")
ARMS = {"fyp": ("policy=fyp",),
        "fyp_frozen": ("policy=fyp", "policy.retrain_every_days=1000"),
        "fyp_window1": ("policy=fyp", "ranking.train.days=1"),
        "fyp_no_drift": ("policy=fyp", "behavior.drift_rate=0"),
        "fyp_seen64": ("policy=fyp", "loop.seen_window=64"),
        "fyp_diverse": ("policy=fyp", "rerank.dpp.theta=0.4"),
        "fyp_overfetch6": ("policy=fyp", "retrieval.overfetch=6"),
        "fyp_request_cache": ("policy=fyp", "policy.retrieval_cache=request"),
        "popular": ("policy=popular",),
        "popular_no_drift": ("policy=popular", "behavior.drift_rate=0")}
# Each arm's slope is compared with the arm it differs from by one setting, paired by seed.
REFERENCE = {arm: "fyp" for arm in ARMS} | {"popular": "fyp", "popular_no_drift": "popular"}
METRICS = ("regret", "regret_relative", "true_value", "watch_s_per_dau", "dau")


def run_one(arm: str, seed: int, days: int, world: str, frames: Path) -> str:
    """Simulate one (arm, seed) and save its daily metrics; returns a progress line."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from feedsim.config.compose import load_config
    from feedsim.loop import Simulation

    start = time.perf_counter()
    sim = Simulation(load_config([*BASE, f"world={world}", *ARMS[arm], f"seed={seed}",
                                  f"loop.days={days}"]))
    for _ in range(days):
        sim.step_day()
    frame = sim.metrics_frame()
    frame = frame[frame.metric.isin(METRICS)].assign(arm=arm, seed=seed, world=world)
    path = frames / f"{arm}_{seed}.parquet"
    frame.to_parquet(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return f"{arm} seed {seed}: {time.perf_counter() - start:.0f} s"


def simulate(args) -> None:
    frames = HERE / "frames"
    frames.mkdir(exist_ok=True)
    jobs = [(arm, seed) for seed in args.seeds for arm in ARMS
            if not (frames / f"{arm}_{seed}.parquet").exists() or args.rerun]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, arm, seed, args.days, args.world, frames)
                   for arm, seed in jobs]
        for future in futures:
            print(future.result(), flush=True)


def slope(values: pd.Series) -> float:
    """Least-squares slope of a metric over its days."""
    return float(np.polyfit(values.index.to_numpy(float), values.to_numpy(float), 1)[0])


def slopes(daily: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (arm, seed): the metric's slope over days 1.. (day 0 is the cold start). (arms, seeds)"""
    part = daily[(daily.metric == metric) & (daily.day >= 1)]
    return part.groupby(["arm", "seed"]).apply(
        lambda g: slope(g.set_index("day")["value"])).unstack("seed")


def slope_lines(table: pd.DataFrame, metric: str) -> list[str]:
    lines = [f"| arm | {metric} slope per day (95 % CI over seeds) | reference | "
             "minus the reference's, paired |", "|---|---|---|---|"]
    for arm in table.index:
        mean, low, high = t_interval(table.loc[arm].dropna().to_numpy())
        ref = REFERENCE[arm]
        paired = ""
        if ref != arm and ref in table.index:
            diff = (table.loc[arm] - table.loc[ref]).dropna().to_numpy()
            d_mean, d_low, d_high = t_interval(diff)
            paired = f"{d_mean:+.4f} [{d_low:+.4f}, {d_high:+.4f}]"
        lines.append(f"| {arm} | {mean:+.4f} [{low:+.4f}, {high:+.4f}] | "
                     f"{ref if paired else ''} | {paired} |")
    return lines


def by_day(daily: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean over seeds, arms by day. (arms, days)"""
    part = daily[daily.metric == metric]
    return part.groupby(["arm", "day"])["value"].mean().unstack("day")


def page_values(daily: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The oracle's and the served page value by day (means over seeds), from regret and
    regret_relative: oracle = regret / relative, served = oracle - regret. (arms, days) each"""
    wide = daily.pivot_table(index=["arm", "seed", "day"], columns="metric", values="value")
    oracle = wide["regret"] / wide["regret_relative"]
    served = oracle - wide["regret"]
    return tuple(x.groupby(["arm", "day"]).mean().unstack("day") for x in (oracle, served))


def table_lines(frame: pd.DataFrame, digits: int) -> list[str]:
    lines = ["| arm | " + " | ".join(f"day {d}" for d in frame.columns) + " |",
             "|---|" + "---|" * frame.shape[1]]
    return lines + [f"| {arm} | " + " | ".join(f"{v:.{digits}f}" for v in row) + " |"
                    for arm, row in frame.iterrows()]


def plot(daily: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for arm, row in by_day(daily, "regret_relative").iterrows():
        ax.plot(row.index[1:], row.to_numpy()[1:], marker="o", label=arm)
    ax.set(xlabel="day", ylabel="regret / oracle page value",
           title="Relative regret by day (mean over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(daily: pd.DataFrame) -> list[str]:
    seeds = sorted(daily.seed.unique())
    oracle, served = page_values(daily)
    days = int(daily.day.max()) + 1
    lines = ["# Regret by day: the learner or the world?", "",
             f"`world={daily.world.iloc[0]}`, {days} days, seeds {[int(s) for s in seeds]}, "
             "regret on 20 % of requests. Arms: " +
             "; ".join(f"`{a}`: `{' '.join(o)}`" for a, o in ARMS.items()
                       if a in daily.arm.unique()) + ".", "",
             "## Relative regret by day (mean over seeds)", "",
             *table_lines(by_day(daily, "regret_relative"), 3), "",
             "## Slopes over days 1+ (95 % t intervals over seeds)", "",
             *slope_lines(slopes(daily, "regret_relative"), "regret_relative"), "",
             *slope_lines(slopes(daily, "regret"), "regret"), "",
             "## Page value by day (true value of a page, mean over seeds)", "",
             "The oracle's page on the arm's sampled requests, and the arm's own page on the "
             "same requests:", "", "Oracle:", "", *table_lines(oracle, 2), "",
             "Served:", "", *table_lines(served, 2), "",
             "## Watch seconds per DAU by day (mean over seeds)", "",
             *table_lines(by_day(daily, "watch_s_per_dau"), 0), "",
             "![relative regret by day](regret_by_day.png)", ""]
    return lines


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--world", default="small")
    parser.add_argument("--rerun", action="store_true", help="simulate even where frames exist")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.report_only:
        simulate(args)
    files = sorted((HERE / "frames").glob("*.parquet"))
    if not files:
        raise SystemExit(f"{HERE / 'frames'}: no frames to report; run without --report-only")
    daily = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    plot(daily, HERE / "regret_by_day.png")
    write_results(HERE, report(daily))


if __name__ == "__main__":
    main(sys.argv[1:])
