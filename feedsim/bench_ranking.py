"""Benchmarks of the ranking stage: MMoE training and scoring samples/s against bare torch.

`ranking_benchmarks(repeats)` times, in one process on the same rows, the ranker's own code
against a bare-torch MMoE of the same size (a textbook ModuleList of nn.Linear experts, softmax
gates, nn.Linear towers, a plain loop):

* training: one epoch of `feedsim.ranking.train._epoch` (seeded shuffle, NaN screen, the heads'
  losses, Adam + SparseAdam) against the bare loop over contiguous slices with BCE-with-logits.
  Both models use a sparse embedding table with SparseAdam, the faster choice on CPU for a
  60 k-row table, so the reference is the fastest plain loop, not a strawman;
* scoring: `Ranker._predict_tensors` (inference mode, EVAL_BATCH chunks, every head's
  transform, numpy out) plus the value model's fusion, against the bare model's forward and a
  sigmoid on the same chunks;
* serving: rows in requests of 24 candidates, split once per request, and with the
  candidates' item part looked up in an item table (`Ranker.predict_items`, as the fyp serves
  on CPU; the table's once-a-day build is not timed), each against the same rows unsplit.

The two sides alternate within each repeat, so a load spike from other processes on the shared
cores hits both; each row gives the medians, min and max of ours, the bare median, the ratio of
medians and the median of the per-repeat ratios. Single-threaded torch on CPU (two shared cores);
`device=cuda` runs both sides on the GPU.
Feature building is not in these rows (it needs a world); see experiments/ranking_offline.
"""
from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from feedsim.device import resolve_device, torch_threads
from feedsim.ranking.config import RankingConfig, TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.ranker import Ranker
from feedsim.ranking.tasks import WatchTarget
from feedsim.ranking.train import EVAL_BATCH, FitResult, Tensors, _epoch, _optimizers

TASKS = ["watch", "long_view", "like", "comment", "share", "follow", "skip"]
ROWS, VOCAB, FIELDS, DENSE, BATCH = 32_768, 60_000, 14, 32, 1024
PER_REQUEST, REQUEST_FIELDS, REQUEST_DENSE = 24, 6, 9     # as the fyp's pre-rank and encoder
CATALOGUE = 20_000          # videos of the item table: 20 k x 284 floats, 23 MB, beyond cache


class BareMMoE(nn.Module):
    """The reference: a textbook MMoE of the same size, nothing else."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        d, (h1, h2), e, t = spec.in_dim, spec.hidden, spec.n_experts, spec.n_tasks
        self.emb = nn.Embedding(spec.vocab, spec.embedding_dim, sparse=True)
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


def _bare_optimizers(model: BareMMoE) -> list[torch.optim.Optimizer]:
    dense = [p for name, p in model.named_parameters() if not name.startswith("emb.")]
    return [torch.optim.Adam(dense, lr=1e-3), torch.optim.SparseAdam([model.emb.weight], lr=1e-2)]


def _bare_epoch(model: BareMMoE, opts: list[torch.optim.Optimizer], data: Tensors) -> None:
    for s in range(0, ROWS, BATCH):
        logits = model(data.cat[s:s + BATCH], data.dense[s:s + BATCH])            # (B, T)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, data.targets[s:s + BATCH])
        for opt in opts:
            opt.zero_grad()
        loss.backward()
        for opt in opts:
            opt.step()


@torch.inference_mode()
def _bare_score(model: BareMMoE, data: Tensors) -> None:
    for s in range(0, ROWS, EVAL_BATCH):
        logits = model(data.cat[s:s + EVAL_BATCH], data.dense[s:s + EVAL_BATCH])       # (n, T)
        torch.sigmoid(logits).cpu().numpy()


def _serving_ranker(model, heads: Heads, device: str) -> Ranker:
    """A Ranker holding an already built model, for its scoring path only."""
    ranker = Ranker(RankingConfig(heads=list(TASKS)), view=None, device=device)
    ranker.model, ranker.heads = model.eval(), heads
    return ranker


def _ours_score(ranker: Ranker, data: Tensors) -> None:
    preds = ranker._predict_tensors(data)                                # task -> (N,)
    ranker.fusion({t: p.reshape(-1, 256) for t, p in preds.items()})     # (N/256, 256)


def _request_split_rates(gen: torch.Generator, heads: Heads, device: str,
                         repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Scoring samples/s of an MMoE whose rows come in requests of PER_REQUEST candidates
    sharing their request-level columns: split once per request, and through an item table
    of a CATALOGUE-video catalogue (each row a random video, so the rows it gathers are
    scattered as in serving), each against the same model and rows scored unsplit (the
    reference)."""
    spec = ModelSpec(VOCAB, FIELDS, DENSE, len(TASKS), hidden=(64, 32), tower_hidden=16,
                     sparse=True, request_fields=REQUEST_FIELDS, request_dense=REQUEST_DENSE)
    ranker = _serving_ranker(build_model("mmoe", spec, gen).to(device), heads, device)
    rows = _data(gen)
    catalogue = rows.cat[:CATALOGUE, REQUEST_FIELDS:].clone()           # (V, F_c) per video
    videos = torch.randint(0, CATALOGUE, (ROWS,), generator=gen)        # (N,) a video per row
    rows.cat[:, REQUEST_FIELDS:] = catalogue[videos]
    rows.cat[:, :REQUEST_FIELDS] = rows.cat[::PER_REQUEST, :REQUEST_FIELDS].repeat_interleave(
        PER_REQUEST, 0)[:ROWS]
    rows.dense[:, :REQUEST_DENSE] = rows.dense[::PER_REQUEST, :REQUEST_DENSE].repeat_interleave(
        PER_REQUEST, 0)[:ROWS]
    n = ROWS // PER_REQUEST * PER_REQUEST                                # whole requests
    data = Tensors(*(t[:n].to(device) for t in (rows.cat, rows.dense, rows.position,
                                                  rows.targets)))
    scale = ROWS / n                                                     # rates per ROWS rows
    split, full = _paired_rates(lambda: ranker._predict_tensors(data, PER_REQUEST),
                                lambda: ranker._predict_tensors(data, 1), repeats)
    table = ranker.model.item_table(catalogue.to(device))                 # (V, W)
    videos = videos[:n].to(device)
    requests = data.cat[::PER_REQUEST, :REQUEST_FIELDS]
    items, _ = _paired_rates(
        lambda: ranker.predict_items(requests, data.dense, videos, table, PER_REQUEST),
        lambda: ranker._predict_tensors(data, 1), repeats)
    return [r / scale for r in split], [r / scale for r in full], [r / scale for r in items]


def _paired_rates(ours, bare, repeats: int) -> tuple[list[float], list[float]]:
    """Samples/s of `ours` and `bare`, alternating within each repeat."""
    a, b = [], []
    for _ in range(repeats):
        for fn, out in ((ours, a), (bare, b)):
            start = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            out.append(ROWS / (time.perf_counter() - start))
    return a, b


def _row(name: str, ours: list[float], bare: list[float], device: str) -> dict:
    med, bare_med = statistics.median(ours), statistics.median(bare)
    return {"name": name, "value": med, "unit": "samples/s", "device": device, "median": med,
            "min": min(ours), "max": max(ours), "runs": len(ours), "bare_median": bare_med,
            "ratio_to_bare": med / bare_med, "ratio_to_reference": med / bare_med,
            "paired_ratio_median": statistics.median(x / y for x, y in zip(ours, bare))}


def ranking_benchmarks(repeats: int = 3, device: str = "cpu") -> list[dict]:
    """MMoE training and scoring samples/s (one thread on CPU), with ratios to bare torch."""
    device = resolve_device(device)
    gen = torch.Generator().manual_seed(0)
    spec = ModelSpec(VOCAB, FIELDS, DENSE, len(TASKS), hidden=(64, 32), tower_hidden=16,
                     sparse=True)
    ours, bare = build_model("mmoe", spec, gen).to(device), BareMMoE(spec).to(device)
    heads = Heads(TASKS, WatchTarget("d2q"), [])
    rows = _data(gen)
    data = Tensors(*(t.to(device) for t in (rows.cat, rows.dense, rows.position, rows.targets)))
    opts, bare_opts = _optimizers(ours, TrainConfig()), _bare_optimizers(bare)
    with torch_threads(1):
        _epoch(ours, heads, opts, data, BATCH, gen, FitResult())         # warm-up, both sides
        _bare_epoch(bare, bare_opts, data)
        train, train_bare = _paired_rates(
            lambda: _epoch(ours, heads, opts, data, BATCH, gen, FitResult()),
            lambda: _bare_epoch(bare, bare_opts, data), repeats)
        ranker = _serving_ranker(ours, heads, device)
        bare.eval()
        score, score_bare = _paired_rates(lambda: _ours_score(ranker, data),
                                          lambda: _bare_score(bare, data), repeats)
        split, unsplit, items = _request_split_rates(gen, heads, device, repeats)
    return [_row("ranking/mmoe_train", train, train_bare, device),
            _row("ranking/mmoe_score", score, score_bare, device),
            _row(f"ranking/mmoe_score split per request of {PER_REQUEST} (ref: unsplit)",
                 split, unsplit, device),
            _row(f"ranking/mmoe_score item table, requests of {PER_REQUEST} (ref: unsplit)",
                 items, unsplit, device)]


if __name__ == "__main__":
    for row in ranking_benchmarks(5):
        print(row)
