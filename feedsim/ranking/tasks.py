"""Stage 2 of 5 (ranking): what each head learns, from logged outcomes.

Heads: watch time, long view (KuaiRand: at least 18 s or the whole video), like, comment, share,
follow, skip (under 3 s and not whole), hate. Binary heads are trained with logistic loss. The
watch head has three targets (config `watch_target`):

- `regression`: squared error on watch seconds; predicts expected seconds (duration-biased,
  since long videos collect more seconds whatever the interest);
- `weighted_logistic`: YouTube's weighted logistic regression (Covington et al. 2016): every
  impression is a negative of weight 1 and a positive of weight watch_s / scale, so the odds
  e^z estimate expected watch time / scale;
- `d2q`: duration-debiased (D2Q, Zhan et al. KDD 2022): the target is the watch-time quantile
  within the video's duration bucket, so the head ranks interest, not length.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from feedsim.logs.schema import ImpressionBatch
from feedsim.metrics.online import LONG_VIEW_S, SKIP_S

BINARY = ("long_view", "like", "comment", "share", "follow", "skip", "hate")


def labels(log: ImpressionBatch) -> dict[str, np.ndarray]:
    """Binary labels and watch seconds of every logged row. name -> (N,) float32"""
    whole = log.watch_s >= log.duration_s
    out = {"watch": log.watch_s.astype(np.float32),
           "long_view": (log.watch_s >= LONG_VIEW_S) | whole,
           "skip": (log.watch_s < SKIP_S) & ~whole}
    for action in ("like", "comment", "share", "follow", "hate"):
        out[action] = getattr(log, action)
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


@dataclass
class WatchTarget:
    """The watch head's target transform; fitted on the training rows (bucket edges, scale)."""
    kind: str
    scale: float = 1.0                     # seconds per unit of the regression/logistic target
    edges: np.ndarray | None = None        # (Q-1,) duration bucket edges (d2q)
    grids: np.ndarray | None = None        # (Q, G) watch-seconds quantiles per bucket (d2q)

    @classmethod
    def fit(cls, kind: str, watch_s: np.ndarray, duration_s: np.ndarray, buckets: int):
        scale = float(max(np.mean(watch_s), 1e-3))
        if kind != "d2q":
            return cls(kind, scale)
        edges = np.quantile(duration_s, np.linspace(0, 1, buckets + 1)[1:-1])
        b = np.searchsorted(edges, duration_s)
        qs = np.linspace(0, 1, 101)
        grids = np.stack([np.quantile(watch_s[b == i], qs) if (b == i).any() else
                          np.quantile(watch_s, qs) for i in range(buckets)])
        return cls(kind, scale, edges, grids)

    def target(self, watch_s: np.ndarray, duration_s: np.ndarray) -> np.ndarray:
        """The training target per row: scaled seconds, or the quantile in [0, 1]. (N,)"""
        if self.kind != "d2q":
            return (watch_s / self.scale).astype(np.float32)
        b = np.searchsorted(self.edges, duration_s)                    # (N,)
        grid = self.grids[b]                                            # (N, G)
        below = (grid < watch_s[:, None]).sum(1)
        upto = (grid <= watch_s[:, None]).sum(1)
        return (0.5 * (below + upto) / grid.shape[1]).astype(np.float32)   # mid-rank on ties

    def loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-row loss of the logit/output z (N,) against the target y (N,)."""
        if self.kind == "regression":
            return (z - y) ** 2
        if self.kind == "weighted_logistic":
            return -(y * F.logsigmoid(z) + F.logsigmoid(-z))
        return F.binary_cross_entropy_with_logits(z, y, reduction="none")

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Expected seconds (regression, weighted logistic) or the quantile (d2q)."""
        if self.kind == "regression":
            return z.clamp_min(0.0) * self.scale
        if self.kind == "weighted_logistic":
            return torch.exp(z.clamp(max=8.0)) * self.scale
        return torch.sigmoid(z)

    def state(self) -> dict:
        return {"kind": self.kind, "scale": self.scale, "edges": self.edges, "grids": self.grids}
