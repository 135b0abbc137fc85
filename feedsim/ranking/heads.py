"""Stage 2 of 5 (ranking): from task logits to predictions and to the training loss.

Binary heads are sigmoids of their logits. ESMM chaining (Ma et al., SIGIR 2018) rewrites a
conditional action as p(action) = p(long view) x p(action | long view): the second factor is
the head's own sigmoid, the product is what is supervised over all impressions, so the chained
prediction can never exceed p(long view). The watch head follows its `WatchTarget`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from feedsim.ranking.tasks import WatchTarget

EPS = 1e-7


class Heads:
    """Task order, ESMM chains and the watch target of one fitted model."""

    def __init__(self, tasks: list[str], watch: WatchTarget, esmm: list[str]):
        self.tasks = list(tasks)
        self.index = {t: i for i, t in enumerate(self.tasks)}
        self.watch = watch
        self.esmm = [t for t in esmm if t in self.index]

    def _log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """log p for every binary head, with chains applied. (N, T)"""
        logp = F.logsigmoid(logits)
        if self.esmm:
            parent = logp[:, self.index["long_view"]].unsqueeze(1)          # (N, 1)
            chained = torch.tensor([self.index[t] for t in self.esmm], device=logits.device)
            logp = logp.index_add(1, chained, parent.expand(-1, chained.numel()))
        return logp

    def predict(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-task predictions (N,): probabilities, and the watch head in its target's unit."""
        probs = self._log_probs(logits).exp()                               # (N, T)
        out = {t: probs[:, i] for t, i in self.index.items() if t != "watch"}
        if "watch" in self.index:
            out["watch"] = self.watch.predict(logits[:, self.index["watch"]])
        return out

    def losses(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss per task over the rows, (T,). targets (N, T) in head order."""
        logp = self._log_probs(logits)
        if self.esmm:                                     # log(1 - p) of a chained product
            log1mp = torch.log1p(-logp.exp().clamp(max=1 - EPS))
        else:                                             # exact and cheaper: log sigmoid(-z)
            log1mp = F.logsigmoid(-logits)
        bce = -(targets * logp + (1 - targets) * log1mp)                    # (N, T)
        if "watch" in self.index:
            w = self.index["watch"]
            bce[:, w] = self.watch.loss(logits[:, w], targets[:, w])
        return bce.mean(0)
