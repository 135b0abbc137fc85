"""Beyond one machine: the platform's daily retraining with torch.distributed DDP.

In the story of the feed, the platform retrains its two-tower retrieval model and its
multi-task ranker every day on the impression log. When one process is too slow for the log,
the same training runs data-parallel: `torchrun` starts one process per core group or GPU, each
builds the same training rows, keeps its shard, wraps the model in DistributedDataParallel
(gloo on CPU, nccl on GPU) and trains; gradients are averaged across ranks, so every rank ends
with the same parameters, and rank 0 writes the checkpoint. See docs/scaling.md.

- `group.py`: the process group (env:// from torchrun), DDP wrapping, cross-rank checks;
- `shard.py`: one global order per epoch, cut into equal strided shards;
- `data.py`: the training log, from a finished run's checkpoint or a freshly simulated world;
- `ranker.py`, `two_tower.py`: the two models' DDP training loops;
- `train.py`: the entry point each rank runs (`python -m feedsim.distributed.train`).
"""
from feedsim.distributed.group import Group, init_group
from feedsim.distributed.shard import epoch_order, rank_rows

__all__ = ["Group", "epoch_order", "init_group", "rank_rows"]
