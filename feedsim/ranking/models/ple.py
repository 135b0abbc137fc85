"""Stage 2 of 5 (ranking), model 4 of 4: Progressive Layered Extraction (Tang et al., RecSys 2020).

Each level is a Customized Gate Control (CGC) block: shared experts plus experts owned by each
task. A task's gate mixes its own experts with the shared ones; a shared gate mixes all of them
and feeds the shared experts of the next level. Stacking levels separates task-specific from
shared knowledge progressively. All experts of a level run as one grouped matrix product; each
gate is masked to the experts its reader may use.
"""
from __future__ import annotations

import torch
from torch import nn

from feedsim.ranking.models.base import (GroupedLinear, ModelSpec, RankingModel, gate_softmax,
                                         grouped_mlp, mix_experts)


class CGCLevel(nn.Module):
    """One CGC level: inputs (T+1, N, I) (slot T = shared) -> outputs (T+1, N, H)."""

    def __init__(self, spec: ModelSpec, d_in: int, width: int, generator: torch.Generator):
        super().__init__()
        t, s, k = spec.n_tasks, spec.n_experts, spec.task_experts
        reader = torch.cat([torch.full((s,), t), torch.arange(t).repeat_interleave(k)])
        self.register_buffer("reader", reader)                           # (G,) input slot
        allowed = (reader[None, :] == torch.arange(t + 1)[:, None]) | (reader[None, :] == t)
        allowed[t] = True                                                # shared gate: all
        mask = torch.where(allowed, 0.0, float("-inf"))                  # (T+1, G)
        self.register_buffer("mask", mask.unsqueeze(1))                  # (T+1, 1, G)
        self.experts = grouped_mlp(reader.numel(), d_in, (width,), generator)
        self.gates = GroupedLinear(t + 1, d_in, reader.numel(), generator)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        experts = self.experts(inputs[self.reader])                      # (G, N, H)
        gates = gate_softmax(self.gates(inputs) + self.mask)             # (T+1, N, G)
        return mix_experts(gates, experts)              # (T+1, N, H)


class PLE(RankingModel):
    splits_requests = False      # its first level reads an expanded copy of the whole input

    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        super().__init__(spec, generator)
        widths = [spec.hidden[min(i, len(spec.hidden) - 1)] for i in range(spec.ple_levels)]
        widths[-1] = spec.hidden[-1]
        d_ins = [spec.in_dim] + widths[:-1]
        self.levels = nn.ModuleList(CGCLevel(spec, d, w, generator)
                                    for d, w in zip(d_ins, widths))

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0).expand(self.spec.n_tasks + 1, -1, -1)         # (T+1, N, I)
        for level in self.levels:
            h = level(h)                                                 # (T+1, N, H)
        return h[: self.spec.n_tasks]                                    # (T, N, H)
