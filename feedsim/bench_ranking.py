"""Benchmarks of the ranking stage: MMoE training and scoring samples/s against bare torch.

`ranking_benchmarks(repeats)` times, in one process on the same encoded rows, the ranker's own
training epoch (`feedsim.ranking.train`) and serving-mode scoring against a bare-torch MMoE of
the same size (nn.Linear experts, softmax gates, linear towers, plain Adam loop), and reports
the median, min and max samples/s of each with the ratio ours / bare. Single-threaded torch
(the CPU budget is two shared cores).
"""
from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from feedsim.ranking.config import TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.tasks import WatchTarget
from feedsim.device import torch_threads
from feedsim.ranking.train import FitResult, Tensors, _epoch, _optimizers

TASKS = ["watch", "long_view", "like", "comment", "share", "follow", "skip"]
ROWS, VOCAB, FIELDS, DENSE, BATCH = 32_768, 60_000, 14, 32, 1024


class BareMMoE(nn.Module):
    """The reference: a textbook MMoE of the same size, nothing else."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        d, (h1, h2), e, t = spec.in_dim, spec.hidden, spec.n_experts, spec.n_tasks
        self.emb = nn.Embedding(spec.vocab, spec.embedding_dim)
        self.experts = nn.ModuleList(nn.Sequential(nn.Linear(d, h1), nn.ReLU(), nn.Linear(h1, h2),
                                                   nn.ReLU()) for _ in range(e))
        self.gates = nn.Linear(d, t * e)
        th = spec.tower_hidden
        self.towers = nn.ModuleList(nn.Sequential(nn.Linear(h2, th), nn.ReLU(), nn.Linear(th, 1))
                                    for _ in range(t))
        self.e, self.t = e, t

    def forward(self, cat, dense):
        x = torch.cat([self.emb(cat).flatten(1), dense], 1)                      # (N, I)
        ex = torch.stack([f(x) for f in self.experts], 1)                         # (N, E, H)
        g = self.gates(x).view(-1, self.t, self.e).softmax(-1)                    # (N, T, E)
        rep = torch.einsum("nte,neh->nth", g, ex)                                 # (N, T, H)
        return torch.cat([tw(rep[:, i]) for i, tw in enumerate(self.towers)], 1)  # (N, T)


def _data(gen: torch.Generator) -> Tensors:
    return Tensors(torch.randint(0, VOCAB, (ROWS, FIELDS), generator=gen),
                   torch.randn(ROWS, DENSE, generator=gen), torch.zeros(ROWS, dtype=torch.long),
                   (torch.rand(ROWS, len(TASKS), generator=gen) < 0.1).float())


def _bare_epoch(model, data: Tensors) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for s in range(0, ROWS, BATCH):
        logits = model(data.cat[s:s + BATCH], data.dense[s:s + BATCH])
        loss = nn.functional.binary_cross_entropy_with_logits(logits, data.targets[s:s + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()


def _rate(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(ROWS / (time.perf_counter() - start))
    return out


def _row(name: str, ours: list[float], bare: list[float]) -> dict:
    med = statistics.median(ours)
    return {"name": name, "value": med, "unit": "samples/s", "device": "cpu", "median": med,
            "min": min(ours), "max": max(ours), "bare_median": statistics.median(bare),
            "ratio_to_bare": med / statistics.median(bare)}


def ranking_benchmarks(repeats: int = 3) -> list[dict]:
    """MMoE training and scoring samples/s (CPU, one thread), with ratios to bare torch."""
    gen = torch.Generator().manual_seed(0)
    spec = ModelSpec(VOCAB, FIELDS, DENSE, len(TASKS), hidden=(64, 32), tower_hidden=16,
                     sparse=True)
    ours, bare = build_model("mmoe", spec, gen), BareMMoE(spec)
    heads = Heads(TASKS, WatchTarget("d2q"), [])
    data = _data(gen)
    opts = _optimizers(ours, TrainConfig())
    with torch_threads(1):
        train = _rate(lambda: _epoch(ours, heads, opts, data, BATCH, gen, FitResult()), repeats)
        train_bare = _rate(lambda: _bare_epoch(bare, data), repeats)
        with torch.no_grad():
            ours.eval()
            score = _rate(lambda: heads.predict(ours(data.cat, data.dense)), repeats)
            score_bare = _rate(lambda: torch.sigmoid(bare(data.cat, data.dense)), repeats)
    return [_row("ranking/mmoe_train", train, train_bare),
            _row("ranking/mmoe_score", score, score_bare)]


if __name__ == "__main__":
    for row in ranking_benchmarks(3):
        print(row)
