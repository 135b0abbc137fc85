"""Stage 3 of 5 (the value model): fuse the task predictions into one rank score.

Two configurable forms (weights in `ranking.fusion`):

- linear, sum_k w_k f_k(p_k): the public "Algo 101" form, where expected play time enters
  directly next to the action probabilities (f_k is the identity or log1p);
- multiplicative, prod_k (p_k + b_k)^w_k: computed as exp(sum_k w_k log(p_k + b_k)), so a
  small bias b_k keeps a rare action from zeroing the product.

Besides the score, each term's contribution is returned (w_k f_k(p_k), or w_k log(p_k + b_k) in
the multiplicative form), for the explain trace.
"""
from __future__ import annotations

import math

import numpy as np

from feedsim.ranking.config import FusionConfig, RankingConfigError

TRANSFORMS = {"identity": lambda p: p, "log1p": np.log1p}


class Fusion:
    """A fixed value model over the heads that both the model and the weights name."""

    def __init__(self, cfg: FusionConfig, heads: list[str]):
        cfg.check(list(heads))
        for task, w in cfg.weights.items():
            if not math.isfinite(w):
                raise RankingConfigError(f"ranking.fusion.weights.{task}: must be a finite "
                                         f"number (got {w!r})")
        self.form = cfg.form
        self.weights = {t: float(w) for t, w in cfg.weights.items() if t in heads and w != 0}
        self.biases = {t: float(cfg.biases.get(t, 0.0)) for t in self.weights}
        self.transforms = {t: TRANSFORMS[cfg.transforms.get(t, "identity")] for t in self.weights}

    def contributions(self, preds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each term of the fused score, task -> (B, C)."""
        if self.form == "linear":
            return {t: w * self.transforms[t](preds[t]) for t, w in self.weights.items()}
        return {t: w * np.log(np.maximum(preds[t] + self.biases[t], 1e-12))
                for t, w in self.weights.items()}

    def __call__(self, preds: dict[str, np.ndarray]):
        """(score (B, C), contributions {task: (B, C)})."""
        terms = self.contributions(preds)
        total = sum(terms.values()) if terms else np.zeros_like(next(iter(preds.values())))
        score = total if self.form == "linear" else np.exp(np.clip(total, -80.0, 80.0))
        return np.asarray(score, dtype=np.float32), terms
