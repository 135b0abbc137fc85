"""The process group of one DDP training job, and the checks that keep ranks in step.

`torchrun` sets RANK, LOCAL_RANK and WORLD_SIZE (plus MASTER_ADDR/PORT); `init_group` joins
the group with gloo on CPU or nccl on CUDA (one GPU per local rank). Without those variables
(a plain `python -m ...`) the group is a single process and nothing is wrapped, so the same
training code runs alone or distributed.

Sparse embedding gradients (`nn.Embedding(sparse=True)` + SparseAdam) all-reduce under gloo
(tested with 2 CPU processes) but nccl does not reduce sparse tensors, so on GPU the id tables
train dense (`Group.sparse_ok`), which is also what is faster there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass
class Group:
    rank: int = 0
    world_size: int = 1
    backend: str = "none"            # none (one process) | gloo | nccl
    device: str = "cpu"

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def sparse_ok(self) -> bool:
        """Whether sparse gradients can be all-reduced by this backend."""
        return self.backend != "nccl"

    def wrap(self, module: nn.Module) -> nn.Module:
        """The module to call forward on: DDP around it when distributed, else itself."""
        if not self.distributed:
            return module
        ids = [torch.device(self.device).index] if self.device.startswith("cuda") else None
        return DistributedDataParallel(module, device_ids=ids)

    def mean(self, value: float) -> float:
        """The mean of a per-rank number over all ranks."""
        if not self.distributed:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t) / self.world_size

    def same_parameters(self, module: nn.Module) -> bool:
        """True when every rank holds bit-identical parameters (max == min across ranks)."""
        flat = torch.cat([p.detach().double().flatten() for p in module.parameters()])
        if not self.distributed:
            return True
        high, low = flat.clone(), flat.clone()
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        return bool(torch.equal(high, low))

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def rank_device(requested: str) -> str:
    """'cpu' or 'cuda' for every rank of this job, from `device=auto|cpu|cuda`.

    One GPU per local rank: `auto` takes CUDA only when this machine has a GPU for each of the
    LOCAL_WORLD_SIZE ranks torchrun started here, else every rank runs gloo on CPU (all ranks
    decide alike, so the backend agrees). `cuda` with too few GPUs is an error, not a crash
    on a missing device ordinal."""
    from feedsim.device import DeviceError, resolve_device

    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    if local_ranks <= 1 or requested == "cpu":
        return resolve_device(requested)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus >= local_ranks:
        return "cuda"
    if requested == "cuda":
        raise DeviceError(f"device=cuda: torchrun started {local_ranks} ranks on this machine, "
                          f"which has {gpus} GPU(s); one GPU per rank (or device=cpu for gloo)")
    return "cpu"


def init_group(device: str = "cpu") -> Group:
    """Join the torchrun group (env://) if there is one; device is the resolved 'cpu'/'cuda'."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Group(device=device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    dist.init_process_group(backend)
    return Group(rank, world_size, backend, device)
