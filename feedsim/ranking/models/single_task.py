"""Stage 2 of 5 (ranking), model 1 of 4: the single-task baseline.

One independent MLP per task, run side by side as grouped matrix products: no task sees
another's hidden units, so this is T single-task models that only share the input embedding
table. It is the reference the multi-task models must match or beat, task by task.
"""
from __future__ import annotations

import torch

from feedsim.ranking.models.base import GroupedLinear, ModelSpec, RankingModel, grouped_mlp


class SingleTask(RankingModel):
    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        super().__init__(spec, generator)
        self.mlps = grouped_mlp(spec.n_tasks, spec.in_dim, spec.hidden, generator)

    def input_layers(self) -> list[GroupedLinear]:
        return [self.mlps[0]]

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlps(x)                                              # (T, N, H)
