"""Stage 2 of 5 (ranking), model 3 of 4: Multi-gate Mixture-of-Experts (Ma et al., KDD 2018).

E expert MLPs read the same input; each task has its own softmax gate over the experts, so a
task can lean on the experts that serve it and ignore those that serve a conflicting task.
Experts run side by side as grouped matrix products; the gates are one linear layer.
"""
from __future__ import annotations

import torch
from feedsim.ranking.models.base import GroupedLinear, ModelSpec, RankingModel, grouped_mlp


class MMoE(RankingModel):
    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        super().__init__(spec, generator)
        self.experts = grouped_mlp(spec.n_experts, spec.in_dim, spec.hidden, generator)
        self.gates = GroupedLinear(1, spec.in_dim, spec.n_tasks * spec.n_experts, generator)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        e, t = self.spec.n_experts, self.spec.n_tasks
        experts = self.experts(x.unsqueeze(1).expand(-1, e, -1))         # (N, E, H)
        gates = self.gates(x.unsqueeze(1)).view(-1, t, e).softmax(dim=-1)             # (N, T, E)
        return torch.einsum("nte,neh->nth", gates, experts)              # (N, T, H)
