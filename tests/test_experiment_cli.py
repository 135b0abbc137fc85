"""The experiment CLI, presets, launchers and the sweep callback, as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from feedsim.experiment import ExperimentError, build_plan
from feedsim.experiment.config import CONFIG_DIR, presets
from feedsim.experiment.sweep import LimitThreads

QUIET = ["loop.progress=false"]


def run(module: str, *args: str):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_writes_the_results_table_daily_metrics_and_summary(tmp_path):
    out = tmp_path / "ab"
    proc = run("feedsim.experiment", "experiment=popular_vs_random", "loop.days=2", *QUIET,
               f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    assert "watch_s_per_play" in proc.stdout and "p_value" in proc.stdout
    for name in ("results.parquet", "results.md", "metrics.parquet", "per_user.parquet",
                 "summary.json", "config.yaml", "run.log", "impressions/day_0001.parquet"):
        assert (out / name).exists(), name
    results = pd.read_parquet(out / "results.parquet")
    assert set(results.treatment_arm) == {"popular"} and set(results.control_arm) == {"random"}
    assert (results.ci_low <= results.abs_effect).all() and results.p_value.between(0, 1).all()
    daily = pd.read_parquet(out / "metrics.parquet")
    assert set(daily.arm) == {"random", "popular"} and set(daily.day) == {0, 1}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["design"] == "user_split" and summary["control"] == "random"
    assert "popular:watch_s_per_play" in summary["effects"]


BAD = {
    "unknown preset": (["experiment=no_such_preset"], "no such preset"),
    "unknown arm key": (["experiment=popular_vs_random",
                         'experiment.arms.popular=["policy.no_such_knob=3"]'], "no_such_knob"),
    "identical arms": (["experiment=aa_tiny", "experiment.aa=false"], "identical configs"),
    "one arm": (["experiment=popular_vs_random", "~experiment.arms.popular"], "at least 2 arms"),
    "world change in split": (["experiment=popular_vs_random",
                               'experiment.arms.popular=["policy=popular","loop.days=1"]'],
                              "use experiment.design=paired"),
    "bad design": (["experiment=popular_vs_random", "experiment.design=bandit"], "design"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plans_fail_with_one_line_naming_the_cause(case):
    args, cause = BAD[case]
    with pytest.raises(ExperimentError, match=cause) as info:
        build_plan(args + QUIET)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("case", ["unknown preset", "unknown arm key", "identical arms"])
def test_bad_input_exits_non_zero_and_writes_nothing(tmp_path, case):
    args, cause = BAD[case]
    out = tmp_path / "ab"
    proc = run("feedsim.experiment", *args, f"hydra.run.dir={out}")
    assert proc.returncode == 2 and cause in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", presets())
def test_every_experiment_preset_composes_into_distinct_arms(name):
    plan = build_plan([f"experiment={name}", *QUIET])
    assert len(plan.arms) >= 2 and plan.spec.name == name
    configs = [cfg for _, cfg in plan.arms]
    assert plan.spec.aa or all(a != b for i, a in enumerate(configs) for b in configs[i + 1:])


@pytest.mark.parametrize("launcher,target", [
    ("local", "BasicLauncher"), ("joblib_cores", "JoblibLauncher"),
    ("ray_cluster", "RayLauncher"), ("slurm", "SlurmLauncher")])
def test_launcher_presets_compose(launcher, target):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}",
                                           "hydra/callbacks=sweep_summary"],
                      return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    assert "sweep_summary" in cfg.hydra.callbacks
    assert launcher == "local" or "limit_threads" in cfg.hydra.callbacks


def test_limit_threads_caps_blas_and_torch_threads():
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=None):
        try:
            LimitThreads(threads=1).on_job_start(config=None)
            assert torch.get_num_threads() == 1
            assert all(p["num_threads"] == 1 for p in threadpool_info())
        finally:
            torch.set_num_threads(before)


def test_sweep_callback_gathers_a_two_job_multirun(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run("feedsim", "-m", "world=tiny", "loop.days=1", "policy=random,popular", *QUIET,
               "loop.write_impressions=false", "hydra/launcher=local",
               "hydra/callbacks=sweep_summary", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_parquet(sweep / "sweep_summary.parquet")
    assert set(summary.job) == {"0", "1"} and set(summary.policy) == {"random", "popular"}
    assert {"day", "arm", "metric", "value"} <= set(summary.columns)
    table = pd.read_csv(sweep / "sweep_table.csv")
    assert len(table) == 2 and "watch_s_per_dau" in table.columns and "policy" in table.columns
    assert "world" not in table.columns                   # only keys that differ between jobs
    assert (sweep / "sweep_table.md").read_text().count("| ") >= 3
    assert Path(sweep / "sweep_plot.png").stat().st_size > 1000
