"""Offline model metrics: how well the ranker's predictions separate and calibrate outcomes.

Per binary task: AUC, GAUC (per-user AUC averaged with impression weights, over users with both
outcomes), logloss, normalised entropy (logloss over the entropy of the base rate; below 1 beats
the constant predictor), calibration (mean prediction over mean outcome). For watch time: XAUC
(the share of pairs with different watch times that the prediction orders correctly; Zhan et al.
2022) and the mean error by duration bucket. Everything is vectorised: one sort per metric.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-7


def _average_ranks(groups: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """1-based ranks of scores within each group, ties averaged. (N,)"""
    n = scores.shape[0]
    order = np.lexsort((scores, groups))
    g, s = groups[order], scores[order]
    new_group = np.r_[True, g[1:] != g[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    new_tie = new_group | np.r_[True, s[1:] != s[:-1]]
    tie_id = np.cumsum(new_tie) - 1
    pos = np.arange(n) - group_start + 1.0
    tie_mean = np.bincount(tie_id, weights=pos) / np.bincount(tie_id)
    ranks = np.empty(n)
    ranks[order] = tie_mean[tie_id]
    return ranks


def group_auc(labels: np.ndarray, scores: np.ndarray, groups: np.ndarray):
    """Per-group AUC (Mann-Whitney) and size; NaN for groups with one class. (G,), (G,)"""
    y = np.asarray(labels, dtype=bool)
    _, g = np.unique(groups, return_inverse=True)
    ranks = _average_ranks(g, np.asarray(scores, dtype=np.float64))
    size = np.bincount(g).astype(np.float64)
    pos = np.bincount(g, weights=y.astype(np.float64))
    rank_pos = np.bincount(g, weights=np.where(y, ranks, 0.0))
    neg = size - pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc_g = (rank_pos - pos * (pos + 1) / 2) / (pos * neg)
    return auc_g, size


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    a, _ = group_auc(labels, scores, np.zeros(len(labels), dtype=np.int64))
    return float(a[0]) if a.size else float("nan")


def gauc(labels: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> float:
    """Impression-weighted mean of per-group AUC over groups with both classes."""
    a, size = group_auc(labels, scores, groups)
    ok = np.isfinite(a)
    return float((a[ok] * size[ok]).sum() / size[ok].sum()) if ok.any() else float("nan")


def logloss(labels: np.ndarray, probs: np.ndarray) -> float:
    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def normalized_entropy(labels: np.ndarray, probs: np.ndarray) -> float:
    """Logloss over the logloss of predicting the base rate (He et al. 2014). < 1 is better."""
    base = float(np.clip(np.mean(labels), EPS, 1 - EPS))
    return logloss(labels, probs) / logloss(labels, np.full(len(labels), base))


def calibration(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean prediction over mean outcome (1 = calibrated)."""
    return float(np.mean(probs) / max(float(np.mean(labels)), EPS))


def binary_report(labels: np.ndarray, probs: np.ndarray, users: np.ndarray) -> dict[str, float]:
    """All binary-task metrics at once."""
    return {"auc": auc(labels, probs), "gauc": gauc(labels, probs, users),
            "logloss": logloss(labels, probs), "ne": normalized_entropy(labels, probs),
            "calibration": calibration(labels, probs)}


def xauc(actual: np.ndarray, predicted: np.ndarray, rng: np.random.Generator,
         pairs: int = 200_000) -> float:
    """Share of sampled pairs with different actual values that `predicted` orders the same
    way (prediction ties count one half)."""
    n = actual.shape[0]
    if n < 2:
        return float("nan")
    i, j = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
    keep = actual[i] != actual[j]
    sign_a = np.sign(actual[i][keep] - actual[j][keep])
    sign_p = np.sign(predicted[i][keep] - predicted[j][keep])
    return float(np.mean(np.where(sign_p == 0, 0.5, sign_a == sign_p))) if keep.any() else \
        float("nan")


def error_by_duration(actual: np.ndarray, predicted: np.ndarray, duration_s: np.ndarray,
                      edges=(7.0, 12.0, 20.0, 60.0)) -> dict[str, float]:
    """Mean prediction minus mean actual per duration bucket, named `bias_<lo>_<hi>s`."""
    bucket = np.searchsorted(np.asarray(edges), duration_s, side="right")
    bounds = (0.0, *edges, np.inf)
    out = {}
    for b in range(len(bounds) - 1):                   # a loop over a handful of buckets
        mask = bucket == b
        if mask.any():
            name = f"bias_{bounds[b]:g}_{bounds[b + 1]:g}s"
            out[name] = float(predicted[mask].mean() - actual[mask].mean())
    return out
