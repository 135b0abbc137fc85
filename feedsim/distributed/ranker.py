"""The multi-task ranker trained data-parallel: the same rows, model and losses as `Ranker.fit`.

`prepare` builds what `Ranker.fit` builds (as-of-serving-time features, targets, the watch
target, heads, the model with its base-rate output bias) on every rank; `ddp_fit` then trains
with each rank on its strided shard of one shared order per epoch (feedsim/distributed/shard.py),
gradients averaged by DDP, validation on the full latest day on every rank (so early stopping
decides the same everywhere), the best state kept. Rows holding NaN or Inf are dropped before
sharding: skipping a batch on one rank only would leave the others waiting in the all-reduce.
"""
from __future__ import annotations

import copy
import time
from dataclasses import replace

import numpy as np
import torch

from feedsim.distributed.group import Group
from feedsim.distributed.shard import batches, epoch_order, rank_rows
from feedsim.ranking.config import RankingConfig
from feedsim.ranking.features import FeatureEncoder, training_rows
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import build_model
from feedsim.ranking.ranker import Ranker, split_rows
from feedsim.ranking.tasks import WatchTarget
from feedsim.ranking.train import FitResult, Tensors, _optimizers, bad_rows, evaluate


def prepare(cfg: RankingConfig, view, log, daily_decay: float, device: str,
            seed: int) -> tuple[Ranker, Tensors, Tensors]:
    """A Ranker with heads, encoder and an untrained model, and its (train, val) rows."""
    ranker = Ranker(cfg, view, device, seed)
    rows = training_rows(log, view, daily_decay, cfg.counter_freshness)
    train_idx, val_idx = split_rows(log, cfg.train.days, cfg.train.max_rows,
                                  cfg.train.max_val_rows)
    finite = np.isfinite(log.watch_s) & np.isfinite(log.duration_s)
    ok = train_idx[finite[train_idx]]
    watch = WatchTarget.fit(cfg.watch_target, log.watch_s[ok], log.duration_s[ok],
                            cfg.duration_buckets)
    ranker.heads = Heads(list(cfg.heads), watch, list(cfg.esmm))
    ranker.encoder = FeatureEncoder(view, cfg.id_embeddings)
    train = ranker._tensors(rows.take(train_idx), ranker._targets(log, train_idx),
                            log.position[train_idx])
    val = ranker._tensors(rows.take(val_idx), ranker._targets(log, val_idx),
                          log.position[val_idx])
    train = train.rows(torch.nonzero(~bad_rows(train)).flatten())          # same rows on every rank
    ranker.model = build_model(cfg.model, ranker._spec(), torch.Generator().manual_seed(seed))
    ranker.model.init_output_bias(ranker._base_logits(train.targets))
    ranker.item_cache.invalidate()
    ranker.model.to(device)
    return ranker, train, val


def for_group(cfg: RankingConfig, group: Group) -> RankingConfig:
    """nccl cannot all-reduce sparse gradients: dense id tables on GPU."""
    if group.sparse_ok or not cfg.train.sparse_embeddings:
        return cfg
    return replace(cfg, train=replace(cfg.train, sparse_embeddings=False))


def _epoch(forward, heads: Heads, opts, data: Tensors, rows: torch.Tensor,
           batch_size: int) -> float:
    """One pass over this rank's shard; the mean training loss of its batches."""
    total = torch.zeros((), device=data.cat.device)                 # no host sync per batch
    parts = batches(rows.to(data.cat.device), batch_size)
    for idx in parts:
        batch = data.rows(idx)
        loss = heads.losses(forward(batch.cat, batch.dense, batch.position), batch.targets).sum()
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()                          # DDP averages the gradients across ranks here
        for opt in opts:
            opt.step()
        total = total + loss.detach()
    return float(total) / max(len(parts), 1)


def ddp_fit(ranker: Ranker, train: Tensors, val: Tensors, group: Group, seed: int,
            shuffle: bool = True) -> FitResult:
    """Train ranker.model on this rank's shards; every rank ends with the same best state."""
    model, heads, cfg = ranker.model, ranker.heads, ranker.cfg.train
    forward, opts = group.wrap(model), _optimizers(model, cfg)
    result, best, best_state = FitResult(), float("inf"), None
    start = time.perf_counter()
    model.train()
    for epoch in range(cfg.epochs):
        rows = rank_rows(epoch_order(len(train), seed, epoch, shuffle), group.rank,
                         group.world_size)
        result.train_loss.append(group.mean(_epoch(forward, heads, opts, train, rows,
                                                   cfg.batch_size)))
        result.val_loss.append(evaluate(model, heads, val))
        result.epochs = epoch + 1
        if result.val_loss[-1] < best:
            best, result.best_epoch = result.val_loss[-1], epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - result.best_epoch >= cfg.patience:
            break
    seconds = time.perf_counter() - start
    usable = len(train) // group.world_size * group.world_size             # rows all ranks saw
    result.samples_per_s = result.epochs * usable / seconds
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    ranker.result = result
    return result
