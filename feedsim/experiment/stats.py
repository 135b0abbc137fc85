"""Honest statistics for A/B comparisons: effects, confidence intervals and p-values per metric.

Every metric is a ratio of per-user totals, R = sum(Y) / sum(X), with X = 1 for per-user means
(watch minutes per assigned user) and X = impressions for per-impression rates (like rate).
The user is the unit of randomisation, so uncertainty is clustered by user:

* delta method: R's influence per user is (Y - R X) / mean(X); the variance of an effect is the
  variance of those influences over n (user split: the two arms' variances add; paired worlds:
  the variance of each user's difference between worlds, which is where the gain comes from);
* bootstrap over users: Poisson(1) weights per user, all replicates and metrics in one matrix
  product (the same weights for both worlds of a paired design).

The table gives control and treatment values, absolute and relative effects, the 95 % delta CI
and p-value, and the bootstrap percentile CI and p-value.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from scipy.special import ndtri

# metric -> (numerator column, denominator column or None for a per-user mean, scale)
METRICS: dict[str, tuple[str, str | None, float]] = {
    "watch_min_per_user": ("watch_s", None, 1 / 60),
    "plays_per_user": ("impressions", None, 1.0),
    "active_days_per_user": ("active_days", None, 1.0),
    "sessions_per_user": ("sessions", None, 1.0),
    "last_day_active": ("last_day_active", None, 1.0),
    "watch_s_per_play": ("watch_s", "impressions", 1.0),
    "like_rate": ("like", "impressions", 1.0),
    "share_rate": ("share", "impressions", 1.0),
    "comment_rate": ("comment", "impressions", 1.0),
    "follow_rate": ("follow", "impressions", 1.0),
    "hate_rate": ("hate", "impressions", 1.0),
}
BOOT_CHUNK = 250


def metric_arrays(frame: pd.DataFrame, metrics: list[str],
                  definitions: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Numerators Y and denominators X of each metric per user. Both (n_users, M).

    `definitions`: metric -> (numerator, denominator or None, scale), default METRICS; an
    analysis may define ratios of its own per-user columns the same way."""
    defs = METRICS if definitions is None else definitions
    y = np.stack([frame[defs[m][0]].to_numpy(np.float64) * defs[m][2] for m in metrics], 1)
    x = np.stack([np.ones(len(frame)) if defs[m][1] is None
                  else frame[defs[m][1]].to_numpy(np.float64) for m in metrics], 1)
    return y, x


def ratio_influence(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R = sum(y)/sum(x) per metric (M,) and each user's influence on it (n, M)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = y.sum(0) / x.sum(0)
        return r, (y - r * x) / x.mean(0)


def _var_mean(psi: np.ndarray) -> np.ndarray:
    """Variance of the mean of per-user influences. (n, M) -> (M,)"""
    return psi.var(0, ddof=1) / psi.shape[0]


def delta_effects(yc, xc, yt, xt, paired: bool) -> dict[str, np.ndarray]:
    """Control/treatment values, effects and their delta-method standard errors. Each (M,)"""
    rc, pc = ratio_influence(yc, xc)
    rt, pt = ratio_influence(yt, xt)
    with np.errstate(all="ignore"):                    # a zero control rate gives NaN, not noise
        rel_c, rel_t = -rt / rc ** 2, 1 / rc           # d(rt/rc)/drc, d(rt/rc)/drt
        if paired:
            var_abs = _var_mean(pt - pc)
            var_rel = _var_mean((pt - rt / rc * pc) / rc)   # rel_t pt + rel_c pc, exactly
            #                                               0 for identical arms
        else:
            var_abs = _var_mean(pt) + _var_mean(pc)
            var_rel = rel_t ** 2 * _var_mean(pt) + rel_c ** 2 * _var_mean(pc)
        return {"control": rc, "treatment": rt, "abs_effect": rt - rc,
                "rel_effect": rt / rc - 1, "se": np.sqrt(var_abs), "rel_se": np.sqrt(var_rel)}


def p_value(effect: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Two-sided normal p-value; 1 for an exact zero effect with zero variance."""
    out = np.empty(effect.shape)
    for i, (e, s) in enumerate(zip(effect, se)):       # M metrics, not users
        out[i] = (1.0 if e == 0 else 0.0) if not s > 0 else math.erfc(abs(e / s) / math.sqrt(2))
    return out


def _boot_ratio(w: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ y) / (w @ x)                        # (B, n) @ (n, M) -> (B, M)


def bootstrap_effects(yc, xc, yt, xt, paired: bool, n_boot: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of the absolute and relative effect over users. Each (B, M)"""
    abs_, rel = [], []
    for start in range(0, n_boot, BOOT_CHUNK):
        b = min(BOOT_CHUNK, n_boot - start)
        wc = rng.poisson(1.0, (b, yc.shape[0])).astype(np.float64)
        wt = wc if paired else rng.poisson(1.0, (b, yt.shape[0])).astype(np.float64)
        rc, rt = _boot_ratio(wc, yc, xc), _boot_ratio(wt, yt, xt)
        abs_.append(rt - rc)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel.append(rt / rc - 1)
    return np.concatenate(abs_), np.concatenate(rel)


def boot_p_value(draws: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-value: twice the smaller tail mass at zero, at least 1/B. (M,)"""
    low, high = (draws <= 0).mean(0), (draws >= 0).mean(0)
    return np.clip(2 * np.minimum(low, high), 1.0 / draws.shape[0], 1.0)


def compare(per_user: pd.DataFrame, control: str, treatment: str, paired: bool,
            metrics: list[str] | None = None, n_boot: int = 1000, alpha: float = 0.05,
            rng: np.random.Generator | None = None,
            definitions: dict | None = None) -> pd.DataFrame:
    """One row per metric comparing `treatment` with `control` on the per-user table.

    `paired`: both arms observe the same users (rows aligned by user_id). `definitions`: see
    metric_arrays."""
    metrics = list(metrics or (METRICS if definitions is None else definitions))
    rng = rng if rng is not None else np.random.default_rng(0)
    c = per_user[per_user.arm == control].sort_values("user_id")
    t = per_user[per_user.arm == treatment].sort_values("user_id")
    if paired and not np.array_equal(c.user_id.to_numpy(), t.user_id.to_numpy()):
        raise ValueError("paired comparison needs the same users in both arms")
    (yc, xc), (yt, xt) = metric_arrays(c, metrics, definitions), \
        metric_arrays(t, metrics, definitions)
    d = delta_effects(yc, xc, yt, xt, paired)
    z = float(ndtri(1 - alpha / 2))
    boot_abs, boot_rel = bootstrap_effects(yc, xc, yt, xt, paired, n_boot, rng)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    with warnings.catch_warnings():                    # all-NaN columns: a metric never seen
        warnings.simplefilter("ignore", RuntimeWarning)
        b_lo, b_hi = np.nanpercentile(boot_abs, q, axis=0)
        r_lo, r_hi = np.nanpercentile(boot_rel, q, axis=0)
    return pd.DataFrame({
        "metric": metrics, "control_arm": control, "treatment_arm": treatment,
        "control": d["control"], "treatment": d["treatment"],
        "abs_effect": d["abs_effect"], "rel_effect": d["rel_effect"],
        "ci_low": d["abs_effect"] - z * d["se"], "ci_high": d["abs_effect"] + z * d["se"],
        "rel_ci_low": d["rel_effect"] - z * d["rel_se"],
        "rel_ci_high": d["rel_effect"] + z * d["rel_se"],
        "p_value": p_value(d["abs_effect"], d["se"]),
        "boot_ci_low": b_lo, "boot_ci_high": b_hi, "boot_rel_ci_low": r_lo,
        "boot_rel_ci_high": r_hi, "p_boot": boot_p_value(boot_abs),
        "se": d["se"], "n_control": len(c), "n_treatment": len(t),
        "design": "paired" if paired else "user_split",
    })


def compare_arms(per_user: pd.DataFrame, arms: list[str], control: str, paired: bool,
                 metrics: list[str] | None = None, n_boot: int = 1000, alpha: float = 0.05,
                 rng: np.random.Generator | None = None,
                 definitions: dict | None = None) -> pd.DataFrame:
    """Every non-control arm against the control, stacked."""
    rng = rng if rng is not None else np.random.default_rng(0)
    tables = [compare(per_user, control, arm, paired, metrics, n_boot, alpha, rng, definitions)
              for arm in arms if arm != control]
    return pd.concat(tables, ignore_index=True)


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): a t interval for the mean of independent replicates x, one per
    seed (average a seed's days first: days of one world share its users), so that it covers
    the spread between runs of the world rather than between users inside one run. The bounds
    are nan with fewer than two values."""
    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean()) if x.size else float("nan")
    if x.size < 2:
        return mean, float("nan"), float("nan")
    t = scipy_stats.t.ppf(0.5 + level / 2, x.size - 1)
    half = float(t * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (no tabulate dependency)."""
    cells = table.map(lambda v: f"{v:.4g}" if isinstance(v, float) else str(v))
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(row) + " |" for row in cells.values])
