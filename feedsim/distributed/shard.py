"""Sharding the training rows across ranks, the way DistributedSampler does.

Every rank draws the same global permutation for an epoch (a generator seeded by the shared
seed and the epoch) and keeps every world_size-th row from its rank on, after dropping the
remainder so all ranks take the same number of steps (a rank with one step more would wait
forever in the gradient all-reduce). Batch k of rank r is then rows
order[k*B*W + r :: W][:B], so the W batches of step k together are exactly the k-th batch of
size B*W of one process over the same order: W ranks with batch B train like one process with
batch B*W (the same gradients, up to float summation order).
"""
from __future__ import annotations

import torch


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> torch.Tensor:
    """The global order of n rows for `epoch`, identical on every rank. (n,) long"""
    if not shuffle:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


def rank_rows(order: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's strided shard of `order`, equal in size on every rank. (n // W,) long"""
    usable = order.shape[0] // world_size * world_size
    return order[:usable][rank::world_size]


def batches(rows: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Consecutive mini-batches of a shard (the last may be shorter, equally on every rank)."""
    return [rows[s:s + batch_size] for s in range(0, rows.shape[0], batch_size)]
