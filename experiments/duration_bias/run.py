"""Duration bias of the watch-time target, measured against the ground truth (issue 4).

Simulates `--days` days of the popular baseline on a world preset, fits the ranker three times
on those logs, changing only `ranking.watch_target` (regression on watch seconds, YouTube's
weighted logistic regression, D2Q duration quantiles), then scores the same candidate sets
(the `ranked` policy's cheap candidates: popular, fresh and random videos of the user's
language, filtered as served) with each model's watch head. Each picker's top `--k` videos
per request are compared with the truth's: the top picks by true value (what the oracle
serves), by true expected watch ratio and by true expected watch seconds. Writes results.md
and duration_bias.png beside this file.

    .venv/bin/python experiments/duration_bias/run.py --world default --days 3
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib
import numpy as np

from feedsim.config.compose import load_config
from feedsim.loop import Simulation
from feedsim.report.lessons import logged_world
from feedsim.policy.base import eligible
from feedsim.policy.cold import ColdCandidates
from feedsim.ranking.ranker import Ranker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TARGETS = ("regression", "weighted_logistic", "d2q")
EDGES_S = np.array([10.0, 20.0, 40.0, 80.0])          # duration buckets for the plot
BROKEN = -1e3                                          # a true value below this is a fault


def simulate(world: str, days: int, seed: int) -> Simulation:
    """`world` after `days` days of the popular baseline, its logs in memory."""
    return logged_world("popular", days, seed, f"loop.days={days}", world=world, regret=True)[1]


def candidate_sets(sim: Simulation, n_users: int, n_cand: int, seed: int):
    """(users (B,), candidates (B, C), eligible (B, C)) from the ranked policy's sources."""
    rng = np.random.default_rng(seed)
    users = rng.choice(sim.world.users.n, size=n_users, replace=False)
    cold = ColdCandidates(sim.ctx, 2000)
    cold.refresh()
    cand, _ = cold.draw(rng, users, n_cand)
    return users, np.maximum(cand, 0), eligible(sim.ctx, users, cand)


def top_k(score: np.ndarray, valid: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k best valid candidates per row. (B, k)"""
    return np.argsort(-np.where(valid, score, -np.inf), axis=1, kind="stable")[:, :k]


def picker_scores(sim, users, cand, args) -> dict[str, np.ndarray]:
    """Each model's watch prediction and each truth ranking, all (B, C)."""
    truth = sim.behavior.truth(users, cand)                         # the world's expectation
    duration = sim.world.videos.duration_s[cand]
    out = {"truth: value (oracle)": truth.value,
           "truth: watch ratio": truth.watch_s / duration, "truth: watch seconds": truth.watch_s}
    log = sim.ctx.training_log(args.days)
    zeros = np.zeros(len(users))
    for target in TARGETS:
        cfg = load_config([f"ranking.watch_target={target}"]).ranking
        cfg.train.max_rows, cfg.train.epochs, cfg.train.threads = (args.max_rows, args.epochs,
                                                                   args.threads)
        ranker = Ranker(cfg, sim.ctx.view, "cpu", seed=args.seed)
        t0 = time.perf_counter()
        ranker.fit(log, sim.ctx.counters.daily_decay)
        preds = ranker.score(users, cand, zeros, zeros, sim.world.day, sim.ctx.counters.recent)
        out[f"model: {target}"] = preds.preds["watch"]
        print(f"{target}: fitted and scored in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def summarise(sim, users, cand, valid, scores, k) -> list[dict]:
    duration = sim.world.videos.duration_s[cand]                    # (B, C)
    truth = sim.behavior.truth(users, cand)
    ratio = truth.watch_s / duration
    rows = [{"picker": "all eligible candidates", "dur": duration[valid],
             "value": truth.value[valid], "ratio": ratio[valid]}]
    for name, score in scores.items():
        cols = top_k(score, valid, k)
        take = (lambda a: np.take_along_axis(a, cols, axis=1).ravel())
        rows.append({"picker": name, "dur": take(duration), "value": take(truth.value),
                     "ratio": take(ratio)})
    return rows


def table(rows: list[dict]) -> list[str]:
    lines = ["| picker | mean duration (s) | median duration (s) | share > 60 s | "
             "median true value of picks | mean true watch ratio of picks |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['picker']} | {r['dur'].mean():.1f} | {np.median(r['dur']):.1f} | "
                     f"{(r['dur'] > 60).mean():.3f} | {np.median(r['value']):.3f} | "
                     f"{r['ratio'].mean():.3f} |")
    return lines


def plot(rows: list[dict], path: Path) -> None:
    labels = [f"<{EDGES_S[0]:.0f}"] + [f"{a:.0f}-{b:.0f}" for a, b in zip(EDGES_S, EDGES_S[1:])]
    labels.append(f">={EDGES_S[-1]:.0f}")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        share = np.bincount(np.searchsorted(EDGES_S, r["dur"], side="right"),
                            minlength=len(labels)) / r["dur"].size
        ax.bar(np.arange(len(labels)) + i * width, share, width, label=r["picker"])
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
    ax.set_xlabel("video duration (s)")
    ax.set_ylabel("share of picks")
    ax.set_title("Durations of the top picks: watch-time targets against the truth")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default="default")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--max-rows", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    start = time.perf_counter()
    sim = simulate(args.world, args.days, args.seed)
    users, cand, valid = candidate_sets(sim, args.users, args.candidates, args.seed)
    scores = picker_scores(sim, users, cand, args)
    rows = summarise(sim, users, cand, valid, scores, args.k)
    here = Path(__file__).parent
    plot(rows, here / "duration_bias.png")
    lines = [f"# Duration bias of the watch-time target ({args.world} world, seed {args.seed})",
             "", f"{args.days} days of popular-baseline logs; each model fitted on them "
             f"(at most {args.max_rows} newest training rows, {args.epochs} epochs); "
             f"{args.users} users x {args.candidates} candidates (popular, fresh and random "
             f"videos of the user's language), top {args.k} per user by each picker. "
             f"Generated by run.py in {time.perf_counter() - start:.0f} s.", "",
             *table(rows), "", f"Candidate pairs whose true value is below {BROKEN:g} (a "
             f"numerical fault of the behaviour model, hence medians): "
             f"{(rows[0]['value'] < BROKEN).mean():.2%}.", "", "![durations of the top picks](duration_bias.png)"]
    (here / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
