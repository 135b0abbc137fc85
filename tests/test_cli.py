"""The CLI end to end, as a user runs it: a subprocess on the tiny preset."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from feedsim.logs import IMPRESSION_SCHEMA, LogSchemaError, read_impressions


def feedsim(*args: str):
    return subprocess.run([sys.executable, "-m", "feedsim", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_runs_and_writes_every_output(tmp_path):
    out = tmp_path / "run"
    proc = feedsim("world=tiny", "loop.days=2", "policy=random", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    assert "watch_s_per_dau" in proc.stdout and str(out) in proc.stdout
    for name in ("config.yaml", "metrics.parquet", "summary.json", "run.log",
                 "impressions/day_0000.parquet", "impressions/day_0001.parquet"):
        assert (out / name).exists(), name
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert list(metrics.columns) == ["day", "arm", "metric", "value"]
    assert set(metrics.day) == {0, 1}
    for name in ("dau", "impressions", "watch_s_per_dau", "d1_retention", "creator_gini",
                 "topic_diversity", "coverage", "like_rate", "skip_rate", "true_value"):
        assert name in set(metrics.metric), name
    table = read_impressions(out / "impressions/day_0001.parquet")
    assert table.schema.equals(IMPRESSION_SCHEMA)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["impressions"] == int(metrics[metrics.metric == "impressions"].value.sum())


def test_cli_refuses_a_directory_that_holds_a_run(tmp_path):
    out = tmp_path / "run"
    fast = ("world=tiny", "loop.days=1", "policy=popular", "loop.report=false")
    assert feedsim(*fast, f"hydra.run.dir={out}").returncode == 0
    before = (out / "impressions/day_0000.parquet").read_bytes()
    proc = feedsim(*fast, "seed=5", f"hydra.run.dir={out}")
    assert proc.returncode == 2 and "already holds a run" in proc.stderr
    assert (out / "impressions/day_0000.parquet").read_bytes() == before
    assert feedsim(*fast, "seed=5", "overwrite=true", f"hydra.run.dir={out}").returncode == 0


def test_damaged_and_foreign_logs_fail_naming_the_file(tmp_path):
    bad = tmp_path / "day_0000.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(LogSchemaError, match="day_0000.parquet"):
        read_impressions(bad)
    foreign = tmp_path / "day_0001.parquet"
    pq.write_table(pd.DataFrame({"user_id": [1]}).pipe(
        lambda f: __import__("pyarrow").Table.from_pandas(f)), foreign)
    with pytest.raises(LogSchemaError, match="missing column 'day'"):
        read_impressions(foreign)
