"""Offline comparison of the ranking models on popular-baseline logs (issue 4 acceptance).

Simulates `--days` days of the popular baseline on a world preset, fits each ranking model on
the last days but one and evaluates it on the latest day (held out), and writes results.md
beside this file: the per-task table of MMoE (AUC, GAUC, logloss, NE, calibration; XAUC for
watch time) and one line per model. A constant predictor has AUC 0.5 and NE 1.

    .venv/bin/python experiments/ranking_offline/run.py --world default --days 4
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from feedsim.config.compose import load_config
from feedsim.loop import Simulation
from feedsim.report.lessons import logged_world
from feedsim.ranking.ranker import Ranker

MODELS = ("single_task", "shared_bottom", "mmoe", "ple")
TASK_METRICS = ("auc", "gauc", "logloss", "ne", "calibration")


def simulate(world: str, days: int, seed: int) -> Simulation:
    """`world` after `days` days of the popular baseline, its logs in memory."""
    return logged_world("popular", days, seed, f"loop.days={days}", world=world, regret=True)[1]


def task_table(metrics: dict[str, float], heads: list[str]) -> list[str]:
    lines = ["| task | " + " | ".join(TASK_METRICS) + " |", "|---" * (len(TASK_METRICS) + 1) + "|"]
    for t in heads:
        if t == "watch":
            lines.append(f"| watch (xauc) | {metrics['offline/watch/xauc']:.3f} |" + " |" * 4)
            continue
        vals = " | ".join(f"{metrics[f'offline/{t}/{m}']:.4f}" for m in TASK_METRICS)
        lines.append(f"| {t} | {vals} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default="default")
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-rows", type=int, default=200_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    start = time.perf_counter()
    sim = simulate(args.world, args.days, args.seed)
    log = sim.ctx.training_log(args.days)
    lines = [f"# Offline ranking results ({args.world} world, {args.days} days of popular logs, "
             f"seed {args.seed})", "", f"Log rows: {len(log)}; simulated in "
             f"{time.perf_counter() - start:.0f} s. Held out: day {int(log.day.max())}.", ""]
    summary, results = [], {}
    for name in args.models.split(","):
        cfg = load_config([f"ranking={name}" if name != "mmoe" else "ranking=mmoe"]).ranking
        cfg.train.max_rows, cfg.train.epochs = args.max_rows, args.epochs
        ranker = Ranker(cfg, sim.ctx.view, "cpu", seed=args.seed)
        t0 = time.perf_counter()
        m = ranker.fit(log, sim.ctx.counters.daily_decay)
        results[name] = m
        aucs = " ".join(f"{t}={m[f'offline/{t}/auc']:.3f}" for t in cfg.heads if t != "watch")
        summary.append(f"- {name}: watch xauc={m['offline/watch/xauc']:.3f} {aucs} "
                       f"({time.perf_counter() - t0:.0f} s, {m['offline/train_samples_per_s']:.0f}"
                       f" samples/s)")
        print(summary[-1], flush=True)
    if "mmoe" in results:
        lines += ["## MMoE per task (held-out day)", ""] + task_table(results["mmoe"], cfg.heads)
    lines += ["", "## Models (AUC per task on the held-out day)", ""] + summary
    out = Path(__file__).with_name("results.md")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
