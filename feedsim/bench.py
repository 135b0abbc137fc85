"""`make bench`: how fast the sandbox runs, and how its cost grows with the world.

Figures: behaviour impressions/s (the response model, with state updates) at several world
sizes, the same against a bare-numpy response kernel of similar shape run in the same process
(the ratio holds on noisy shared machines), end-to-end impressions/s and wall time of one
simulated day at several world sizes under the popular baseline and the fyp feed, each with
its own peak memory and a ratio to a bare-numpy response kernel (feedsim/bench_e2e.py), the
scaling curve of cost per impression (flat = 1.0), the peak memory of building a 1 M users x
1 M videos world beside its up-front estimate, and the refusal of one that would not fit.
Each figure is the median of several runs, with min and max, and names its device. Retrieval
and ranking figures are added when those stages provide them. Results go to bench.json (with
the machine's load average, since the cores are shared) and a readable table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from feedsim.behavior import Behavior
from feedsim.config.compose import load_config
from feedsim.rng import Streams
from feedsim.world import World

PAGE = 6


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def figure(name: str, work: float, seconds: list[float], unit: str, device: str, **extra) -> dict:
    """Median/min/max of work per second over the runs."""
    rates = sorted(work / s for s in seconds)
    return {"name": name, "unit": unit, "device": device, "median": float(np.median(rates)),
            "min": rates[0], "max": rates[-1], "runs": len(rates), **extra}


def cpu_device() -> str:
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def reference_response(rng, video_rows, user_rows, user_ids, pages):
    """A bare numpy response model of similar shape: gather, score, hook, watch, actions."""
    rows = np.take(video_rows, pages, axis=0)                               # (B, K, F)
    score = np.matmul(rows, user_rows[user_ids][:, :, None])[..., 0]        # (B, K)
    hooked = rng.random(score.shape, dtype=np.float32) < 1 / (1 + np.exp(-score))
    ratio = np.exp(0.3 * score + 0.5 * rng.standard_normal(score.shape, dtype=np.float32))
    watch = np.where(hooked, ratio, 0.1) * rows[..., 0]
    likes = rng.random(score.shape, dtype=np.float32) < 1 / (1 + np.exp(4 - score))
    return watch, likes


def behaviour_figures(n_users: int, repeats: int) -> list[dict]:
    """The response model and the behaviour step under the default (fused) kernel, the step
    under the numpy steps (behavior.kernel=numpy), and the bare-numpy reference, all timed in
    this process on the same pages."""
    n_videos = max(100_000, n_users)
    world_args = ["world=default", f"world.n_users={n_users}", f"world.n_videos={n_videos}",
                  f"world.n_creators={max(n_users // 10, 1000)}"]
    cfg = load_config(world_args)
    world = World.generate(cfg.world, Streams(0).numpy("world"))
    behavior = Behavior(world, cfg.behavior, Streams(0).numpy("behavior"))
    steps = Behavior(world, load_config(world_args + ["behavior.kernel=numpy"]).behavior,
                     Streams(0).numpy("behavior"))
    rng = np.random.default_rng(0)
    users = np.arange(n_users)
    pages = rng.integers(0, world.videos.n, (n_users, PAGE))
    video_rows = rng.random((world.videos.n, 16), dtype=np.float32)
    user_rows = rng.random((n_users, 16), dtype=np.float32)
    work = n_users * PAGE
    for warm_up in (lambda: behavior.sample(users, pages, rng), lambda: behavior.respond(
            users, pages), lambda: steps.respond(users, pages)):   # kernels loaded, the shard
        warm_up()                                   # threads started, pages touched: untimed
    model = timed(lambda: behavior.sample(users, pages, rng), repeats)
    ours = timed(lambda: behavior.respond(users, pages), repeats)
    numpy_steps = timed(lambda: steps.respond(users, pages), repeats)
    ref = timed(lambda: reference_response(rng, video_rows, user_rows, users, pages), repeats)
    ratio = float(np.median(ref) / np.median(ours))
    device, threads = cpu_device(), cfg.behavior.threads
    return [figure(f"response model impressions/s @ {n_users:,} users", work, model,
                   "impressions/s", device, threads=threads, kernel=cfg.behavior.kernel,
                   ratio_to_reference=float(np.median(ref) / np.median(model))),
            figure(f"behaviour step (with state) impressions/s @ {n_users:,} users", work, ours,
                   "impressions/s", device, ratio_to_reference=ratio, threads=threads,
                   kernel=cfg.behavior.kernel),
            figure(f"behaviour step, numpy steps @ {n_users:,} users", work, numpy_steps,
                   "impressions/s", device, threads=threads, kernel="numpy",
                   ratio_to_reference=float(np.median(ref) / np.median(numpy_steps)),
                   fused_speedup=float(np.median(numpy_steps) / np.median(ours))),
            figure(f"bare-numpy reference @ {n_users:,} users", work, ref, "impressions/s", device)]


def end_to_end_figures(n_users: int, repeats: int, policy: str = "popular",
                       device: str = "cpu") -> list[dict]:
    """Day-loop figures (feedsim/bench_e2e.py), each in its own process for its peak memory."""
    from feedsim.bench_e2e import end_to_end_figures as day_figures

    return day_figures(n_users, repeats, policy, device)


def stage_figures(repeats: int, device: str = "cpu") -> list[dict]:
    """Retrieval and ranking benchmarks on `device`, where those stages provide them."""
    out = []
    for module, fn in (("feedsim.bench_retrieval", "retrieval_benchmarks"),
                       ("feedsim.bench_ranking", "ranking_benchmarks")):
        try:
            bench = getattr(__import__(module, fromlist=[fn]), fn)
        except (ImportError, AttributeError):
            continue
        out += [_with_reference_ratio(f) for f in bench(repeats, device=device)]
    return out


def _with_reference_ratio(f: dict) -> dict:
    """Stage benchmarks name their ratio `ratio_to_bare` or `ratio`: one key for the table."""
    ratio = f.get("ratio_to_reference", f.get("ratio_to_bare", f.get("ratio")))
    return f if ratio is None else {**f, "ratio_to_reference": ratio}


def print_table(figures: list[dict]) -> None:
    print(f"{'figure':58s} {'median':>14s} {'min':>12s} {'max':>12s}  unit / ratio / peak / device")
    for f in figures:
        ratio = f" x{f['ratio_to_reference']:.3g} of ref" if "ratio_to_reference" in f else ""
        peak = f" peak {f['peak_rss_gb']:.2f} GB" if "peak_rss_gb" in f else ""
        if "share_of_day" in f:                  # a stage: its share instead of the peak
            peak = f" {f['share_of_day']:.1%} of the day"
        if "tail_steps" in f:                    # the tail: its steps and requests
            peak = (f" {f['tail_steps']} of {f['steps']} steps, {f['tail_request_share']:.1%} "
                    "of requests")
        print(f"{f['name'][:58]:58s} {f['median']:14,.2f} {f['min']:12,.2f} {f['max']:12,.2f}"
              f"  {f['unit']}{ratio}{peak}  [{f['device']}]")
        if f.get("refusal"):
            print(f"{'':58s} refused up front: {f['refusal']}")


def environment(args: argparse.Namespace, seconds: float) -> dict:
    """What the figures were measured on: noisy shared machines need the load beside them."""
    import sys

    import torch

    return {"argv": sys.argv[1:], "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg(), "device": args.device, "wall_s": seconds,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m feedsim.bench", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="world sizes (users) of the behaviour scaling curve")
    parser.add_argument("--e2e-sizes", default="10000,31623,100000",
                        help="users of end-to-end days under the popular baseline: the scaling "
                             "curve of cost per impression (add 1000000 for 1 M users)")
    parser.add_argument("--fyp-sizes", default="10000",
                        help="users of end-to-end days under the full fyp feed (100000 takes "
                             "much longer on 2 cores: --fyp-sizes 10000,100000)")
    parser.add_argument("--device", default="cpu",
                        help="cpu | cuda: the device of the day loop and the stage benchmarks")
    parser.add_argument("--no-stages", action="store_true", help="skip retrieval and ranking")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip building the 1 M users x 1 M videos world")
    parser.add_argument("--out", default="bench.json")
    args = parser.parse_args(argv)
    from feedsim.bench_e2e import scaling_figures, world_memory_figures

    start, figures = time.perf_counter(), []
    for n in (int(x) for x in args.sizes.split(",") if x):
        figures += behaviour_figures(n, args.repeats)
    e2e = []
    for n in (int(x) for x in args.e2e_sizes.split(",") if x):
        e2e += end_to_end_figures(n, max(2, args.repeats // 2 if n > 10_000 else args.repeats),
                                  device=args.device)
    for n in (int(x) for x in args.fyp_sizes.split(",") if x):
        e2e += end_to_end_figures(n, 3 if n <= 10_000 else 2, policy="fyp", device=args.device)
    figures += e2e + scaling_figures(e2e)
    if not args.no_stages:
        figures += stage_figures(args.repeats, args.device)
    if not args.no_memory:
        figures += world_memory_figures(args.device)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    figures.append({"name": "peak resident memory (bench process)", "unit": "GB",
                    "device": cpu_device(), "median": peak_gb, "min": peak_gb, "max": peak_gb,
                    "runs": 1})
    print_table(figures)
    report = {"environment": environment(args, time.perf_counter() - start), "figures": figures}
    Path(args.out).write_text(json.dumps(report, indent=2, default=float))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
