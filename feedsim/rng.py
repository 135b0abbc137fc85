"""Named random streams derived from one root seed.

Every source of randomness in feedsim (the world generator, the behaviour model, each policy,
each model, each arm) draws from its own stream, derived from the root seed and the stream's
name. Streams are independent of each other and of the order in which they are created, and no
code touches numpy's or torch's global RNG: the same seed gives the same logs.
"""
from __future__ import annotations

import zlib

import numpy as np


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """A factory of named, independent generators under one root seed."""

    def __init__(self, root_seed: int):
        self.root_seed = int(root_seed)

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence of stream `name` (dotted names nest: 'policy.arm1')."""
        key = tuple(_name_key(part) for part in name.split("."))
        return np.random.SeedSequence(self.root_seed, spawn_key=key)

    def numpy(self, name: str) -> np.random.Generator:
        """A fresh numpy Generator for stream `name`."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))

    def integer_seed(self, name: str) -> int:
        """A 63-bit integer seed for libraries that take one (torch, implicit)."""
        return int(self.seed_sequence(name).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))

    def torch(self, name: str, device: str = "cpu"):
        """A torch.Generator for stream `name` on `device`."""
        import torch

        gen = torch.Generator(device=device)
        gen.manual_seed(self.integer_seed(name))
        return gen
