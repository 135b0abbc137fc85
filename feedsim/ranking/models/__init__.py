"""Stage 2 of 5 (ranking): the multi-task models behind one interface, and their factory."""
from __future__ import annotations

import torch

from feedsim.ranking.models.base import ModelSpec, RankingModel
from feedsim.ranking.models.mmoe import MMoE
from feedsim.ranking.models.ple import PLE
from feedsim.ranking.models.shared_bottom import SharedBottom
from feedsim.ranking.models.single_task import SingleTask

MODEL_CLASSES = {"single_task": SingleTask, "shared_bottom": SharedBottom, "mmoe": MMoE,
                 "ple": PLE}


def build_model(name: str, spec: ModelSpec, generator: torch.Generator) -> RankingModel:
    """The model called `name` (ranking.model), built on CPU from a seeded generator."""
    if name not in MODEL_CLASSES:
        raise ValueError(f"ranking.model: unknown model {name!r}; one of "
                         f"{'|'.join(MODEL_CLASSES)}")
    return MODEL_CLASSES[name](spec, generator)


__all__ = ["MODEL_CLASSES", "ModelSpec", "RankingModel", "build_model"]
