"""Benchmarks of stage 1 (retrieval): training throughput, request throughput, exact top-500.

Each figure is timed `repeats` times (median, min, max) and set beside a bare-torch reference
timed in the same process, alternated run by run with it, so a figure reads as "how far from
what torch alone can do here":
- exact top-500 over 1 M x 64 videos: `ExactIndex` against a bare `topk(q @ X.T)`;
- two-tower training samples/s against a bare id-only in-batch-softmax model (sparse
  embeddings, SparseAdam) on the same positives;
- MF (implicit ALS) and item-to-item training samples/s (no torch reference: ratio None);
- requests/s for 500 merged candidates from all default sources, against a bare top-500
  over the same catalogue.
The world is the `small` preset after one day of the popular baseline.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from feedsim.device import resolve_device, torch_threads

N_VIDEOS, DIM, K, QUERIES = 1_000_000, 64, 500, 256


def timed(fn: Callable[[], float], repeats: int) -> list[float]:
    """fn returns a rate; the rates of `repeats` runs (after one warm-up)."""
    fn()
    return [fn() for _ in range(repeats)]


def paired(ours: Callable[[], float], ref: Callable[[], float],
           repeats: int) -> tuple[list[float], list[float]]:
    """Rates of `ours` and its bare reference, alternated run by run (after one warm-up of
    each), so a burst of load from other processes hits both sides alike."""
    ours(), ref()
    pairs = [(ours(), ref()) for _ in range(repeats)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def figure(name: str, unit: str, device: str, rates: list[float], ref: list[float] | None) -> dict:
    med = statistics.median(rates)
    return {"name": name, "value": med, "unit": unit, "device": device, "median": med,
            "min": min(rates), "max": max(rates), "repeats": len(rates),
            "reference": None if ref is None else statistics.median(ref),
            "ratio": None if ref is None else med / statistics.median(ref)}


def rate(fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    n = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def bench_topk(repeats: int, device: str) -> dict:
    from feedsim.retrieval.index import ExactIndex

    gen = torch.Generator().manual_seed(0)
    items = F.normalize(torch.randn(N_VIDEOS, DIM, generator=gen), dim=1).to(device)
    queries = F.normalize(torch.randn(QUERIES, DIM, generator=gen), dim=1).to(device)
    index = ExactIndex(device, query_batch=128).build(items)

    def bare() -> int:
        for start in range(0, QUERIES, 128):
            torch.topk(queries[start:start + 128] @ items.T, K, dim=1)
        return QUERIES

    ours, ref = paired(lambda: rate(lambda: index.search_torch(queries, K)[0].shape[0]),
                       lambda: rate(bare), repeats)
    return figure("retrieval.exact_top500_1M_x64", "queries/s", device, ours, ref)


def small_world(device: str):
    """The small preset after one day of popular logs, and its log."""
    from feedsim.config.compose import load_config
    from feedsim.loop import Simulation

    cfg = load_config(["world=small", "policy=popular", "loop.progress=false", "loop.days=1",
                       f"device={device}"])
    sim = Simulation(cfg)
    sim.step_day()
    sim.world.start_day()
    sim.ctx.counters.grow(sim.world.videos.n)
    return cfg, sim


def bare_two_tower_rate(users: np.ndarray, videos: np.ndarray, n_users: int, n_videos: int,
                        cfg, device: str) -> float:
    """Samples/s of an id-only two-tower with sparse tables: the floor of per-step cost (under
    the same torch thread setting as the source's training)."""
    with torch_threads(cfg.torch_threads):
        return _bare_two_tower_rate(users, videos, n_users, n_videos, cfg, device)


def _bare_two_tower_rate(users, videos, n_users, n_videos, cfg, device) -> float:
    gen = torch.Generator().manual_seed(0)
    u_tab = torch.nn.Embedding(n_users, cfg.dim, sparse=True).to(device)
    v_tab = torch.nn.Embedding(n_videos, cfg.dim, sparse=True).to(device)
    opt = torch.optim.SparseAdam([u_tab.weight, v_tab.weight], lr=cfg.sparse_lr)
    u_all, v_all = torch.as_tensor(users, device=device), torch.as_tensor(videos, device=device)
    start = time.perf_counter()
    perm = torch.randperm(users.size, generator=gen).to(device)
    for b in range(0, users.size, cfg.batch_size):
        idx = perm[b:b + cfg.batch_size]
        logits = F.normalize(u_tab(u_all[idx]), dim=1) @ F.normalize(v_tab(v_all[idx]), dim=1).T
        loss = F.cross_entropy(logits / cfg.temperature, torch.arange(idx.shape[0], device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return users.size / (time.perf_counter() - start)


def bench_training(repeats: int, device: str, cfg, sim) -> list[dict]:
    from feedsim.retrieval.base import positive_weights
    from feedsim.retrieval.retriever import Retriever

    log = sim.ctx.training_log(1)
    pos = positive_weights(log) > 0
    out = []
    for name in ("two_tower", "mf", "item2item"):
        rc = cfg.retrieval
        rc.two_tower.epochs = 1
        retriever = Retriever(rc, sim.ctx, seed=0, device=device, names=[name])
        source = retriever.source(name)

        def one() -> float:
            start = time.perf_counter()
            source.fit(log)
            stats = getattr(source, "train_stats", {})
            if stats:
                return stats["samples"] / stats["seconds"]
            return float(pos.sum()) / (time.perf_counter() - start)

        if name == "two_tower":
            ours, ref = paired(one, lambda: bare_two_tower_rate(
                log.user_id[pos].astype(np.int64), log.video_id[pos].astype(np.int64),
                sim.world.users.n, sim.world.videos.n, rc.two_tower, device), repeats)
        else:
            ours, ref = timed(one, repeats), None
        out.append(figure(f"retrieval.train_{name}", "samples/s", device, ours, ref))
    return out


def bench_requests(repeats: int, device: str, cfg, sim, batch: int = 256) -> dict:
    from feedsim.retrieval.index import ExactIndex
    from feedsim.retrieval.retriever import Retriever

    rc = cfg.retrieval
    rc.two_tower.epochs, rc.mf.iterations = 1, 3
    retriever = Retriever(rc, sim.ctx, seed=0, device=device).fit(sim.ctx.training_log(1))
    users = np.arange(batch) % sim.world.users.n
    tower = retriever.source("two_tower")
    index = ExactIndex(device).build(tower.video_vectors(np.arange(sim.world.videos.n)))
    queries = tower.user_vectors(users)
    ours, ref = paired(lambda: rate(lambda: retriever.retrieve(users).shape[0]),
                       lambda: rate(lambda: index.search_torch(queries, K)[0].shape[0]), repeats)
    return figure("retrieval.requests_500_candidates", "requests/s", device, ours, ref)


def retrieval_benchmarks(repeats: int = 3, device: str = "cpu") -> list[dict]:
    """All retrieval figures (see the module docstring)."""
    device = resolve_device(device)
    figures = [bench_topk(repeats, device)]
    cfg, sim = small_world(device)
    figures += bench_training(repeats, device, cfg, sim)
    figures.append(bench_requests(repeats, device, cfg, sim))
    return figures


if __name__ == "__main__":                                   # python -m feedsim.bench_retrieval
    import json
    import sys

    print(json.dumps(retrieval_benchmarks(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=1))
