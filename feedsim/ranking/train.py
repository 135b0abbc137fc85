"""Stage 2 of 5 (ranking): mini-batch training with validation, early stopping, checkpoints.

The encoded rows live as tensors on the training device (cpu or cuda, the same code); each
epoch is one seeded permutation cut into mini-batches. Embedding tables may be sparse
(`nn.Embedding(sparse=True)` + SparseAdam: only the rows a batch touches are updated, which is
faster for large id tables); everything else uses Adam. A batch holding NaN or Inf, or giving a
non-finite loss, is reported and skipped. After each epoch the validation loss (serving mode: no
position tower) decides early stopping; the best state is kept, and written atomically to the
checkpoint directory only when every parameter is finite.
"""
from __future__ import annotations

import copy
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from feedsim.ranking.config import TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import RankingModel

log = logging.getLogger("feedsim")
EVAL_BATCH = 65_536


@dataclass
class Tensors:
    """Encoded rows on the device: cat (N, F) long, dense (N, D), position (N,), y (N, T)."""
    cat: torch.Tensor
    dense: torch.Tensor
    position: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return int(self.cat.shape[0])

    def rows(self, idx: torch.Tensor) -> "Tensors":
        return Tensors(self.cat[idx], self.dense[idx], self.position[idx], self.targets[idx])


@dataclass
class FitResult:
    epochs: int = 0
    best_epoch: int = -1
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    skipped_batches: int = 0
    samples_per_s: float = 0.0


def _optimizers(model: RankingModel, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
    opts: list[torch.optim.Optimizer] = [
        torch.optim.Adam(model.dense_parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)]
    if model.sparse_parameters():
        opts.append(torch.optim.SparseAdam(model.sparse_parameters(), lr=cfg.sparse_lr))
    return opts


def bad_rows(data: Tensors) -> torch.Tensor:
    """Rows holding NaN or Inf in a feature or a target. (N,) bool"""
    return ~(torch.isfinite(data.dense).all(1) & torch.isfinite(data.targets).all(1))


@torch.no_grad()
def evaluate(model: RankingModel, heads: Heads, data: Tensors) -> float:
    """Summed task loss over the rows, serving mode (position tower off), finite rows only."""
    model.eval()
    keep = ~bad_rows(data)
    total, n = 0.0, 0
    for start in range(0, len(data), EVAL_BATCH):
        part = data.rows(torch.arange(start, min(start + EVAL_BATCH, len(data)),
                                      device=data.cat.device))
        ok = keep[start:start + len(part)]
        logits = model(part.cat[ok], part.dense[ok])
        total += float(heads.losses(logits, part.targets[ok]).sum()) * int(ok.sum())
        n += int(ok.sum())
    model.train()
    return total / max(n, 1)


def _epoch(model, heads, opts, data: Tensors, batch_size: int, gen: torch.Generator,
           result: FitResult) -> float:
    perm = torch.randperm(len(data), generator=gen).to(data.cat.device)
    skip = bad_rows(data)[perm]
    n_batches = (len(data) + batch_size - 1) // batch_size
    skip_batch = torch.zeros(n_batches * batch_size, dtype=torch.bool, device=skip.device)
    skip_batch[: len(data)] = skip
    skip_batch = skip_batch.view(n_batches, batch_size).any(1).tolist()
    total, steps = 0.0, 0
    for b in range(n_batches):
        if skip_batch[b]:
            result.skipped_batches += 1
            continue
        batch = data.rows(perm[b * batch_size:(b + 1) * batch_size])
        loss = heads.losses(model(batch.cat, batch.dense, batch.position), batch.targets).sum()
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in opts:
            opt.step()
        total, steps = total + loss.detach(), steps + 1
    return float(total) / max(steps, 1)


def save_checkpoint(model: RankingModel, directory: str, name: str = "ranker.pt") -> bool:
    """Write the state atomically; refuse (and return False) when any parameter is not finite."""
    state = model.state_dict()
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        log.warning("ranker checkpoint not written: non-finite parameters")
        return False
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f".{name}.tmp"
    torch.save({k: v.detach().cpu() for k, v in state.items()}, tmp)
    os.replace(tmp, path / name)
    return True


def fit(model: RankingModel, heads: Heads, train: Tensors, val: Tensors, cfg: TrainConfig,
        gen: torch.Generator) -> FitResult:
    """Train in place; the model ends holding its best-validation state."""
    result, opts = FitResult(), _optimizers(model, cfg)
    best, best_state, start = float("inf"), None, time.perf_counter()
    model.train()
    for epoch in range(cfg.epochs):
        result.train_loss.append(_epoch(model, heads, opts, train, cfg.batch_size, gen, result))
        result.val_loss.append(evaluate(model, heads, val))
        result.epochs = epoch + 1
        if result.val_loss[-1] < best:
            best, result.best_epoch = result.val_loss[-1], epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - result.best_epoch >= cfg.patience:
            break
    result.samples_per_s = result.epochs * len(train) / (time.perf_counter() - start)
    if result.skipped_batches:
        log.warning("ranker training skipped %d batches holding NaN or Inf",
                    result.skipped_batches)
    if best_state is not None:
        model.load_state_dict(best_state)
    if cfg.checkpoint_dir:
        save_checkpoint(model, cfg.checkpoint_dir)
    model.eval()
    return result
