"""Kill a run with SIGKILL at chosen moments, resume it, and get byte-identical outputs.

Each test runs one uninterrupted reference, then one run directory that is killed at several
points in turn (tests/kill_driver.py plants the pause) and resumed after each kill, and finally
compares every impression file and metrics.parquet byte for byte with the reference.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DRIVER = str(Path(__file__).with_name("kill_driver.py"))


def start(point: str, day: int, marker: Path, out: Path, args: list[str], resume: bool):
    argv = [sys.executable, DRIVER, point, str(day), str(marker), "--", *args,
            f"hydra.run.dir={out}", *(["resume=true"] if resume else [])]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_at(point: str, day: int, out: Path, args: list[str], resume: bool) -> None:
    """Run until `point` of `day` is reached, then SIGKILL the process there."""
    marker = out.parent / f"marker-{point}-{day}"
    proc = start(point, day, marker, out, args, resume)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"{point} day {day}: exited {proc.returncode} before the "
                                 f"kill point: {proc.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, f"{point} day {day}: kill point never reached"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    marker.unlink()


def finish(out: Path, args: list[str], resume: bool) -> None:
    proc = start("none", 0, out.parent / "unused", out, args, resume)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]


def outputs(out: Path) -> dict[str, bytes]:
    files = sorted((out / "impressions").glob("*.parquet")) + [out / "metrics.parquet"]
    return {p.name: p.read_bytes() for p in files}


def no_partial_files(out: Path) -> None:
    """Killed writes leave temporary names only; every final name is a complete file."""
    import pyarrow.parquet as pq

    for path in list((out / "impressions").glob("day_*.parquet")) + [out / "metrics.parquet"]:
        if path.exists():
            pq.read_table(path)


def check_chain(tmp_path: Path, args: list[str], kills: list[tuple[str, int]]) -> None:
    ref, out = tmp_path / "ref", tmp_path / "run"
    finish(ref, args, resume=False)
    for point, day in kills:       # resume once a checkpoint exists; before, start afresh
        kill_at(point, day, out, args, resume=(out / "checkpoint.pkl").exists())
        no_partial_files(out)
    finish(out, args, resume=True)
    got, want = outputs(out), outputs(ref)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs after kills at {kills}"
    assert not list(out.glob(".*.tmp*")) and not list((out / "impressions").glob(".*.tmp*"))


# Byte-identical logs are the CPU promise: CUDA training kernels (embedding backward, index_add)
# accumulate in a nondeterministic order, so on a GPU machine these runs pin device=cpu.
POPULAR = ["world=tiny", "policy=popular", "loop.progress=false", "device=cpu"]
FYP = ["world=tiny", "policy=fyp", "loop.progress=false", "device=cpu"]


def test_popular_killed_mid_write_resumes_byte_identical(tmp_path):
    check_chain(tmp_path, POPULAR + ["loop.days=2"],
                [("mid_write_day_file", 1), ("mid_write_checkpoint", 1)])


@pytest.mark.slow
def test_popular_killed_at_every_kind_of_point_resumes_byte_identical(tmp_path):
    check_chain(tmp_path, POPULAR + ["loop.days=3"], [
        ("mid_day", 0),                 # before any checkpoint: the next run starts afresh
        ("mid_write_day_file", 1),
        ("after_day_file", 1),
        ("mid_write_metrics", 1),
        ("mid_write_checkpoint", 1),
        ("after_checkpoint", 1),
        ("mid_day", 2),
    ])


@pytest.mark.slow
def test_fyp_killed_at_every_kind_of_point_resumes_byte_identical(tmp_path):
    check_chain(tmp_path, FYP + ["loop.days=3"], [
        ("after_checkpoint", 0), ("mid_day", 1), ("mid_write_day_file", 1),
        ("after_day_file", 1), ("mid_write_checkpoint", 1), ("mid_write_metrics", 2)])
