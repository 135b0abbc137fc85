"""Stage 2 of 5 (ranking): the one interface every multi-task ranking model implements.

A model maps the encoded features of N rows to one logit per task, (N, T). The parts every
model shares live here: the input layer (one embedding table for all categorical fields,
concatenated with the dense features), the per-task towers, and the training-only position
tower. A model file only says how the input becomes one representation per task,
`represent(x (N, I)) -> (T, N, H)`: independent networks, a shared bottom, a mixture of
experts, or progressive layered extraction.

Grouped layers (G experts, T towers) keep their activations group-major, (G, N, H), so each
layer is one batched matrix product (`baddbmm`) with no permutes between layers; a layer whose
G groups all read the same (N, I) input is one `addmm` against the groups' weights side by side.
On CPU this runs as fast as a textbook loop of nn.Linear layers (see feedsim/bench_ranking.py).

At serving, the C candidates of one page request share their request-level inputs (the user's
fields and aggregates, the hour, the session depth: the first `request_fields` fields and
`request_dense` dense columns). `forward(..., per_request=C)` embeds those once per request and
hands the model a `RequestSplit`; a first layer computes W_request x_request once per request
and adds it to W_candidate x_candidate of each candidate, which is W x exactly (up to float
rounding) at about 60 % of the multiply-adds of the widest layers.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import nn

N_POSITIONS = 16


@dataclass(frozen=True)
class ModelSpec:
    """Sizes a model is built from (no config object: typed arguments only)."""
    vocab: int                   # rows of the shared embedding table
    n_fields: int                # categorical fields per row
    n_dense: int                 # dense features per row
    n_tasks: int
    embedding_dim: int = 16
    hidden: tuple[int, ...] = (128, 64)
    tower_hidden: int = 32
    n_experts: int = 4
    task_experts: int = 1
    ple_levels: int = 2
    sparse: bool = False
    position_tower: bool = True
    request_fields: int = 0      # leading categorical fields shared by a request's candidates
    request_dense: int = 0       # leading dense columns shared likewise

    @property
    def in_dim(self) -> int:
        return self.n_fields * self.embedding_dim + self.n_dense


@dataclass(frozen=True)
class RequestSplit:
    """A first-layer input split by what varies: request-level columns once per request and
    candidate-level columns per candidate; rows are request-major, `per_request` per request."""
    request: torch.Tensor        # (B, I_r)
    candidate: torch.Tensor      # (B*C, I_c); with `item`, the candidate dense columns only
    per_request: int             # C
    item: torch.Tensor | None = None   # (B*C, W): each candidate's item part (item_table)


class GroupedLinear(nn.Module):
    """G independent linear maps: (G, N, I) -> (G, N, O), or a shared (N, I) -> (G, N, O)."""

    def __init__(self, groups: int, d_in: int, d_out: int, generator: torch.Generator):
        super().__init__()
        bound = 1.0 / math.sqrt(d_in)
        self.weight = nn.Parameter((torch.rand(groups, d_in, d_out, generator=generator) * 2 - 1)
                                   * bound)
        self.bias = nn.Parameter(torch.zeros(groups, d_out))
        self.item_cols: slice | None = None      # its columns of an item table (item_table)

    def _side_by_side(self) -> torch.Tensor:
        """The G groups' weights as one (I, G*O) matrix, for inputs every group shares."""
        g, d_in, d_out = self.weight.shape
        return self.weight.permute(1, 0, 2).reshape(d_in, g * d_out)

    def forward(self, x: torch.Tensor | RequestSplit) -> torch.Tensor:
        g, d_in, d_out = self.weight.shape
        if isinstance(x, RequestSplit):          # W x = W_r x_r (once per request) + W_c x_c
            side_by_side = self._side_by_side()                                     # (I, G*O)
            n_req = x.request.shape[1]
            if x.item is None:
                y = torch.addmm(self.bias.reshape(-1), x.candidate, side_by_side[n_req:])
            else:                                # the item part (bias included) is looked up
                if self.item_cols is None:
                    raise RuntimeError("forward(item=...): build the model's item_table first")
                dense_rows = side_by_side[d_in - x.candidate.shape[1]:]    # (C_d, G*O)
                y = x.item[:, self.item_cols].addmm_(x.candidate, dense_rows)
            shared = x.request @ side_by_side[:n_req]                               # (B, G*O)
            y.unflatten(0, (shared.shape[0], x.per_request)).add_(shared.unsqueeze(1))
            return y.unflatten(1, (g, d_out)).transpose(0, 1)                   # (G, N, O)
        if x.dim() == 2:                         # every group reads the same rows: one matmul
            y = torch.addmm(self.bias.reshape(-1), x, self._side_by_side())     # (N, G*O)
            return y.view(-1, g, d_out).transpose(0, 1)                         # (G, N, O)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)           # (G, N, O)


def gate_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim, a handful of experts: (..., E) -> (..., E).

    torch's softmax kernel is slow for a last dim of 4 on CPU (21 ms against 6 ms for these
    three passes on 7 x 48 k x 4). The max is detached: shifting by a constant does not
    change a softmax or its gradient."""
    weights = (logits - logits.amax(dim=-1, keepdim=True).detach()).exp()
    return weights / weights.sum(dim=-1, keepdim=True)


def mix_experts(gates: torch.Tensor, experts: torch.Tensor) -> torch.Tensor:
    """Each task's gate-weighted sum of the experts: (T, N, E) x (E, N, H) -> (T, N, H).

    One multiply-add per expert over (T, N, H). `einsum` runs this as N tiny (T, E) x (E, H)
    products after permuting both operands, 2.5x slower on CPU for a handful of experts."""
    mixed = gates[:, :, :1] * experts[0]                                   # (T, N, H)
    for e in range(1, experts.shape[0]):
        mixed = mixed.addcmul_(gates[:, :, e:e + 1], experts[e])
    return mixed


def grouped_mlp(groups: int, d_in: int, widths: tuple[int, ...],
                generator: torch.Generator) -> nn.Sequential:
    """G independent ReLU MLPs run side by side: (G, N, d_in) or a shared (N, d_in) input
    -> (G, N, widths[-1]). The ReLUs work in place: each reads a fresh layer output that
    nothing else keeps (10 % of an MMoE forward on CPU)."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [GroupedLinear(groups, d_in, width, generator), nn.ReLU(inplace=True)]
        d_in = width
    return nn.Sequential(*layers)


class RankingModel(nn.Module, ABC):
    """Embeddings -> represent (model-specific) -> per-task towers -> (+ position) logits."""

    splits_requests = True       # represent() accepts a RequestSplit (its first layers do)

    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        super().__init__()
        self.spec = spec
        table = torch.randn(spec.vocab, spec.embedding_dim, generator=generator) * 0.05
        self.embedding = nn.Embedding(spec.vocab, spec.embedding_dim, sparse=spec.sparse,
                                      _weight=table)                     # seeded, not global
        self.towers = nn.Sequential(
            grouped_mlp(spec.n_tasks, self.rep_dim, (spec.tower_hidden,), generator),
            GroupedLinear(spec.n_tasks, spec.tower_hidden, 1, generator))
        self.position = None                                             # (P, T) logit shifts
        if spec.position_tower:
            self.position = nn.Embedding(N_POSITIONS, spec.n_tasks,
                                         _weight=torch.zeros(N_POSITIONS, spec.n_tasks))

    @property
    def rep_dim(self) -> int:
        """Width H of each task's representation."""
        return self.spec.hidden[-1]

    @abstractmethod
    def represent(self, x: torch.Tensor | RequestSplit) -> torch.Tensor:
        """(N, I) input, or its RequestSplit -> (T, N, H) one representation per task."""

    def input_layers(self) -> list[GroupedLinear]:
        """The first layers, those that read the input (N, I): what an item table holds."""
        return []

    @torch.no_grad()
    def item_table(self, item_cat: torch.Tensor) -> torch.Tensor:
        """The item part of every input layer for V items: (V, F_c) candidate-field indices
        -> (V, W), W the input layers' widths side by side, biases included.

        A candidate's categorical fields (video, creator, sound, tags, language, duration
        bucket, age bucket) are the same for every request that day, so their share of the
        widest layers can be computed once per video and looked up (`forward(item=...)`),
        leaving per candidate only its dense columns to multiply. Sets each input layer's
        `item_cols`."""
        d = self.spec.embedding_dim
        first = self.spec.request_fields * d + self.spec.request_dense          # its rows
        emb = self.embedding(item_cat).flatten(1)                               # (V, F_c*D)
        layers = self.input_layers()
        widths = [layer.weight.shape[0] * layer.weight.shape[2] for layer in layers]
        table = emb.new_empty((emb.shape[0], sum(widths)))                      # (V, W)
        width = 0
        for layer, w in zip(layers, widths):         # one layer's part at a time, not 2x W
            weight = layer._side_by_side()[first:first + emb.shape[1]]          # (F_c*D, G*O)
            layer.item_cols = slice(width, width + w)
            table[:, layer.item_cols] = torch.addmm(layer.bias.reshape(-1), emb, weight)
            width += w
        return table

    def _input(self, cat: torch.Tensor, dense: torch.Tensor, per_request: int,
               item: torch.Tensor | None = None) -> torch.Tensor | RequestSplit:
        """[request fields, request dense, candidate fields, candidate dense]: (N, I), or
        split by request when the N rows are blocks of `per_request` candidates. With `item`
        (N, W) from item_table, `cat` holds the request fields of one row per request."""
        fr, dr = self.spec.request_fields, self.spec.request_dense
        if item is not None:
            if not self.splits_requests or fr + dr == 0:
                raise ValueError(f"{type(self).__name__}: item rows need a model that splits "
                                 "request and candidate columns (not PLE, and request fields)")
            request = torch.cat([self.embedding(cat[:, :fr]).flatten(1),
                                 dense[::per_request, :dr]], dim=1)             # (B, I_r)
            return RequestSplit(request, dense[:, dr:], per_request, item)
        if per_request > 1 and fr + dr > 0 and self.splits_requests:
            first = slice(None, None, per_request)                       # one row per request
            request = torch.cat([self.embedding(cat[first, :fr]).flatten(1),
                                 dense[first, :dr]], dim=1)              # (B, I_r)
            candidate = torch.cat([self.embedding(cat[:, fr:]).flatten(1),
                                   dense[:, dr:]], dim=1)                # (N, I_c)
            return RequestSplit(request, candidate, per_request)
        emb = self.embedding(cat)                                        # (N, F, D)
        return torch.cat([emb[:, :fr].flatten(1), dense[:, :dr], emb[:, fr:].flatten(1),
                          dense[:, dr:]], dim=1)                         # (N, I)

    def forward(self, cat: torch.Tensor, dense: torch.Tensor,
                position: torch.Tensor | None = None, per_request: int = 1,
                item: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (N, T). `position` (N,) adds the position-bias logit: training only.
        `per_request` = C says the rows are blocks of C candidates of one request each;
        `item` (N, W) their rows of item_table, `cat` then (B, request fields); the forward
        writes its first layers' outputs into `item`, so pass rows gathered for this call."""
        x = self._input(cat, dense, per_request, item)
        logits = self.towers(self.represent(x)).squeeze(-1).t()          # (N, T)
        if position is not None and self.position is not None:
            logits = logits + self.position(position.clamp(0, N_POSITIONS - 1))
        return logits

    @torch.no_grad()
    def init_output_bias(self, bias: torch.Tensor) -> None:
        """Start each task's logit at `bias` (T,), e.g. the base rate's logit: rare actions
        are calibrated from the first step instead of after many."""
        self.towers[-1].bias.copy_(bias.view(-1, 1))

    def sparse_parameters(self) -> list[nn.Parameter]:
        return [self.embedding.weight] if self.spec.sparse else []

    def dense_parameters(self) -> list[nn.Parameter]:
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]
