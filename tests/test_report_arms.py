"""report.html for A/B experiments and sweeps, rendered from small synthetic run directories."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_report_html import check_page

from feedsim.report.arms import setting_labels, sweep_metrics
from feedsim.report.html import write_report

DAYS = 3


def daily(arm: str, rate: float, rng: np.random.Generator) -> list[dict]:
    rows = []
    for day in range(DAYS):
        values = {"impressions": 5000.0, "dau": 200.0, "like_rate": rate + rng.normal(0, 0.002),
                  "watch_s_per_dau": 300 + 100 * rate + rng.normal(0, 5), "coverage": 0.5}
        rows += [{"day": day, "arm": arm, "metric": m, "value": v} for m, v in values.items()]
    return rows


def ab_dir(tmp_path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    pd.DataFrame(daily("random", 0.02, rng) + daily("popular", 0.05, rng)).to_parquet(
        tmp_path / "metrics.parquet")
    results = pd.DataFrame({
        "metric": ["watch_min_per_user", "like_rate"], "control_arm": "random",
        "treatment_arm": "popular", "control": [5.0, 0.02], "treatment": [6.0, 0.05],
        "abs_effect": [1.0, 0.03], "rel_effect": [0.2, 1.5], "ci_low": [-0.5, 0.02],
        "ci_high": [2.5, 0.04], "rel_ci_low": [-0.1, 1.0], "rel_ci_high": [0.5, 2.0],
        "p_value": [0.19, 1e-6]})
    results.to_parquet(tmp_path / "results.parquet")
    return results


def test_ab_report_has_arms_bands_and_an_effects_table(tmp_path):
    ab_dir(tmp_path)
    text = write_report(tmp_path).read_text()
    checker = check_page(text)
    assert not [r for r in checker.refs if not r.startswith(("data:", "#"))]
    assert not re.search(r"https?://", text) and "<script" not in text
    assert "<h2>A/B effects</h2>" in text and "<h2>Metrics over days</h2>" in text
    assert text.count('<img src="data:image/png;base64,') >= 3     # effects, over days, ecosystem
    table = text[text.index('<table class="effects">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr") == 3                                 # header + two effects
    assert table.count('<tr class="sig">') == 1 and "like_rate" in table
    summary = text[text.index("<h2>Summary</h2>"):text.index("<h2>A/B effects</h2>")]
    assert "popular" in summary and "random" in summary


def sweep_summary(seeds=(0, 1)) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frames = []
    for job, (policy, seed) in enumerate((p, s) for p in ("random", "popular") for s in seeds):
        frame = pd.DataFrame(daily("control", 0.02 if policy == "random" else 0.05, rng))
        frames.append(frame.assign(job=str(job), policy=policy, seed=str(seed), world="tiny"))
    return pd.concat(frames, ignore_index=True)


def test_sweep_settings_are_labelled_by_swept_keys_with_seeds_as_replicates():
    summary = sweep_summary()
    labels = setting_labels(summary)
    assert set(labels) == {"policy=random", "policy=popular"}      # world never varies
    long = sweep_metrics(summary)
    assert list(long.columns) == ["day", "arm", "metric", "value"]
    per_setting_day = long[long.metric == "like_rate"].groupby(["arm", "day"]).size()
    assert (per_setting_day == 2).all()                            # two seeds per point


def test_sweep_report_renders_from_sweep_summary_alone(tmp_path):
    sweep_summary().to_parquet(tmp_path / "sweep_summary.parquet")
    text = write_report(tmp_path).read_text()
    checker = check_page(text)
    assert not [r for r in checker.refs if not r.startswith(("data:", "#"))]
    assert "<h2>Sweep</h2>" in text and "<h2>Metrics over days</h2>" in text
    assert "<h2>The funnel</h2>" not in text               # a sweep has no single pipeline
    sweep = text[text.index("<h2>Sweep</h2>"):]
    assert "policy=popular" in sweep and "policy=random" in sweep and "jobs" in sweep
    assert text.count('<img src="data:image/png;base64,') >= 2


def test_an_empty_directory_still_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="sweep_summary.parquet"):
        write_report(tmp_path)
