"""Offline evaluation of the retrieval sources against the truth (issue 3 acceptance).

Simulates `--days` days of the popular baseline on a world preset, fits every retrieval
source on those logs (the platform's view only), and scores each source's own top-K and the
merged set against the oracle's top-K by true value for a sample of users: recall@K, NDCG@K,
candidate coverage and the mean log(1 + impressions) of the retrieved videos. The two-tower
is fitted four times: logQ on/off crossed with the exposure correction on/off. Writes
results.md beside this file.

    .venv/bin/python experiments/retrieval_offline/run.py --world default --days 3
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from feedsim.config.compose import load_config
from feedsim.loop import Simulation
from feedsim.report.lessons import logged_world
from feedsim.retrieval.evaluate import (evaluate_retriever, in_rows, oracle_topk, recall_ndcg,
                                       score_candidates)
from feedsim.retrieval.merge import quota_sizes
from feedsim.retrieval.retriever import Retriever

TOWER_VARIANTS = {            # label -> (logq, exposure_correction)
    "two_tower (logQ + exposure, default)": (True, True),
    "two_tower, logQ off": (False, True),
    "two_tower, exposure off": (True, False),
    "two_tower, both off": (False, False),
}
COLUMNS = ("recall", "ndcg", "coverage", "log_popularity")


def simulate(world: str, days: int, seed: int) -> Simulation:
    """`world` after `days` days of the popular baseline, its logs in memory."""
    return logged_world("popular", days, seed, f"loop.days={days}", world=world, regret=True)[1]


def fitted(sim: Simulation, world: str, seed: int, names: list[str], **tower) -> Retriever:
    cfg = load_config([f"world={world}"]).retrieval
    for key, value in tower.items():
        setattr(cfg.two_tower, key, value)
    if names != cfg.sources:
        cfg.sources, cfg.quotas = names, {n: 1.0 for n in names}
    return Retriever(cfg, sim.ctx, seed=seed).fit()


def row(label: str, r: dict, seconds: float) -> str:
    return f"| {label} | " + " | ".join(f"{r[c]:.3f}" for c in COLUMNS) + f" | {seconds:.0f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default="default")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    sim = simulate(args.world, args.days, args.seed)
    users = np.random.default_rng(args.seed).choice(sim.world.users.n, args.users, replace=False)
    truth = lambda u, v: sim.behavior.truth(u, v).value                         # noqa: E731
    lines = [f"# Offline retrieval results ({args.world} world, {args.days} days of popular "
             f"logs, seed {args.seed})", "",
             f"{len(sim.ctx.training_log(args.days))} logged impressions; {args.users} users; "
             f"K = {args.k}; simulated in {time.perf_counter() - start:.0f} s. The oracle's "
             "top-K: the K eligible videos (language, moderation, unseen) of highest true value.",
             "", "| source | recall@K | NDCG@K | coverage | mean log-popularity | fit s |",
             "|---|---|---|---|---|---|"]
    t0 = time.perf_counter()
    default = fitted(sim, args.world, args.seed, load_config([]).retrieval.sources)
    fit_s = time.perf_counter() - t0
    rows = evaluate_retriever(default, users, truth, args.k)
    for r in rows:
        lines.append(row(r["source"] if r["source"] != "two_tower"
                         else "two_tower (logQ + exposure, default)", r, fit_s))
    relevant = oracle_topk(truth, users, default.keep, sim.world.videos.n, args.k)
    shown = sim.ctx.counters.total["impressions"]
    lines.append(row("oracle top-K itself", score_candidates(
        "oracle", _as_candidates(relevant), relevant, shown, sim.world.videos.n), 0))
    breakdown = merge_breakdown(default, users, relevant, args.k,
                                {r["source"]: r["recall"] for r in rows})
    jobs = [("popular", ["popular"], {})] + [
        (label, ["two_tower"], {"logq": lq, "exposure_correction": ex})
        for label, (lq, ex) in TOWER_VARIANTS.items() if (lq, ex) != (True, True)]
    for label, names, tower in jobs:
        t0 = time.perf_counter()
        retr = fitted(sim, args.world, args.seed, names, **tower)
        secs = time.perf_counter() - t0
        cands = retr.retrieve_source(names[0], users, args.k)
        lines.append(row(label, score_candidates(label, cands, relevant, shown,
                                                 sim.world.videos.n), secs))
        print(lines[-1], flush=True)
    lines += [""] + breakdown + [f"Total run time {time.perf_counter() - start:.0f} s."]
    out = Path(__file__).with_name("results.md")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def merge_breakdown(retriever: Retriever, users: np.ndarray, relevant: np.ndarray, k: int,
                    own_recall: dict[str, float]) -> list[str]:
    """Where the merged set's slots and hits come from, under the configured quotas and under
    quotas proportional to each source's own recall (the same fitted sources, merged again)."""
    out = ["Merged set by source: mean slots per user / mean hits (videos in the oracle's "
           "top-K) per user, and the merged recall.", ""]
    configured = list(retriever.sizes)
    names = list(retriever.source_names)
    by_recall = quota_sizes(names, {n: own_recall[n] for n in names},
                            retriever.cfg.total_candidates)
    for label, sizes in (("configured quotas", configured), ("quotas ~ own recall", by_recall)):
        retriever.sizes = sizes
        merged = retriever.retrieve(users)
        hit = in_rows(merged.video_ids[:, :k], relevant)                          # (B, k)
        src = merged.source[:, :k]
        cells = [f"{n} {(src == i).sum(1).mean():.0f}/{(hit & (src == i)).sum(1).mean():.1f}"
                 for i, n in enumerate(names)]
        recall = recall_ndcg(merged.video_ids[:, :k], relevant)[0]
        out.append(f"- {label} (slots {dict(zip(names, sizes))}): " + ", ".join(cells)
                   + f"; merged recall {recall:.3f}")
    retriever.sizes = configured
    return out + [""]


def _as_candidates(ids: np.ndarray):
    from feedsim.retrieval.base import Candidates
    return Candidates.from_topk(ids, np.zeros(ids.shape, np.float32), 0)


if __name__ == "__main__":
    main()
