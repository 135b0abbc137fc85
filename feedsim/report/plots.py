"""Reporting: the figures of report.html, each a function from run data to an embedded PNG.

Every figure is drawn with matplotlib's Agg backend (no display, no network) and returned as a
`data:image/png;base64,...` URI, so the report is one self-contained file. Inputs are frames of
the run directory: the long metrics table, the impression log, and the creator/video tables the
runner leaves in `report_data/`.
"""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from feedsim.metrics.calibration import PLAYS_PER_DAY, RATE_BANDS, RETURN_GAP_SHARES  # noqa: E402
from feedsim.metrics.calibration import WATCH_RATIO_QUARTILES  # noqa: E402

Z95 = 1.96
DAYS_N = {"d1_retention": "dau"}      # the denominator of a rate metric, when not impressions


def to_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _grid(n: int, cols: int = 3, size=(4.2, 2.8)):
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _band(metrics: pd.DataFrame, name: str, arm: str, values: pd.Series):
    """95 % binomial band for a rate metric (n = the day's impressions or DAU), else None."""
    if not (name.endswith("_rate") or name in DAYS_N):
        return None
    n_name = DAYS_N.get(name, "impressions")
    n = metrics[(metrics.metric == n_name) & (metrics.arm == arm)].set_index("day")["value"]
    if name in DAYS_N:
        n = n.shift(1)
    n = n.reindex(values.index)
    se = np.sqrt(np.clip(values * (1 - values), 0, None) / n.clip(lower=1))
    return values - Z95 * se, values + Z95 * se


def _replicate_band(per_day):
    """95 % normal band of a day's mean over replicate runs (sweep seeds) of one arm."""
    mean, sd, n = per_day.mean(), per_day.std().fillna(0.0), per_day.size()
    half = Z95 * sd / np.sqrt(n)
    return mean - half, mean + half


def metrics_over_days(metrics: pd.DataFrame, names: list[str], title: str) -> str | None:
    names = [m for m in names if m in set(metrics.metric)]
    if not names:
        return None
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        for arm, rows in metrics[metrics.metric == name].groupby("arm"):
            per_day = rows.groupby("day")["value"]
            values = per_day.mean()
            ax.plot(values.index, values.values, marker="o", ms=3, label=arm)
            band = _replicate_band(per_day) if per_day.size().max() > 1 else \
                _band(metrics, name, arm, values)
            if band is not None:
                ax.fill_between(values.index, *band, alpha=0.2)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("day", fontsize=8)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return to_uri(fig)


def offline(metrics: pd.DataFrame, names: list[str]) -> str | None:
    """Every task's AUC (watch: XAUC) on one axis; one line style per arm."""
    rows = metrics[metrics.metric.isin(names)]
    if rows.empty:
        return None
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3.5))
    styles = dict(zip(sorted(rows.arm.unique()), ["-", "--", ":", "-."] * 4))
    for (arm, name), part in rows.groupby(["arm", "metric"]):
        values = part.groupby("day")["value"].mean()
        ax.plot(values.index, values.values, styles[arm], marker="o", ms=3,
                label=f"{name.split('/')[1]} ({arm})" if len(styles) > 1 else name.split("/")[1])
    ax.axhline(0.5, color="k", lw=0.6)
    ax.set_xlabel("day")
    ax.set_ylabel("AUC (watch: XAUC)")
    ax.set_title("Ranker offline metrics on the next day's logs")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    return to_uri(fig)


def funnel(stages: dict[str, float]) -> str:
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3))
    names, counts = list(stages), list(stages.values())
    ax.barh(names[::-1], counts[::-1], color="#4878a8")
    ax.set_xscale("log")
    for y, c in enumerate(counts[::-1]):
        ax.text(c, y, f" {c:,.1f}" if c < 10 else f" {c:,.0f}", va="center", fontsize=9)
    ax.set_xlabel("videos per request (log scale)")
    ax.set_title("The funnel: from the catalogue to the page")
    return to_uri(fig)


def source_mix(log: pd.DataFrame) -> str:
    share = pd.crosstab(log["day"], log["source"], normalize="index")
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3))
    ax.stackplot(share.index, share.T.values, labels=share.columns)
    ax.set_xlabel("day")
    ax.set_ylabel("share of impressions")
    ax.set_title("Where the shown videos came from (retrieval source)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    return to_uri(fig)


def calibration(log: pd.DataFrame, return_gaps: dict[int, float]) -> str:
    fig, axes = plt.subplots(1, 4, layout="constrained", figsize=(17, 3.2))
    ratio = (log["watch_s"] / log["duration_s"]).clip(upper=3)
    axes[0].hist(ratio, bins=60, color="#888")
    for q, target in zip(np.quantile(ratio, [0.25, 0.5, 0.75]), WATCH_RATIO_QUARTILES):
        axes[0].axvline(target, color="red", ls="--", lw=1)
        axes[0].axvline(q, color="blue", lw=1)
    axes[0].set_title("watch ratio (blue: run quartiles, red: target)", fontsize=9)
    plays = log.groupby(["day", "user_id"]).size()
    axes[1].hist(plays.clip(upper=plays.quantile(0.99)), bins=40, color="#888")
    for k in ("q1", "median", "q3"):
        axes[1].axvline(PLAYS_PER_DAY[k], color="red", ls="--", lw=1)
        axes[1].axvline(plays.quantile({"q1": .25, "median": .5, "q3": .75}[k]), color="blue")
    axes[1].set_title("plays per user-day (session length)", fontsize=9)
    gaps = range(1, 8)
    axes[2].bar([g - 0.2 for g in gaps], [return_gaps.get(g, 0) for g in gaps], 0.4,
                label="run")
    axes[2].bar([g + 0.2 for g in gaps], [RETURN_GAP_SHARES[g] for g in gaps], 0.4,
                color="red", alpha=0.6, label="target")
    axes[2].set_title("return gap (days to next visit)", fontsize=9)
    axes[2].legend(fontsize=8)
    _rate_bands(axes[3], log)
    return to_uri(fig)


def _rate_bands(ax, log: pd.DataFrame) -> None:
    whole = log["watch_s"] >= log["duration_s"]
    rates = {"valid_play_rate": ((log["watch_s"] > 7) | whole).mean(),
             "long_view_rate": ((log["watch_s"] >= 18) | whole).mean(),
             **{f"{a}_rate": log[a].mean() for a in ("like", "comment", "share", "follow",
                                                      "hate")}}
    names = list(RATE_BANDS)
    for y, name in enumerate(names):
        _, lo, hi = RATE_BANDS[name]
        ax.plot([lo, hi], [y, y], color="red", lw=6, alpha=0.35)
        ax.plot(rates[name], y, "o", color="blue")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xscale("log")
    ax.set_title("rates (blue) inside the target bands (red)?", fontsize=9)


def lorenz(exposure: np.ndarray, label: str) -> str:
    x = np.sort(np.asarray(exposure, dtype=float))
    cum = np.concatenate([[0], np.cumsum(x)]) / max(x.sum(), 1e-12)
    share = np.linspace(0, 1, cum.size)
    gini = 1 - 2 * np.trapezoid(cum, share) if hasattr(np, "trapezoid") else \
        1 - 2 * np.trapz(cum, share)
    fig, ax = plt.subplots(layout="constrained", figsize=(4.5, 4))
    ax.plot(share, cum, label=f"{label} (Gini {gini:.2f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="equal exposure")
    ax.set_xlabel(f"share of {label}s, least shown first")
    ax.set_ylabel("share of impressions")
    ax.set_title(f"Lorenz curve of {label} exposure")
    ax.legend(fontsize=8)
    return to_uri(fig)


def follower_growth(creators: pd.DataFrame) -> str:
    tiers = pd.cut(creators["followers_start"], [-1, 100, 1_000, 10_000, np.inf],
                   labels=["<100", "100-1k", "1k-10k", ">10k"])
    gained = creators["followers_end"] - creators["followers_start"]
    rel = gained / creators["followers_start"].clip(lower=1)
    table = pd.DataFrame({"tier": tiers, "rel": rel}).groupby("tier", observed=False)["rel"]
    fig, ax = plt.subplots(layout="constrained", figsize=(5, 3))
    ax.bar(table.mean().index.astype(str), table.mean().fillna(0).values * 100)
    for i, n in enumerate(table.size().values):
        ax.text(i, 0, f"n={n}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("mean follower growth, %")
    ax.set_title("Follower growth by creator tier (followers at day 0)")
    return to_uri(fig)


def effects(results: pd.DataFrame) -> str:
    """Forest plot of relative treatment effects with their confidence intervals."""
    r = results.dropna(subset=["rel_effect"]).reset_index(drop=True)
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 0.35 * len(r) + 1.2))
    labels = r["metric"] + " (" + r["treatment_arm"] + ")"
    err = np.vstack([r["rel_effect"] - r["rel_ci_low"], r["rel_ci_high"] - r["rel_effect"]])
    ax.errorbar(r["rel_effect"] * 100, range(len(r)), xerr=np.abs(err) * 100, fmt="o")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(r)), labels, fontsize=8)
    ax.set_xlabel("relative effect vs control, % (95 % CI)")
    ax.set_title("A/B effects")
    return to_uri(fig)
