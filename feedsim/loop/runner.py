"""A whole run: build the world and the platform from a config, run the days, write outputs.

The run directory receives the resolved config (`config.yaml`), one impression file per day
(`impressions/day_NNNN.parquet`), the daily metrics in long format (`metrics.parquet`: day,
arm, metric, value) and a short `summary.json`. Every file is written atomically. A directory
that already holds a run is refused unless `overwrite=true`.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from feedsim.behavior import Behavior
from feedsim.config.schema import Config
from feedsim.logs import ImpressionStore, SeenHistory, VideoCounters
from feedsim.logs.counters import VALID_PLAY_S
from feedsim.logs.store import atomic_write_table
from feedsim.loop import checkpoint
from feedsim.loop.day import Arm, DayLoop, DayResult
from feedsim.metrics.ecosystem import SMALL_CREATOR, TRENDING, EcosystemView, ecosystem_metrics
from feedsim.metrics.longitudinal import Longitudinal
from feedsim.metrics.online import day_metrics
from feedsim.retrieval.evaluate import TrueValue, attach_truth
from feedsim.policy import PlatformContext, make_policy
from feedsim.rng import Streams
from feedsim.world import World

log = logging.getLogger("feedsim")
RUN_MARKERS = ("summary.json", "metrics.parquet", "impressions", "checkpoint.pkl")
WALL_CLOCK_METRICS = ("offline/train_samples_per_s",)   # kept out of metrics.parquet


class RunDirError(RuntimeError):
    """The output directory already holds a run."""


def check_run_dir(out_dir: Path, overwrite: bool) -> None:
    found = [m for m in RUN_MARKERS if (out_dir / m).exists()]
    if found and not overwrite:
        raise RunDirError(f"{out_dir}: already holds a run ({', '.join(found)}); "
                          "pass overwrite=true or choose another hydra.run.dir")


class Simulation:
    """World + behaviour + platform + arms, advanced one day at a time."""

    def __init__(self, cfg: Config, out_dir: Path | None = None,
                 arms: list[tuple[str, Config]] | None = None,
                 arm_of_user: np.ndarray | None = None):
        self.cfg, self.out_dir = cfg, None if out_dir is None else Path(out_dir)
        self.streams = Streams(cfg.seed)
        self.world = World.generate(cfg.world, self.streams.numpy("world"))
        self.behavior = Behavior(self.world, cfg.behavior, self.streams.numpy("behavior"))
        store = None
        if self.out_dir is not None and cfg.loop.write_impressions:
            store = ImpressionStore(self.out_dir / "impressions")
        self.ctx = PlatformContext(
            view=self.world.view(),
            counters=VideoCounters(self.world.videos.n, cfg.policy.popular_halflife_days),
            seen=SeenHistory(self.world.users.n, cfg.loop.seen_window),
            store=store, page_size=cfg.loop.page_size)
        arms = arms or [("control", cfg)]
        self.arms = [Arm(name, make_policy(arm_cfg, self.ctx, self.streams.numpy(f"policy.{name}"),
                                           self.world, self.behavior)) for name, arm_cfg in arms]
        for arm in self.arms:       # sandbox hands the truth to retrieval's daily evaluation
            attach_truth(arm.policy, TrueValue(self.behavior.truth))
        if arm_of_user is None:
            arm_of_user = np.zeros(self.world.users.n, dtype=np.int16)
        self.day_loop = DayLoop(self.world, self.behavior, self.ctx, self.arms, arm_of_user,
                                cfg.loop, self.streams.numpy("loop"))
        if cfg.loop.regret_sample > 0:
            from feedsim.policy.oracle import OraclePolicy
            self.day_loop.regret_rng = self.streams.numpy("regret.sample")
            self.day_loop.regret_oracle = OraclePolicy(
                self.ctx, self.streams.numpy("regret.oracle"), cfg.policy, self.world,
                self.behavior)
        self.initial_followers = self.world.creators.followers.copy()
        self.active_history: list[np.ndarray] = []
        self.metrics_rows: list[dict] = []
        self.phase_seconds: dict[str, float] = {}        # wall time of the last day's phases
        self.longitudinal = Longitudinal(len(self.arms), self.world.users.n,
                                         cfg.loop.views_milestone_per_user * self.world.users.n)

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms)

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for a in self.arms for s in a.policy.source_names))

    def step_day(self) -> DayResult:
        """Simulate the next day and fold it into metrics, logs and the world's state."""
        day = self.world.day
        start = time.perf_counter()
        self.world.start_day()
        self.ctx.counters.grow(self.world.videos.n)
        for arm in self.arms:
            arm.policy.begin_day(day)          # fyp: the daily retraining
        if self.day_loop.regret_oracle is not None:
            self.day_loop.regret_oracle.begin_day(day)
        trained = time.perf_counter()
        result = self.day_loop.run(day)        # serve, respond, log: the day's requests
        served = time.perf_counter()
        self._finish_day(day, result)
        self.phase_seconds = {"begin_day": trained - start, "day_loop": served - trained,
                              "finish_day": time.perf_counter() - served}
        return result

    def _source_index(self, result: DayResult) -> np.ndarray:
        """Map each arm's local source index to the run-wide source_names."""
        names = self.source_names
        lookup = [np.array([names.index(s) for s in a.policy.source_names], np.int16)
                  for a in self.arms]
        out = np.empty_like(result.log.source)
        for a, table in enumerate(lookup):
            mask = result.log.arm == a
            out[mask] = table[result.log.source[mask]]
        return out

    def _finish_day(self, day: int, result: DayResult) -> None:
        log_ = result.log
        if log_ is not None:
            log_.source = self._source_index(result)
            self.ctx.recent_logs[day] = log_
            held = self.cfg.loop.log_memory_days                # what training can read
            for old in [d for d in self.ctx.recent_logs if d <= day - held]:
                del self.ctx.recent_logs[old]
            if self.ctx.store is not None:
                self.ctx.store.write_day(day, log_.to_table(self.arm_names, self.source_names))
        self._record_metrics(day, result)
        self._end_world_day(result)

    def _record_metrics(self, day: int, result: DayResult) -> None:
        before = self.active_history[-1] if self.active_history else None
        self.active_history.append(result.active)
        arm_of_user = self.day_loop.arm_of_user
        for a, name in enumerate(self.arm_names):
            mine = arm_of_user == a
            log_ = result.log if len(self.arm_names) == 1 else \
                result.log.select(result.log.arm == a)           # one arm: no copy of the day
            pages, distinct, value, utility, views, regret, sampled, best = result.page_stats[a]
            page_stats = {"topic_diversity": distinct / max(pages, 1) / self.cfg.loop.page_size,
                          "true_value": value / max(views, 1), "utility": utility / max(views, 1)}
            if sampled > 0:
                page_stats["regret"] = regret / sampled
                page_stats["regret_relative"] = regret / best if best > 0 else float("nan")
            m = day_metrics(log_, result.active[mine], None if before is None else before[mine],
                            int(result.sessions[mine & result.active].sum()), self.world.videos.n,
                            self.world.videos.creator, self.world.creators.active, page_stats)
            eco = self._ecosystem(day)
            m.update(ecosystem_metrics(log_, eco))
            m.update(self.longitudinal.day_metrics(a, log_, eco, self.world.videos.n))
            if len(self.active_history) > 7:
                week_ago = self.active_history[-8][mine]
                m["d7_retention"] = float((week_ago & result.active[mine]).sum()
                                          / max(week_ago.sum(), 1))
            m.update({k: float(v) for k, v in self.arms[a].policy.day_metrics().items()})
            self.metrics_rows += [{"day": day, "arm": name, "metric": k, "value": float(v)}
                                  for k, v in m.items()]

    def _ecosystem(self, day: int) -> EcosystemView:
        videos, trends = self.world.videos, self.world.trends
        trending = (trends.sound_strength[videos.sound] >= TRENDING) | \
            (trends.tag_strength[videos.topic[:, 0]] >= TRENDING)
        return EcosystemView(creator=videos.creator, upload_day=videos.upload_day, day=day,
                             small_creator=self.initial_followers < SMALL_CREATOR,
                             trending=trending, topic=videos.topic[:, 0])

    def _end_world_day(self, result: DayResult) -> None:
        log_ = result.log
        ratio = log_.watch_s / log_.duration_s
        self.behavior.end_day(result.active, log_.user_id, log_.video_id, ratio)
        engaged = log_.watch_s >= np.minimum(VALID_PLAY_S, log_.duration_s)
        creators = self.world.videos.creator[log_.video_id[engaged]]
        self.world.end_day(np.bincount(creators, minlength=self.world.creators.n))
        self.ctx.counters.end_day()

    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.metrics_rows, columns=["day", "arm", "metric", "value"])


def run(cfg: Config, out_dir: Path) -> pd.DataFrame:
    """Run `cfg.loop.days` days, writing every output into `out_dir`. Returns the metrics."""
    out_dir = Path(out_dir)
    start = time.perf_counter()
    if cfg.resume:                                   # continue from the last checkpoint
        sim, checkpointer = checkpoint.resume(out_dir, cfg)
        log.info(f"resuming {out_dir} at day {sim.world.day}")
    else:
        check_run_dir(out_dir, cfg.overwrite)
        checkpoint.discard_stale(out_dir)
        sim, checkpointer = Simulation(cfg, out_dir), checkpoint.Checkpointer(out_dir, cfg)
    days = tqdm(range(sim.world.day, cfg.loop.days), desc="days", unit="day",
                disable=not (cfg.loop.progress and sys.stderr.isatty()))
    for _ in days:
        result = sim.step_day()
        frame = sim.metrics_frame()
        write_metrics(out_dir, frame)
        checkpointer.save(sim, time.perf_counter() - start)
        log.info(day_line(frame, sim.world.day - 1, len(result.log)))
    frame = sim.metrics_frame()
    write_metrics(out_dir, frame)
    write_summary(out_dir, cfg, frame, checkpointer.wall_s + time.perf_counter() - start)
    if cfg.loop.report:
        from feedsim.report.html import safe_write_report          # teaching: report.html
        safe_write_report(out_dir, sim)
    return frame


def write_metrics(out_dir: Path, frame: pd.DataFrame) -> None:
    """metrics.parquet (deterministic for a seed) and timings.parquet (wall-clock rates)."""
    timing = frame.metric.isin(WALL_CLOCK_METRICS)
    for name, part in (("metrics.parquet", frame[~timing]), ("timings.parquet", frame[timing])):
        if name == "metrics.parquet" or len(part):
            atomic_write_table(pa.Table.from_pandas(part.reset_index(drop=True),
                                                    preserve_index=False), out_dir / name)


def day_line(frame: pd.DataFrame, day: int, n_impressions: int) -> str:
    today = frame[frame.day == day].groupby("metric")["value"].mean()
    get = lambda k: today.get(k, float("nan"))                            # noqa: E731
    return (f"day {day}: dau={get('dau'):.0f} impressions={n_impressions} "
            f"watch/dau={get('watch_s_per_dau') / 60:.1f}min plays/dau={get('plays_per_dau'):.1f} "
            f"like={get('like_rate'):.2%} d1={get('d1_retention'):.1%} "
            f"true_value={get('true_value'):.3f} gini={get('creator_gini'):.2f}")


def write_summary(out_dir: Path, cfg: Config, frame: pd.DataFrame, wall_s: float) -> dict:
    means = frame.groupby(["arm", "metric"])["value"].mean()
    impressions = float(frame[frame.metric == "impressions"]["value"].sum())
    summary = {
        "seed": cfg.seed, "days": cfg.loop.days, "world": cfg.world.name,
        "policy": cfg.policy.name, "users": cfg.world.n_users,
        "impressions": int(impressions), "wall_s": round(wall_s, 2),
        "impressions_per_s": round(impressions / max(wall_s, 1e-9), 1),
        "mean_daily": {arm: {m: float(v) for m, v in means[arm].items()}
                       for arm in means.index.get_level_values(0).unique()},
    }
    tmp = out_dir / ".summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, out_dir / "summary.json")
    return summary
