"""The training log every rank starts from: a finished run's, or a freshly simulated world's.

Each rank builds the same rows independently (the simulation is deterministic for a seed on
CPU), so nothing but gradients crosses processes. `--run DIR` loads the run's checkpoint (the
whole simulation after its last day: the platform view and the recent impression logs);
otherwise a world from the config (default `world=tiny policy=popular loop.days=2`) is
simulated for `loop.days` days.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

from feedsim.config.schema import Config
from feedsim.logs import ImpressionBatch

DEFAULTS = ["world=tiny", "policy=popular", "loop.days=2", "loop.progress=false",
            "loop.regret_sample=0"]


class DataError(ValueError):
    """The run to train from cannot be read."""


@dataclass
class TrainingData:
    cfg: Config
    view: object                  # PlatformView: observable data only
    log: ImpressionBatch          # oldest first
    daily_decay: float            # the counters' per-day decay (ranking features)


def from_run(run_dir: Path, days: int) -> TrainingData:
    """The last `days` days of logs and the platform view stored in a run's checkpoint."""
    from feedsim.loop.checkpoint import CHECKPOINT, CheckpointError, read_header

    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        raise DataError(f"--run {run_dir}: no {CHECKPOINT} (not a finished feedsim run)")
    try:
        offset = read_header(path)[1]
        with open(path, "rb") as f:
            f.seek(offset)
            sim = pickle.load(f)
    except (CheckpointError, pickle.UnpicklingError, EOFError) as exc:
        raise DataError(f"--run {run_dir}: cannot load {CHECKPOINT} ({exc})") from exc
    return _of(sim, days)


def simulated(overrides: list[str]) -> TrainingData:
    """Simulate `loop.days` days of the configured world and policy, keeping their logs."""
    from feedsim.cli import compose_error
    from feedsim.config.compose import load_config
    from feedsim.config.validate import validate_config
    from feedsim.loop import Simulation

    message = compose_error(DEFAULTS + list(overrides))         # one line naming the key
    if message:
        raise DataError(message)
    cfg = load_config(DEFAULTS + list(overrides))
    validate_config(cfg)
    sim = Simulation(cfg)
    for _ in range(cfg.loop.days):
        sim.step_day()
    return _of(sim, cfg.loop.days)


def _of(sim, days: int) -> TrainingData:
    log = sim.ctx.training_log(days)
    if log is None or len(log) == 0:
        raise DataError("the run holds no impressions to train on")
    return TrainingData(sim.cfg, sim.ctx.view, log, sim.ctx.counters.daily_decay)
