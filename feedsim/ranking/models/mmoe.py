"""Stage 2 of 5 (ranking), model 3 of 4: Multi-gate Mixture-of-Experts (Ma et al., KDD 2018).

E expert MLPs read the same input; each task has its own softmax gate over the experts, so a
task can lean on the experts that serve it and ignore those that serve a conflicting task.
Experts run side by side as grouped matrix products; the gates are one linear layer.
"""
from __future__ import annotations

import torch
from feedsim.ranking.models.base import (GroupedLinear, ModelSpec, RankingModel, gate_softmax,
                                         grouped_mlp, mix_experts)


class MMoE(RankingModel):
    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        super().__init__(spec, generator)
        self.experts = grouped_mlp(spec.n_experts, spec.in_dim, spec.hidden, generator)
        self.gates = GroupedLinear(spec.n_tasks, spec.in_dim, spec.n_experts, generator)

    def input_layers(self) -> list[GroupedLinear]:
        return [self.experts[0], self.gates]

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        experts = self.experts(x)                                        # (E, N, H)
        gates = gate_softmax(self.gates(x))                              # (T, N, E)
        return mix_experts(gates, experts)              # (T, N, H)
