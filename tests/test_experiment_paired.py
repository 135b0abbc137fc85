"""feedsim.experiment.paired: per-user totals after the warm-up, watch time per DAU and its CIs."""
from __future__ import annotations

import numpy as np
import pytest

from feedsim.experiment import build_plan
from feedsim.experiment.paired import run_paired_after_warmup, watch_per_dau

QUIET = ["loop.progress=false", "loop.report=false", "loop.write_impressions=false"]


@pytest.fixture(scope="module")
def paired_run():
    """random vs popular on the tiny world, 2 days in paired worlds (day 0 is the warm-up)."""
    plan = build_plan(["experiment=popular_vs_random", "experiment.design=paired",
                       "loop.days=2", "loop.regret_sample=0", *QUIET])
    seen = []
    result = run_paired_after_warmup(plan, on_day=lambda name, day, sim: seen.append((name, day)))
    return plan, result, seen


def test_per_user_frame_has_one_row_per_arm_and_user_after_the_warmup(paired_run):
    plan, result, seen = paired_run
    n = plan.base.world.n_users
    per_user = result.per_user
    assert seen == [("random", 0), ("random", 1), ("popular", 0), ("popular", 1)]
    assert len(per_user) == 2 * n
    assert per_user.groupby("arm").user_id.nunique().to_dict() == {"random": n, "popular": n}
    assert (per_user.active_days <= 1).all()               # day 0 is not counted
    assert (per_user.watch_s >= 0).all() and per_user.watch_s.sum() > 0
    assert ((per_user.active_days == 0) <= (per_user.impressions == 0)).all()
    assert set(result.daily.day) == {0, 1} and set(result.daily.arm) == {"random", "popular"}


def test_watch_per_dau_matches_the_totals_and_orders_popular_above_random(paired_run):
    plan, result, _ = paired_run
    w = watch_per_dau(result.per_user, "random", "popular", n_boot=200, seed=0)
    by_arm = result.per_user.groupby("arm")[["watch_s", "active_days"]].sum()
    ratio = by_arm.watch_s / by_arm.active_days
    assert np.isclose(w["control"], ratio["random"]) and np.isclose(w["treatment"], ratio["popular"])
    assert np.isclose(w["rel"], ratio["popular"] / ratio["random"] - 1)
    assert w["rel_lo"] < w["rel"] < w["rel_hi"] and w["boot_lo"] < w["boot_hi"]
    assert w["rel"] > 0                                     # popular beats random on the tiny world
    same = watch_per_dau(result.per_user, "popular", "popular", n_boot=200, seed=0)
    assert same["rel"] == 0 and same["rel_lo"] == same["rel_hi"] == 0


def test_frames_round_trip_and_a_missing_save_names_its_file(paired_run, tmp_path):
    from feedsim.experiment.paired import load_frames, save_frames
    _, result, _ = paired_run
    save_frames(tmp_path, result, 12.5)
    loaded, wall_s = load_frames(tmp_path)
    assert wall_s == 12.5
    assert loaded.per_user.equals(result.per_user) and loaded.daily.equals(result.daily)
    with pytest.raises(SystemExit, match="run.json: not found"):
        load_frames(tmp_path / "elsewhere")


def test_run_or_load_reads_back_what_a_run_saved(paired_run, tmp_path):
    from feedsim.experiment.paired import run_or_load, save_frames
    _, result, _ = paired_run
    save_frames(tmp_path, result, 3.0)
    plan, loaded, out, rest, wall_s = run_or_load(
        "experiment=popular_vs_random", ["--out", str(tmp_path), "--report-only",
                                         "experiment.design=paired", "loop.days=2"], tmp_path / "x")
    assert out == tmp_path and wall_s == 3.0 and rest == ["experiment.design=paired", "loop.days=2"]
    assert loaded.per_user.equals(result.per_user) and plan.base.loop.days == 2
