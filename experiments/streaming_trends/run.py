"""Streaming against daily updates: how fast the feed catches a trend on its first day.

Arms on the same seeds (same starting world): the ranker and every retrieval source refitted
once a day (`daily`); the same plus intra-day ranker updates every
`ranking.streaming.every_requests` requests (`streaming`, the Monolith idea); the same as daily
plus the trending source refreshed from the live counters every `policy.live_refresh_requests`
requests and queried on every request (`live_trending`, policy/live.py); both
(`streaming_live`); and daily and streaming with the video counters frozen at the day's start
as a batch feature pipeline would publish them (`daily_batch`, `streaming_batch`:
`ranking.counter_freshness=daily`), so that streaming is the only intra-day signal. A
streaming ranker can only rank what retrieval hands it, and with the day cache retrieval hands
it the same candidates all day: the arms separate the levers.
For every simulated day after the first fit, the trends that cross the trending threshold that
day (sounds or hashtags at strength >= metrics.ecosystem.TRENDING today but not yesterday) are
that day's new trends; the share of impressions on their videos is measured per quarter of the
day's requests (request order is the day loop's time; `by_day_part`). Writes
results{name}.md, by_quarter{name}.csv, walls{name}.json (wall seconds of each simulated day
per arm) and new_trend_capture{name}.png next to this file; nothing in them is typed in.
`--report-only` rewrites the report and plot from by_quarter{name}.csv (and walls{name}.json
when it exists) without simulating again. Seeds and days come from the table; pass the run's
--world, --world-overrides and --name with it, since the header names them.

    .venv/bin/python experiments/streaming_trends/run.py [--seeds 0 1] [--days 3] [--jobs 2]
    .venv/bin/python experiments/streaming_trends/run.py --world small \
        --world-overrides world.trend_life_days=1 --arms daily streaming --name _fast
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from feedsim.config.compose import load_config  # noqa: E402
from feedsim.loop import Simulation  # noqa: E402
from feedsim.metrics.ecosystem import TRENDING, by_day_part  # noqa: E402
from feedsim.experiment.stats import t_interval  # noqa: E402

HERE = Path(__file__).parent
BASE = ("policy=fyp", "loop.progress=false", "loop.regret_sample=0")
STREAMING = ("ranking.streaming.enabled=true", "ranking.streaming.every_requests=250",
             "ranking.streaming.min_count=3")
LIVE = ("policy.live_sources=[trending]", "policy.live_refresh_requests=250")
BATCH = ("ranking.counter_freshness=daily",)
ARMS = {"daily": (), "streaming": STREAMING, "live_trending": LIVE,
        "streaming_live": STREAMING + LIVE, "daily_batch": BATCH,
        "streaming_batch": STREAMING + BATCH}
# Each arm against the arm it differs from by one lever: the batch arms read the video
# counters as a daily batch pipeline would publish them, so streaming is the only fresh signal.
BASELINE = {"streaming": "daily", "live_trending": "daily", "streaming_live": "daily",
            "daily_batch": "daily", "streaming_batch": "daily_batch"}
QUARTERS = 4


def trending_targets(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """Today's trending sounds (S,) and hashtags/topics (T,), read before the day is served."""
    trends = sim.world.trends
    return trends.sound_strength >= TRENDING, trends.tag_strength >= TRENDING


def run_arm(arm: str, seed: int, days: int, world: str = "tiny",
            world_overrides: tuple[str, ...] = ()) -> tuple[list[dict], list[float]]:
    """Rows (arm, seed, day, quarter, new_trend_share, trend_share) and wall s of each day."""
    sim = Simulation(load_config([*BASE, f"world={world}", *world_overrides, f"seed={seed}",
                                  f"loop.days={days}", *ARMS[arm]]))
    rows, walls, before = [], [], None
    for day in range(days):
        sound, tag = (x.copy() for x in trending_targets(sim))
        start = time.perf_counter()
        log = sim.step_day().log
        walls.append(time.perf_counter() - start)
        if before is not None and day >= 1:        # from day 1 on (the first fit), both
            v = sim.world.videos                   # arms serve with a fitted ranker
            new = (sound & ~before[0])[v.sound] | (tag & ~before[1])[v.topic[:, 0]]    # (V,)
            any_ = sound[v.sound] | tag[v.topic[:, 0]]
            shares = [by_day_part(mask[log.video_id], log.request_id, QUARTERS)
                      for mask in (new, any_)]
            from_trending = np.array(sim.source_names)[log.source] == "trending"
            rows += [{"arm": arm, "seed": seed, "day": day, "quarter": q + 1,
                      "new_trend_share": shares[0][q], "trend_share": shares[1][q],
                      "trending_source_share": from_trending.mean(),
                      "trending_source_precision": any_[log.video_id[from_trending]].mean()}
                     for q in range(QUARTERS)]
        before = (sound, tag)
    return rows, walls


def plot(table: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for arm, part in table.groupby("arm"):
        ax.plot(part["quarter"], 100 * part["new_trend_share"], marker="o", label=arm)
    ax.set(xlabel="quarter of the day's requests", ylabel="impressions on new trends (%)",
           title="Trend capture on a trend's first trending day", xticks=range(1, QUARTERS + 1))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def paired_lifts(frame: pd.DataFrame, arm: str, base: str) -> tuple[dict, int]:
    """`arm` minus `base` new-trend share per seed (its days averaged first: the days of one
    world share its users and are not independent): a t interval over seeds per quarter, for
    the first half of the day and the whole day, and the number of seeds."""
    wide = frame.pivot_table(index=["seed", "day", "quarter"], columns="arm",
                             values="new_trend_share")
    diff = (wide[arm] - wide[base]).unstack("quarter").groupby(level="seed").mean()  # (seeds, Q)
    ci = {q: t_interval(diff[q].to_numpy()) for q in diff.columns}
    ci["first half"] = t_interval(diff[[1, 2]].mean(axis=1).to_numpy())
    ci["whole day"] = t_interval(diff.mean(axis=1).to_numpy())
    return ci, len(diff)


def verdict(low: float, high: float, base: str) -> str:
    if np.isnan(low):
        return "cannot be judged: an interval over seeds needs two or more seeds"
    return (f"puts more of the day on new trends than `{base}` (the CI excludes zero)"
            if low > 0 else f"is behind `{base}` (the CI excludes zero)" if high < 0 else
            "shows no detectable difference at this size")


def present(frame: pd.DataFrame) -> list[str]:
    """The arms run (`--arms`), in ARMS order."""
    return [a for a in ARMS if a in set(frame.arm)]


def quarter_table(table: pd.DataFrame, cis: dict) -> list[str]:
    """Markdown rows: each arm's new-trend share per quarter, and each lift over its baseline."""
    arms = present(table)
    head = ["quarter", *arms,
            *[f"{a} - {BASELINE[a]} (95 % CI)" for a in cis]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for q in range(1, QUARTERS + 1):
        share = {a: table[(table.arm == a) & (table.quarter == q)].new_trend_share.iloc[0]
                 for a in arms}
        cells = [f"Q{q}", *[f"{100 * share[a]:.2f} %" for a in arms]]
        cells += [f"{100 * ci[q][0]:+.2f} pt [{100 * ci[q][1]:+.2f}, {100 * ci[q][2]:+.2f}]"
                  for ci in cis.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_results(frame: pd.DataFrame, walls: dict[str, list[float]], args) -> None:
    table = frame.groupby(["arm", "quarter"], as_index=False)[
        ["new_trend_share", "trend_share"]].mean()
    median = {arm: float(np.median(w)) for arm, w in walls.items()}
    cis, n_pairs, arms = {}, 0, present(frame)
    for arm, base in BASELINE.items():
        if arm in arms and base in arms:
            cis[arm], n_pairs = paired_lifts(frame, arm, base)
    lines = [
        "# Streaming and real-time sources against daily updates: trend capture through the day",
        "", f"`world={args.world}` {' '.join(f'`{o}`' for o in args.world_overrides)}, "
        f"`policy=fyp`, seeds {args.seeds}, {args.days} days; measured on days "
        f"1..{args.days - 1} (every arm serves them with a fitted ranker). Arms:", ""]
    lines += [f"- `{arm}`: `{' '.join(o) or 'the default (ranker and sources refit daily)'}`"
              for arm, o in ARMS.items() if arm in arms]
    lines += ["", "Share of impressions on videos of trends that crossed the trending threshold "
              "that day, per quarter of the day's requests, mean over days and seeds, and each "
              "arm minus the arm it differs from by one lever, with a paired 95 % t interval "
              f"over {n_pairs} seeds (each seed's days averaged first):", "",
              *quarter_table(table, cis), ""]
    for arm, ci in cis.items():
        for span in ("first half", "whole day"):
            mean, low, high = ci[span]
            lines.append(f"- `{arm}` minus `{BASELINE[arm]}`, {span}: {100 * mean:+.2f} pt, "
                         f"95 % CI [{100 * low:+.2f}, {100 * high:+.2f}]: it "
                         f"{verdict(low, high, BASELINE[arm])}.")
    day = frame.groupby("arm")[["trend_share", "trending_source_share",
                                "trending_source_precision"]].mean()
    lines += ["", "Whole day, mean over measured days and seeds: the share of impressions on any "
              "trending sound or hashtag; the share served from the `trending` retrieval source; "
              "and that source's precision, the share of its impressions on a trending sound or "
              "hashtag (the platform sees rising engagement, not the world's trends):", "",
              "| arm | on trends | from `trending` | `trending` precision |", "|---|---|---|---|",
              *[f"| {arm} | {100 * day.trend_share[arm]:.2f} % | "
                f"{100 * day.trending_source_share[arm]:.2f} % | "
                f"{100 * day.trending_source_precision[arm]:.2f} % |" for arm in arms],
        "", wall_sentence(median, arms, args.jobs),
        "", f"![new trend capture](new_trend_capture{args.name}.png)", ""]
    (HERE / f"results{args.name}.md").write_text("\n".join(lines))
    plot(table, HERE / f"new_trend_capture{args.name}.png")


def wall_sentence(median: dict[str, float], arms: list[str], jobs: int) -> str:
    """Median wall seconds per simulated day per arm, or why they are missing."""
    if not median or "daily" not in median:
        return ("Wall times were not recorded for this run: it predates the walls file, "
                "which every run now writes beside its by_quarter table.")
    return "Wall time per simulated day (median over days and seeds): " + ", ".join(
        f"{arm} {median[arm]:.1f} s (x{median[arm] / median['daily']:.2f})" for arm in arms) \
        + f" ({jobs} runs at a time: noisy)."


def simulate(args) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """Every (arm, seed) run, in parallel processes; the rows and each arm's day walls."""
    rows, walls = [], {arm: [] for arm in args.arms}
    runs = [(arm, seed) for seed in args.seeds for arm in args.arms]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_arm, arm, seed, args.days, args.world,
                               tuple(args.world_overrides)) for arm, seed in runs]
        for (arm, seed), future in zip(runs, futures):
            arm_rows, arm_walls = future.result()
            rows += arm_rows
            walls[arm] += arm_walls[1:]
            print(f"seed {seed} {arm}: {len(arm_rows)} rows, day walls {np.round(arm_walls, 1)}",
                  flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(HERE / f"by_quarter{args.name}.csv", index=False)
    (HERE / f"walls{args.name}.json").write_text(json.dumps({"jobs": args.jobs, **walls}))
    return frame, walls


def saved(args) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """The rows and walls of an earlier run (`--report-only`); walls {} when not recorded."""
    csv = HERE / f"by_quarter{args.name}.csv"
    if not csv.exists():
        raise SystemExit(f"run.py: error: --report-only needs {csv}, which does not exist")
    path = HERE / f"walls{args.name}.json"
    walls = json.loads(path.read_text()) if path.exists() else {}
    args.jobs = walls.pop("jobs", args.jobs)
    frame = pd.read_csv(csv)
    args.seeds = sorted(int(s) for s in frame.seed.unique())       # the run's, not the flags'
    args.days = int(frame.day.max()) + 1
    return frame, walls


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--world", default="tiny")
    parser.add_argument("--world-overrides", nargs="*", default=[],
                        help="world settings every arm shares, e.g. world.trend_life_days=1")
    parser.add_argument("--name", default="", help="suffix of the files written (results{name}.md)")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from by_quarter{name}.csv, no simulation")
    args = parser.parse_args(argv)
    frame, walls = saved(args) if args.report_only else simulate(args)
    write_results(frame, walls, args)


if __name__ == "__main__":
    main(sys.argv[1:])
