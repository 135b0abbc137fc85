"""Bad input when resuming or starting a run: one clear error, and nothing already written lost.

Damaged, truncated or foreign checkpoints and day files, conflicting options, a config that
differs from the checkpoint's, absurd values, and device=cuda without a GPU.
"""
from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import tiny_config
from feedsim.config import ConfigError, validate_config
from feedsim.logs.store import atomic_write_table
from feedsim.loop import run
from feedsim.loop.checkpoint import CHECKPOINT, CheckpointError, check_resume, resume, write_atomic

ARGS = ("policy=popular", "loop.days=2")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reliability") / "run"
    with pytest.MonkeyPatch.context() as mp:            # the HTML report is not under test here
        mp.setattr("feedsim.report.html.safe_write_report", lambda *a, **k: None)
        run(tiny_config(*ARGS), out)
    return out


@pytest.fixture
def run_dir(finished_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    return out


def snapshot(out):
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def resume_error(out, *overrides) -> str:
    """The CheckpointError of resuming `out`, checking that no file changed."""
    before = snapshot(out)
    with pytest.raises(CheckpointError) as err:
        resume(out, tiny_config(*ARGS, "resume=true", *overrides))
    assert snapshot(out) == before
    message = str(err.value)
    assert "\n" not in message
    return message


def test_a_finished_run_resumes_to_more_days(run_dir):
    sim, _ = resume(run_dir, tiny_config("policy=popular", "loop.days=3", "resume=true"))
    assert sim.world.day == 2 and sim.out_dir == run_dir


def test_resume_without_checkpoint_is_refused(run_dir):
    (run_dir / CHECKPOINT).unlink()
    assert "no checkpoint.pkl" in resume_error(run_dir)


@pytest.mark.parametrize("damage,needle", [
    (lambda b: b"", "not a feedsim checkpoint"),
    (lambda b: b"garbage" * 10, "not a feedsim checkpoint"),
    (lambda b: pickle.dumps({"a": 1}), "not a feedsim checkpoint"),
    (lambda b: b[:len(b) // 2], "truncated"),
    (lambda b: b[:30], "damaged checkpoint header"),
    (lambda b: b[:-10] + bytes(10), "checksum"),
    (lambda b: b.replace(b'"version": 1', b'"version": 9', 1), "version 9"),
])
def test_damaged_or_foreign_checkpoint_is_refused(run_dir, damage, needle):
    path = run_dir / CHECKPOINT
    path.write_bytes(damage(path.read_bytes()))
    assert needle in resume_error(run_dir)


def test_a_config_that_differs_is_refused_naming_the_key(run_dir):
    assert "seed=0" in resume_error(run_dir, "seed=4")
    assert "world.n_users" in resume_error(run_dir, "world.n_users=200")
    assert "beyond loop.days=1" in resume_error(run_dir, "loop.days=1")


@pytest.mark.parametrize("damage", ["truncate", "foreign", "delete"])
def test_a_damaged_earlier_day_file_is_never_overwritten(run_dir, damage):
    day = run_dir / "impressions/day_0000.parquet"
    if damage == "truncate":
        day.write_bytes(day.read_bytes()[:100])
    elif damage == "foreign":
        pq.write_table(pa.Table.from_pandas(pd.DataFrame({"user_id": [1, 2]})), day)
    else:
        day.unlink()
    assert "day_0000.parquet" in resume_error(run_dir)


def test_files_written_after_the_checkpoint_are_dropped(run_dir):
    late = run_dir / "impressions/day_0002.parquet"
    shutil.copy(run_dir / "impressions/day_0001.parquet", late)
    (run_dir / "impressions/.day_0003.parquet.tmp-1").write_bytes(b"half")
    kept = (run_dir / "impressions/day_0001.parquet").read_bytes()
    resume(run_dir, tiny_config("policy=popular", "loop.days=3", "resume=true"))
    assert not late.exists() and not list((run_dir / "impressions").glob(".*"))
    assert (run_dir / "impressions/day_0001.parquet").read_bytes() == kept


def test_atomic_writes_leave_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    atomic_write_table(pa.table({"x": [1]}), path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_table(pa.table({"x": [2]}), path)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "c.pkl", [b"abc"])
    assert path.read_bytes() == before and not (tmp_path / "c.pkl").exists()


@pytest.mark.parametrize("override,key", [
    ("seed=-1", "seed"),
    ("behavior.threads=100000", "behavior.threads"),
    ("loop.page_size=5000", "loop.page_size"),
    ("loop.days=0", "loop.days"),
    ("world.trend_peak=-1", "world.trend_peak"),
    ("behavior.loop_limit=inf", "behavior.loop_limit"),
    ("loop.days=100000000", "world"),
])
def test_absurd_values_name_their_key(override, key):
    with pytest.raises(ConfigError) as err:
        validate_config(tiny_config(override))
    assert str(err.value).startswith(key)


def test_resume_and_overwrite_conflict():
    with pytest.raises(ConfigError, match="resume"):
        validate_config(tiny_config("resume=true", "overwrite=true"))


def feedsim(out, *args):
    proc = subprocess.run([sys.executable, "-m", "feedsim", "world=tiny", *args,
                           f"hydra.run.dir={out}"], capture_output=True, text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    return lines[0]


def test_cli_bad_resumes_fail_in_one_line_and_change_nothing(run_dir, tmp_path):
    before = snapshot(run_dir)
    assert "overwrite" in feedsim(run_dir, *ARGS, "resume=true", "overwrite=true")
    (run_dir / CHECKPOINT).write_bytes(b"FEEDSIM-CHECKPOINT\n" + bytes(5))
    before[CHECKPOINT] = (run_dir / CHECKPOINT).read_bytes()
    assert "checkpoint.pkl" in feedsim(run_dir, *ARGS, "resume=true")
    assert snapshot(run_dir) == before
    assert "no checkpoint.pkl" in feedsim(tmp_path / "empty", *ARGS, "resume=true")
    assert not (tmp_path / "empty").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_cli_device_cuda_without_gpu_fails_in_one_line(tmp_path):
    assert "device=cuda" in feedsim(tmp_path / "run", "device=cuda")
    assert not (tmp_path / "run").exists()
