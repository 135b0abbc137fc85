"""Test hook: run `python -m feedsim` with a pause planted at one point, to be killed there.

    python tests/kill_driver.py POINT DAY MARKER -- <feedsim overrides>

When the run reaches POINT on simulated day DAY it creates the file MARKER and sleeps, so the
test can SIGKILL it at exactly that moment. POINT is one of:

- `none`: no pause (the uninterrupted reference run);
- `mid_day`: inside the day loop, at the day's third behaviour call;
- `mid_write_day_file` / `mid_write_metrics`: inside an atomic parquet write, with half of the
  temporary file written (what a kill during the write leaves on disk);
- `after_day_file`: the day's impression file is in place, metrics and checkpoint are not;
- `mid_write_checkpoint`: half of the checkpoint's temporary file written;
- `after_checkpoint`: the day is complete and checkpointed.

Only the tests use this; production code has no hooks. The HTML report is skipped (it is not
compared and costs seconds per run).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pyarrow.parquet as real_pq

import feedsim.logs.store as store
from feedsim.behavior.model import Behavior
from feedsim.loop import checkpoint

POINT, DAY, MARKER = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])


def pause() -> None:
    MARKER.write_text(f"{POINT} {DAY} {os.getpid()}")
    time.sleep(600)
    os._exit(3)                            # never reached when the test kills us


class HalfWriter:
    """Stands in for pyarrow.parquet inside feedsim.logs.store."""

    def __getattr__(self, name):
        return getattr(real_pq, name)

    def write_table(self, table, where, **kwargs):
        real_pq.write_table(table, where, **kwargs)
        # (file, world.day while it is written): metrics are written after the day ends
        wanted = {"mid_write_day_file": (f"day_{DAY:04d}", DAY),
                  "mid_write_metrics": ("metrics", DAY + 1)}
        if POINT in wanted and wanted[POINT][0] in str(where) and _today() == wanted[POINT][1]:
            data = Path(where).read_bytes()
            Path(where).write_bytes(data[: len(data) // 2])
            pause()


_state = {"calls": 0, "sim": None}


def _today() -> int:
    """The day being simulated (world.day advances when a day ends)."""
    sim = _state["sim"]
    return sim.world.day if sim is not None else -1


def _install() -> None:
    store.pq = HalfWriter()
    respond, save, write_day = Behavior.respond, checkpoint.Checkpointer.save, \
        store.ImpressionStore.write_day

    def respond_hook(self, *args, **kwargs):
        if POINT == "mid_day" and self.world.day == DAY:
            _state["calls"] += 1
            if _state["calls"] == 3:
                pause()
        return respond(self, *args, **kwargs)

    def write_day_hook(self, day, table):
        path = write_day(self, day, table)
        if POINT == "after_day_file" and day == DAY:
            pause()
        return path

    def save_hook(self, sim, wall_s):
        _state["sim"] = sim
        if POINT == "mid_write_checkpoint" and sim.world.day == DAY + 1:
            checkpoint.write_atomic = half_atomic
        save(self, sim, wall_s)
        if POINT == "after_checkpoint" and sim.world.day == DAY + 1:
            pause()

    def half_atomic(path, chunks):
        with open(path.with_name(f".{path.name}.tmp-{os.getpid()}"), "wb") as f:
            f.write(b"".join(chunks)[: sum(len(c) for c in chunks) // 2])
        pause()

    Behavior.respond, checkpoint.Checkpointer.save = respond_hook, save_hook
    store.ImpressionStore.write_day = write_day_hook
    _track_day()


def _track_day() -> None:
    """Know the current day inside parquet writes: remember the Simulation when it steps."""
    from feedsim.loop.runner import Simulation
    step = Simulation.step_day

    def step_hook(self):
        _state["sim"] = self
        return step(self)
    Simulation.step_day = step_hook
    try:
        import feedsim.report.html as report
        report.safe_write_report = lambda *a, **k: None
    except ImportError:
        pass


if __name__ == "__main__":
    _install()
    sys.argv = ["feedsim", *sys.argv[sys.argv.index("--") + 1:]]
    from feedsim.cli import main
    main()
