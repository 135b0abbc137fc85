"""The two-tower retrieval model trained data-parallel: `TwoTowerSource` with a DDP loop.

`DistributedTwoTower` is the retrieval source itself (same features, towers, in-batch softmax
with logQ, id dropout, catalogue encoding and index), with only the training loop replaced:
q_j, the per-draw frequency behind the logQ correction, is counted over all positives (not a
rank's shard), each rank trains on its strided shard of one shared order per epoch, and the
step goes through DistributedDataParallel. The in-batch negatives of a step are the rank's
own batch (B per rank, not B x world_size): the usual data-parallel choice, cheaper than
all-gathering the video vectors, and the softmax sees fewer negatives per example.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from feedsim.distributed.group import Group
from feedsim.distributed.shard import batches, epoch_order, rank_rows
from feedsim.retrieval.two_tower import TwoTowerSource
from feedsim.retrieval.tower_features import video_table


class StepLoss(nn.Module):
    """Forward = the source's training loss of a batch, so DDP sees (and syncs) the towers."""

    def __init__(self, source: "DistributedTwoTower"):
        super().__init__()
        self.towers = source.model              # the parameters DDP registers and all-reduces
        self.source = [source]                  # a list: not a submodule, no parameters

    def forward(self, u, v, w, log_q, content) -> torch.Tensor:
        return self.source[0]._step_loss(u, v, w, log_q, content)


class DistributedTwoTower(TwoTowerSource):
    """The two-tower source, trained across the ranks of `group`."""

    def __init__(self, view, cfg, index, gen: torch.Generator, group: Group, seed: int,
                 device: str = "cpu"):
        super().__init__(view, cfg, index, gen, device)
        self.group, self.seed = group, seed
        self.train_loss: list[float] = []

    def _train(self, users: np.ndarray, videos: np.ndarray, weight: np.ndarray,
               shown: np.ndarray) -> int:
        """Epochs over this rank's shards of all positives; returns samples seen by all ranks.
        The logit correction (logQ, exposure) is the single-process one, over all positives."""
        dev = self.device
        u_all, v_all = torch.as_tensor(users, device=dev), torch.as_tensor(videos, device=dev)
        w_all = torch.as_tensor(weight, dtype=torch.float32, device=dev)
        logq_all = torch.as_tensor(self._correction(videos, np.asarray(shown, np.int64)),
                                   dtype=torch.float32, device=dev)
        content = video_table(self.view, self.vocab, np.arange(self.vocab.videos)).to(dev)
        step, opts = self.group.wrap(StepLoss(self)), self._optimisers()
        seen = 0
        self.model.train()
        for epoch in range(self.cfg.epochs):
            rows = rank_rows(epoch_order(users.size, self.seed, epoch), self.group.rank,
                             self.group.world_size).to(dev)
            parts = [idx for idx in batches(rows, self.cfg.batch_size) if idx.shape[0] > 1]
            total = torch.zeros((), device=dev)                 # no host sync per batch
            for idx in parts:                                                # (B,) each
                loss = step(u_all[idx], v_all[idx], w_all[idx], logq_all[idx], content)
                for opt in opts:
                    opt.zero_grad()
                loss.backward()
                for opt in opts:
                    opt.step()
                total = total + loss.detach()
                seen += idx.shape[0] * self.group.world_size
            self.train_loss.append(self.group.mean(float(total) / max(len(parts), 1)))
        return seen
