"""Soak: 30 simulated days of the small world with the full feed, memory bounded (slow).

Resident memory (VmRSS, or ru_maxrss where /proc is missing) is sampled after each day's
checkpoint; after the first week (when the 7-day log memory is full) it must stop growing beyond
a small margin, and every day must have its metrics and its impression file.
"""
from __future__ import annotations

import resource
from pathlib import Path

import pytest

from conftest import tiny_config
from feedsim.loop import run

DAYS = 30


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_thirty_days_of_the_small_world_keep_memory_bounded(tmp_path, monkeypatch):
    from feedsim.loop import runner

    samples: list[float] = []
    save = runner.checkpoint.Checkpointer.save

    def sampling_save(self, sim, wall_s):
        save(self, sim, wall_s)
        samples.append(rss_mb())
    monkeypatch.setattr(runner.checkpoint.Checkpointer, "save", sampling_save)
    cfg = tiny_config("world=small", "policy=fyp", f"loop.days={DAYS}")
    frame = run(cfg, tmp_path / "run")
    assert sorted(frame.day.unique()) == list(range(DAYS))
    per_day = frame.groupby("day").metric.nunique()
    assert per_day.min() >= 20 and (frame.groupby("day").size() > 0).all()
    week, last = max(samples[5:8]), max(samples[-5:])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"soak RSS MB: day0={samples[0]:.0f} week={week:.0f} last5={last:.0f} peak={peak:.0f}")
    assert last < week * 1.25 + 200, samples
    assert len(list((tmp_path / "run" / "impressions").glob("day_*.parquet"))) == DAYS
