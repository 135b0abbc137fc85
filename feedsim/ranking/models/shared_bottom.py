"""Stage 2 of 5 (ranking), model 2 of 4: the shared-bottom multi-task network.

Caruana's hard parameter sharing: one MLP bottom for all tasks, then a small tower per task.
Cheap and data-efficient for related tasks; when tasks conflict (watch time against shares)
the shared units are pulled both ways, which MMoE and PLE address.
"""
from __future__ import annotations

import torch

from feedsim.ranking.models.base import GroupedLinear, ModelSpec, RankingModel, grouped_mlp


class SharedBottom(RankingModel):
    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        super().__init__(spec, generator)
        self.bottom = grouped_mlp(1, spec.in_dim, spec.hidden, generator)

    def input_layers(self) -> list[GroupedLinear]:
        return [self.bottom[0]]

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bottom(x)                                               # (1, N, H)
        return h.expand(self.spec.n_tasks, -1, -1)                       # (T, N, H)
