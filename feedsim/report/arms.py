"""Reporting: the parts of report.html that compare arms (A/B experiments) and jobs (sweeps).

An A/B run directory (`python -m feedsim.experiment`) holds metrics.parquet with one `arm` per
variant and results.parquet with the effects; `effects_table` turns the latter into the HTML
table of the report (significant rows marked). A sweep directory (Hydra multirun with the
sweep_summary callback) holds sweep_summary.parquet instead of metrics.parquet: `sweep_metrics`
relabels it into the same long format (day, arm, metric, value), one `arm` per distinct
setting of the swept keys, so the usual figures draw one line per setting; jobs that differ
only by `seed` become replicates of one line, and the figure's band is their 95 % interval.
"""
from __future__ import annotations

import html

import pandas as pd

LONG = ["job", "day", "arm", "metric", "value"]
REPLICATE_KEYS = ("seed",)
EFFECT_COLUMNS = ["treatment_arm", "metric", "control", "treatment", "abs_effect",
                  "rel_effect", "ci_low", "ci_high", "p_value"]


def swept(summary: pd.DataFrame) -> list[str]:
    """Override keys whose value differs between the sweep's jobs, replicate keys last."""
    keys = [c for c in summary.columns if c not in LONG and summary[c].nunique() > 1]
    return sorted(keys, key=lambda k: k in REPLICATE_KEYS)


def setting_labels(summary: pd.DataFrame) -> pd.Series:
    """One label per row: the swept settings other than seeds (and the arm, if several)."""
    parts = [key + "=" + summary[key].astype(str) for key in swept(summary)
             if key not in REPLICATE_KEYS]
    if summary["arm"].nunique() > 1 or not parts:
        parts.append(summary["arm"].astype(str))
    label = parts[0]
    for part in parts[1:]:
        label = label + " " + part
    return label


def sweep_metrics(summary: pd.DataFrame) -> pd.DataFrame:
    """The sweep in the report's long format: day, arm (the setting label), metric, value."""
    out = summary[["day", "metric", "value"]].copy()
    out.insert(1, "arm", setting_labels(summary))
    return out.reset_index(drop=True)


def sweep_table(summary: pd.DataFrame, metrics: list[str]) -> str:
    """Mean daily value of each metric per setting, with the number of replicate jobs."""
    frame = sweep_metrics(summary).assign(job=summary["job"].to_numpy())
    keep = [m for m in metrics if m in set(frame.metric)]
    table = frame[frame.metric.isin(keep)].pivot_table(index="arm", columns="metric",
                                                       values="value", aggfunc="mean")
    table = table[keep]
    table.insert(0, "jobs", frame.groupby("arm")["job"].nunique())
    table.index.name = "setting"
    return table.to_html(float_format=lambda x: f"{x:.4g}", border=0)


def effects_table(results: pd.DataFrame, alpha: float = 0.05) -> str:
    """The A/B effects: one row per (treatment arm, metric); significant rows in bold."""
    cols = [c for c in EFFECT_COLUMNS if c in results.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = []
    for row in results[cols].itertuples(index=False):
        cells = "".join(f"<td>{_cell(v)}</td>" for v in row)
        p = getattr(row, "p_value", float("nan"))
        rows.append(f"<tr class=\"sig\">{cells}</tr>" if p < alpha else f"<tr>{cells}</tr>")
    return (f"<table class=\"effects\"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            "</tbody></table>")


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
