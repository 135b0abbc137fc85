"""Device selection: `device=auto|cpu|cuda` resolved once, the same code path on both."""
from __future__ import annotations

import contextlib
import logging

log = logging.getLogger("feedsim")


class DeviceError(RuntimeError):
    """device=cuda was asked for on a machine without CUDA."""


def resolve_device(name: str) -> str:
    """'cpu' or 'cuda'. auto picks cuda when available; cuda without a GPU raises DeviceError."""
    import torch

    if name == "cpu":
        return "cpu"
    has_cuda = torch.cuda.is_available()
    if name == "cuda" and not has_cuda:
        raise DeviceError("device=cuda: no CUDA device is available (use device=auto or cpu)")
    return "cuda" if has_cuda else "cpu"


@contextlib.contextmanager
def torch_threads(n: int):
    """Run with `n` intra-op torch threads (0 = unchanged), restoring the previous setting: on
    shared cores one thread avoids OpenMP spin contention, which can cost up to 10x."""
    import torch

    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
