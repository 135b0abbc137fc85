"""Reporting: report.html, one self-contained page that tells the story of a run.

`write_report(run_dir)` reads what a run, an A/B experiment or a sweep left in its directory
(metrics.parquet, impressions/, results.parquet, sweep_summary.parquet, config.yaml and the
creator/video tables in report_data/) and writes `report.html` beside them: the metrics over days
(one line per arm or sweep setting; 95 % bands over a sweep's replicate seeds, else binomial
bands on rates), the funnel, distributions against the calibration targets, the creator
ecosystem, trends and freshness, the ranker's offline metrics, and the A/B effects (forest plot
and table; feedsim/report/arms.py). A sweep directory has no metrics.parquet: its figures come
from sweep_summary.parquet. Sections without data are left out. Every image is embedded as
base64 PNG, the CSS is inline and nothing references the network, so the file works offline.

`python -m feedsim.report RUN_DIR` regenerates it; the runner calls `write_report(out_dir, sim)`
when a run ends, which also writes report_data/ from the live simulation.
"""
from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from feedsim.metrics.calibration import return_gaps
from feedsim.report import arms, plots
from feedsim.report.explain_render import page_shell

log = logging.getLogger("feedsim")
HEADLINE = ["dau", "watch_s_per_dau", "plays_per_dau", "d1_retention", "true_value", "regret",
            "like_rate", "long_view_rate", "skip_rate"]
ECOSYSTEM = ["creator_gini", "creator_top1pct_share", "small_creator_share", "coverage",
             "topic_diversity", "user_topic_entropy"]
TRENDS = ["trend_capture", "fresh_video_share", "novelty"]


def write_report_data(out_dir: Path, sim) -> None:
    """Creator and video tables of a finished simulation, for the ecosystem figures."""
    data = Path(out_dir) / "report_data"
    data.mkdir(exist_ok=True)
    v, c = sim.world.videos, sim.world.creators
    pd.DataFrame({"video_id": np.arange(v.n), "creator": v.creator, "upload_day": v.upload_day,
                  "duration_s": v.duration_s}).to_parquet(data / "videos.parquet", index=False)
    pd.DataFrame({"creator": np.arange(c.n), "followers_start": sim.initial_followers,
                  "followers_end": c.followers}).to_parquet(data / "creators.parquet",
                                                            index=False)


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def read_impressions(run_dir: Path) -> pd.DataFrame | None:
    """All impression logs under the run directory (an experiment may hold one per world)."""
    files = sorted(run_dir.glob("**/impressions/day_*.parquet"))
    cols = ["day", "request_id", "user_id", "video_id", "watch_s", "duration_s", "like", "comment", "share",
            "follow", "hate", "arm", "source"]
    return pd.concat([pd.read_parquet(f, columns=cols) for f in files],
                     ignore_index=True) if files else None


def _config(run_dir: Path) -> dict:
    path = run_dir / "config.yaml"
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def funnel_stages(cfg: dict, log: pd.DataFrame | None) -> dict[str, float]:
    """Videos per request at each stage: catalogue, retrieved, ranked, page, viewed."""
    stages = {"catalogue": float(cfg.get("world", {}).get("n_videos", 0) or 0)}
    if cfg.get("policy", {}).get("name") == "fyp":
        stages["retrieved"] = float(cfg.get("retrieval", {}).get("total_candidates", 0))
        stages["pre-ranked + ranked"] = float(cfg["policy"].get("prerank", 0))
    page = float(cfg.get("loop", {}).get("page_size", 6))
    stages["page"] = page
    if log is not None and "request_id" in log:
        stages["viewed"] = len(log) / max(log["request_id"].nunique(), 1)
    return {k: v for k, v in stages.items() if v > 0}


def _fig(uri: str | None, caption: str) -> str:
    if uri is None:
        return ""
    return (f"<figure><img src=\"{uri}\" alt=\"{html.escape(caption)}\">"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _section(title: str, note: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2><p class=\"note\">{html.escape(note)}</p>{body}" \
        if body else ""


def _summary_table(metrics: pd.DataFrame) -> str:
    keep = [m for m in HEADLINE + ECOSYSTEM + TRENDS if m in set(metrics.metric)]
    table = metrics[metrics.metric.isin(keep)].pivot_table(index="metric", columns="arm",
                                                           values="value", aggfunc="mean")
    return table.reindex(keep).to_html(float_format=lambda x: f"{x:.4g}", border=0)


def _ecosystem(run_dir: Path, log: pd.DataFrame | None, metrics: pd.DataFrame) -> str:
    videos = _read(run_dir / "report_data" / "videos.parquet")
    creators = _read(run_dir / "report_data" / "creators.parquet")
    parts = []
    if log is not None:
        if videos is not None:
            exposure = np.bincount(videos["creator"].to_numpy()[log["video_id"]],
                                   minlength=len(creators) if creators is not None else 0)
            parts.append(_fig(plots.lorenz(exposure, "creator"), "creator exposure"))
        else:
            parts.append(_fig(plots.lorenz(log["video_id"].value_counts().to_numpy(), "video"),
                              "video exposure (no report_data: creators unknown)"))
    if creators is not None:
        parts.append(_fig(plots.follower_growth(creators), "follower growth by tier"))
    parts.append(_fig(plots.metrics_over_days(metrics, ECOSYSTEM, "Ecosystem over days"),
                      "ecosystem metrics"))
    return "".join(parts)


def _distributions(log: pd.DataFrame | None) -> str:
    if log is None or log.empty:
        return ""
    days = np.sort(log["day"].unique())
    n_users = int(log["user_id"].max()) + 1
    history = [np.zeros(n_users, bool) for _ in days]
    for i, d in enumerate(days):
        history[i][log.loc[log["day"] == d, "user_id"].unique()] = True
    return _fig(plots.calibration(log, return_gaps(history)),
                "distributions of this run against the calibration targets")


def build_report(run_dir: Path) -> str:
    run_dir = Path(run_dir)
    metrics, sweep = _read(run_dir / "metrics.parquet"), _read(run_dir / "sweep_summary.parquet")
    if metrics is None and sweep is None:
        raise FileNotFoundError(f"{run_dir}: no metrics.parquet or sweep_summary.parquet, so "
                                "nothing to report")
    sweep_only = metrics is None            # a sweep: one line per setting, seeds as replicates
    if sweep_only:
        metrics, cfg, log = arms.sweep_metrics(sweep), {}, None
    else:
        cfg, log = _config(run_dir), read_impressions(run_dir)
    results = _read(run_dir / "results.parquet")
    offline = sorted(m for m in set(metrics.metric)
                     if m.startswith("offline/") and m.endswith(("/auc", "/xauc")))
    sections = [
        _section("Summary", "Mean daily value of the headline metrics, per arm.",
                 _summary_table(metrics)),
        _section("A/B effects", "Treatment against control with 95 % confidence intervals "
                 "(from results.parquet); bold rows: p < 0.05.", "" if results is None else
                 _fig(plots.effects(results), "relative effects") + arms.effects_table(results)),
        _section("Metrics over days", "One line per arm (sweeps: per setting). Shaded: 95 % "
                 "interval over the replicate seeds of a sweep setting, else the binomial "
                 "interval of a rate given that day's impressions (or DAU for retention).",
                 _fig(plots.metrics_over_days(metrics, HEADLINE, "Platform metrics"),
                      "headline metrics over days")),
        _section("The funnel", "How many videos survive each stage of one request, and which "
                 "retrieval sources the shown videos came from.",
                 ("" if sweep_only else _fig(plots.funnel(funnel_stages(cfg, log)), "funnel"))
                 + ("" if log is None else _fig(plots.source_mix(log), "source mix"))),
        _section("Calibration", "Is the simulated feed shaped like a real one? (targets: "
                 "docs/calibration.md)", _distributions(log)),
        _section("Creator ecosystem", "Who gets the exposure, and who gains followers.",
                 _ecosystem(run_dir, log, metrics)),
        _section("Trends and freshness", "Share of impressions on trending sounds or hashtags, "
                 "on fresh uploads, and how unpopular the shown videos are (novelty).",
                 _fig(plots.metrics_over_days(metrics, TRENDS, "Trends"), "trend capture")),
        _section("Ranker offline metrics", "AUC per task on the next day's held-out logs "
                 "(XAUC for watch time); from the day the ranker first trains.",
                 _fig(plots.offline(metrics, offline), "offline metrics")),
        _section("Sweep", "Mean daily value per setting of the swept keys (jobs: replicate "
                 "runs averaged).", "" if sweep is None else
                 arms.sweep_table(sweep, HEADLINE + ECOSYSTEM + TRENDS)),
    ]
    return page_shell(f"feedsim report: {run_dir.name}",
                      _meta(run_dir, cfg, sweep) + "".join(sections), plots_style())


def _meta(run_dir: Path, cfg: dict, sweep: pd.DataFrame | None = None) -> str:
    summary = run_dir / "summary.json"
    if summary.exists():
        info = {k: v for k, v in json.loads(summary.read_text()).items()
                if not isinstance(v, dict)}
    elif sweep is not None:
        info = {"sweep jobs": sweep["job"].nunique(), "swept keys": ", ".join(arms.swept(sweep))}
    else:
        info = {"seed": cfg.get("seed")}
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in info.items())
    return f"<table>{rows}</table>"


def plots_style() -> str:
    from feedsim.report.explain_render import STYLE
    return STYLE + ("figure{margin:0 0 1.5em}img{max-width:100%}figcaption{color:#666;"
                    "font-size:12px}tr.sig td{font-weight:bold}")


def write_report(out_dir: Path, sim=None) -> Path:
    """Write `out_dir/report.html` (and report_data/ when the live `sim` is given)."""
    out_dir = Path(out_dir)
    if sim is not None:
        write_report_data(out_dir, sim)
    path = out_dir / "report.html"
    tmp = out_dir / ".report.html.tmp"
    tmp.write_text(build_report(out_dir), encoding="utf-8")
    tmp.replace(path)
    return path


def safe_write_report(out_dir: Path, sim=None) -> Path | None:
    """write_report for the end of a run: a failure is logged as a warning, never raised."""
    try:
        path = write_report(out_dir, sim)
    except Exception as exc:                    # noqa: BLE001 - the run's outputs come first
        log.warning("report.html not written: %s: %s", type(exc).__name__, exc)
        return None
    log.info("report: %s", path)
    return path
