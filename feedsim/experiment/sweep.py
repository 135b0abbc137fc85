"""Sweeps: Hydra callbacks that summarise a multirun and keep its workers polite.

`SweepSummary` runs at the end of a multirun (`python -m feedsim -m policy=random,popular
+hydra/callbacks=sweep_summary`). Each job records its overrides (`overrides.json`) when it ends,
in its own process, so any launcher works (basic, joblib, Ray, SLURM); at the end every job's
`metrics.parquet` is gathered into `sweep_summary.parquet` (long format plus one column per
swept key), with a comparison table (`sweep_table.md`, `sweep_table.csv`: mean daily value of
each metric per job and arm) and a plot (`sweep_plot.png`: one metric by day, one line per job).

`LimitThreads` caps BLAS/OpenMP/torch threads inside each job, so n parallel workers on n cores
do not each start n threads (the joblib preset attaches it).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from feedsim.experiment.stats import markdown

log = logging.getLogger("feedsim")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TABLE_METRICS = ("watch_s_per_dau", "plays_per_dau", "d1_retention", "like_rate",
                 "true_value", "creator_gini", "coverage")


def _job_overrides(job_dir: Path) -> dict[str, str]:
    path = job_dir / "overrides.json"
    if not path.exists():
        return {}
    pairs = [o.lstrip("+~").split("=", 1) for o in json.loads(path.read_text())]
    return {k: v for k, v in (p for p in pairs if len(p) == 2) if not k.startswith("hydra")}


def gather(sweep_dir: Path) -> pd.DataFrame:
    """Every job's metrics.parquet under `sweep_dir`, with job number and swept keys."""
    frames = []
    for path in sorted(sweep_dir.glob("*/metrics.parquet")):
        frame = pd.read_parquet(path)
        frame.insert(0, "job", path.parent.name)
        for key, value in _job_overrides(path.parent).items():
            frame[key] = value
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["job", "day", "arm", "metric", "value"])
    out = pd.concat(frames, ignore_index=True)
    swept = [c for c in out.columns if c not in ("job", "day", "arm", "metric", "value")]
    out[swept] = out[swept].fillna("")
    return out


def swept_keys(summary: pd.DataFrame) -> list[str]:
    """job, arm and the override keys whose value differs between jobs."""
    keys = [c for c in summary.columns if c not in ("job", "day", "arm", "metric", "value")]
    return ["job", "arm"] + [k for k in keys if summary[k].nunique() > 1]


def comparison_table(summary: pd.DataFrame, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Mean daily value of each metric, one row per (job, arm) with its swept keys."""
    keys = swept_keys(summary)
    chosen = summary[summary.metric.isin(metrics)]
    table = chosen.pivot_table(index=keys, columns="metric", values="value", aggfunc="mean")
    return table[[m for m in metrics if m in table.columns]].reset_index()


def label(row: pd.Series, keys: list[str]) -> str:
    return " ".join(f"{k}={row[k]}" for k in keys if k not in ("job", "arm")) or str(row["job"])


def plot(summary: pd.DataFrame, path: Path, metric: str = "watch_s_per_dau") -> None:
    """One metric by day, one line per (job, arm)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = swept_keys(summary)
    chosen = summary[summary.metric == metric]
    fig, ax = plt.subplots(figsize=(7, 4))
    for _, group in chosen.groupby(keys, sort=True):
        ax.plot(group.day, group.value, marker="o", label=label(group.iloc[0], keys))
    ax.set(xlabel="day", ylabel=metric, title=f"sweep: {metric}")
    if len(chosen):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarise(sweep_dir: Path, plot_metric: str = "watch_s_per_dau") -> pd.DataFrame:
    """Write sweep_summary.parquet, sweep_table.md/.csv and sweep_plot.png into `sweep_dir`."""
    summary = gather(sweep_dir)
    summary.to_parquet(sweep_dir / "sweep_summary.parquet", index=False)
    table = comparison_table(summary)
    table.to_csv(sweep_dir / "sweep_table.csv", index=False)
    (sweep_dir / "sweep_table.md").write_text(f"# sweep {sweep_dir}\n\n{markdown(table)}\n")
    plot(summary, sweep_dir / "sweep_plot.png", plot_metric)
    return table


class SweepSummary(Callback):
    """Hydra callback: per-job overrides at job end; the sweep summary at multirun end."""

    def __init__(self, plot_metric: str = "watch_s_per_dau"):
        self.plot_metric = plot_metric

    def on_job_end(self, config: DictConfig, job_return, **kwargs) -> None:
        out_dir = Path(config.hydra.runtime.output_dir)
        if out_dir.is_dir():
            (out_dir / "overrides.json").write_text(json.dumps(list(job_return.overrides)))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = summarise(sweep_dir, self.plot_metric)
        from feedsim.report.html import safe_write_report              # teaching: report.html
        safe_write_report(sweep_dir)
        with pd.option_context("display.width", 160, "display.float_format", "{:,.4g}".format):
            log.info(f"sweep summary ({len(table)} rows): {sweep_dir}/sweep_summary.parquet\n"
                     + table.to_string(index=False))


class LimitThreads(Callback):
    """Hydra callback: at job start, cap BLAS/OpenMP/torch threads in the job's process."""

    def __init__(self, threads: int = 1):
        self.threads = int(threads)

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        for var in THREAD_VARS:
            os.environ[var] = str(self.threads)
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=self.threads)
        import torch
        torch.set_num_threads(self.threads)


__all__ = ["LimitThreads", "SweepSummary", "comparison_table", "gather",
           "summarise"]
