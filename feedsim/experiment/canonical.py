"""The canonical experiments (issue 6): run a preset, keep its logs, compare arms, write results.

Every `experiments/NN_*/run.py` is a short script over this module. It runs an A/B preset from
`configs/experiment/` through the ordinary machinery (`build_plan`, `run_plan`: user split or
paired worlds), keeping each day's impression log and the simulation (`Outcome`), derives the
per-user columns its question needs (`add_user_columns`), and compares arms with user-clustered
delta-method CIs and p-values (`effects`, `levels`) or, for statistics that are not ratios of
per-user totals such as the creator Gini, a bootstrap over users (`boot_effects`). Tables, plots
and `results.md` are written by `canonical_report`. Nothing in a README's result is typed in:
`make experiments` (experiments/run_all.py) regenerates it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from feedsim.config.compose import load_config
from feedsim.config.schema import Config
from feedsim.config.validate import ConfigError, validate_config
from feedsim.experiment.ab import ExperimentResult, run_plan
from feedsim.experiment.config import ExperimentError, ExperimentPlan, build_plan, one_line
from feedsim.experiment.stats import compare_arms, metric_arrays, ratio_influence
from feedsim.loop import Simulation
from feedsim.loop.day import DayResult
from feedsim.rng import Streams

USER_METRICS = ["watch_min_per_user", "active_days_per_user", "last_day_active",
                "watch_s_per_play", "like_rate", "share_rate"]
LOG_COLUMNS = ("day", "request_id", "user_id", "video_id", "position", "watch_s", "duration_s",
               "like", "comment", "share", "follow", "hate", "arm", "source", "score")


@dataclass
class Outcome:
    """One experiment run: the plan, the per-user table, and every arm's logs and simulation."""
    plan: ExperimentPlan
    result: ExperimentResult
    logs: dict[str, list[pd.DataFrame]] = field(default_factory=dict)   # label -> daily frames
    sims: dict[str, Simulation] = field(default_factory=dict)           # label -> simulation
    overrides: list[str] = field(default_factory=list)                  # beyond the preset

    @property
    def arms(self) -> list[str]:
        return [name for name, _ in self.plan.arms]

    @property
    def paired(self) -> bool:
        return self.plan.spec.design == "paired"

    def label(self, arm: str) -> str:
        return arm if self.paired else "user_split"

    def sim(self, arm: str) -> Simulation:
        return self.sims[self.label(arm)]

    def log(self, arm: str) -> pd.DataFrame:
        """Every impression served by `arm` over the run (arm and source as names)."""
        frame = pd.concat(self.logs[self.label(arm)], ignore_index=True)
        return frame if self.paired else frame[frame.arm == arm].reset_index(drop=True)

    def on_day(self, label: str, sim: Simulation, result: DayResult) -> None:
        """The OnDay hook of feedsim.experiment.ab: keep the day's log and the simulation."""
        log = result.log
        frame = pd.DataFrame({c: getattr(log, c) for c in LOG_COLUMNS})
        frame["arm"] = np.asarray(sim.arm_names, dtype=object)[frame.arm.to_numpy()]
        if self.paired:
            frame["arm"] = label
        frame["source"] = np.asarray(sim.source_names, dtype=object)[frame.source.to_numpy()]
        self.logs.setdefault(label, []).append(frame)
        self.sims[label] = sim


def run_preset(preset: str, overrides: list[str] | tuple[str, ...] = ()) -> Outcome:
    """Compose and run an experiment preset, keeping logs and simulations (nothing written)."""
    if not logging.getLogger().handlers:                  # a run.py: show each simulated day
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s",
                            datefmt="%H:%M:%S")
    try:
        plan = build_plan([f"experiment={preset}", *overrides])
    except ExperimentError as exc:                        # one line, nothing written
        raise SystemExit(f"run.py: error: {exc}") from None
    outcome = Outcome(plan, None, overrides=list(overrides))    # type: ignore[arg-type]
    start = time.perf_counter()
    outcome.result = run_plan(plan, None, outcome.on_day)
    outcome.result.wall_s = time.perf_counter() - start
    return outcome


def add_user_columns(outcome: Outcome, columns) -> None:
    """Add per-user columns to the outcome's per-user table.

    `columns(log, sim) -> {name: (U,) array}` is called once per arm with that arm's log."""
    per_user = outcome.result.per_user
    for arm in outcome.arms:
        rows = per_user.arm == arm
        users = per_user.loc[rows, "user_id"].to_numpy()
        for name, values in columns(outcome.log(arm), outcome.sim(arm)).items():
            if name not in per_user:
                per_user[name] = 0.0
            per_user.loc[rows, name] = np.asarray(values, dtype=np.float64)[users]


def per_user_sum(users: np.ndarray, values: np.ndarray | None, n_users: int) -> np.ndarray:
    """Sum of `values` (or counts) per user. (U,)"""
    return np.bincount(users.astype(np.int64), values, minlength=n_users).astype(np.float64)


def _rng(outcome: Outcome, name: str) -> np.random.Generator:
    return Streams(outcome.plan.base.seed).numpy(f"experiment.canonical.{name}")


def effects(outcome: Outcome, metrics: list[str] | None = None, definitions: dict | None = None,
            users: np.ndarray | None = None, n_boot: int = 400) -> pd.DataFrame:
    """Every treatment arm against the control on per-user ratio metrics (delta and bootstrap
    CIs clustered by user, p-values). `users`: restrict to these user ids (a segment)."""
    per_user = outcome.result.per_user
    if users is not None:
        per_user = per_user[per_user.user_id.isin(users)]
    return compare_arms(per_user, outcome.arms, outcome.plan.control, outcome.paired,
                        metrics or (None if definitions else USER_METRICS), n_boot,
                        outcome.plan.spec.alpha, _rng(outcome, "bootstrap"), definitions)


def levels(outcome: Outcome, metrics: list[str], definitions: dict | None = None,
           users: np.ndarray | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Each arm's value of each ratio metric with its delta-method CI (clustered by user).
    `users`: restrict to these user ids (a segment)."""
    z = float(ndtri(1 - alpha / 2))
    rows = []
    per_user = outcome.result.per_user
    if users is not None:
        per_user = per_user[per_user.user_id.isin(users)]
    for arm in outcome.arms:
        y, x = metric_arrays(per_user[per_user.arm == arm], metrics, definitions)
        value, psi = ratio_influence(y, x)                         # (M,), (n, M)
        se = psi.std(0, ddof=1) / np.sqrt(psi.shape[0])
        rows += [{"arm": arm, "metric": m, "value": v, "ci_low": v - z * s, "ci_high": v + z * s}
                 for m, v, s in zip(metrics, value, se)]
    return pd.DataFrame(rows)


def gini_rows(counts: np.ndarray) -> np.ndarray:
    """Gini coefficient of each row of non-negative counts. (B, C) -> (B,)"""
    x = np.sort(counts, axis=1)
    n = x.shape[1]
    total = x.sum(1)
    rank = np.arange(1, n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (2 * (x * rank).sum(1) / (n * total)) - (n + 1) / n


def creator_exposure(outcome: Outcome, arm: str) -> np.ndarray:
    """Impressions per (user, creator active at the end of the run). (U, C_active)"""
    sim, log = outcome.sim(arm), outcome.log(arm)
    creators = sim.world.videos.creator[log.video_id.to_numpy()]
    active = np.flatnonzero(sim.world.creators.active)
    cols = np.searchsorted(active, creators)
    keep = (cols < active.size) & (active[np.minimum(cols, active.size - 1)] == creators)
    out = np.zeros((sim.world.users.n, active.size))
    np.add.at(out, (log.user_id.to_numpy()[keep], cols[keep]), 1.0)
    return out


def boot_effects(outcome: Outcome, metric: str, matrix, statistic, n_boot: int = 400,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Effects on a statistic of per-user contributions, bootstrap CI over users.

    `matrix(outcome, arm) -> (U, K)` per-user contributions (dense or scipy sparse);
    `statistic((B, K)) -> (B,)` of the user-weighted column sums (the creator Gini, the share
    of new videos with enough views). Poisson user weights, the same in both worlds of a
    paired design; the p-value is twice the smaller tail mass at zero."""
    rng = _rng(outcome, metric)
    control = outcome.plan.control
    mats = {arm: matrix(outcome, arm) for arm in outcome.arms}
    n_users = mats[control].shape[0]
    ones = np.ones((1, n_users))

    def stat(w: np.ndarray, mat) -> np.ndarray:
        return statistic(np.asarray((mat.T @ w.T).T))                     # (B, K) -> (B,)
    w_c = rng.poisson(1.0, (n_boot, n_users)).astype(np.float64)          # (B, U)
    draws_c, point_c = stat(w_c, mats[control]), stat(ones, mats[control])[0]
    rows = []
    for arm in outcome.arms:
        if arm == control:
            continue
        w_t = w_c if outcome.paired else rng.poisson(1.0, (n_boot, n_users)).astype(np.float64)
        point_t = stat(ones, mats[arm])[0]
        draws = stat(w_t, mats[arm]) - draws_c                               # (B,)
        lo, hi = np.nanpercentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)]) \
            if np.isfinite(draws).any() else (np.nan, np.nan)
        p = min(1.0, max(2 * min((draws <= 0).mean(), (draws >= 0).mean()), 1 / n_boot)) \
            if np.isfinite(draws).any() else np.nan              # nothing to measure
        rows.append({"metric": metric, "control_arm": control, "treatment_arm": arm,
                     "control": point_c, "treatment": point_t, "abs_effect": point_t - point_c,
                     "rel_effect": point_t / point_c - 1, "ci_low": lo, "ci_high": hi,
                     "p_value": p})
    return pd.DataFrame(rows)


def gini_effects(outcome: Outcome, n_boot: int = 400) -> pd.DataFrame:
    """Creator exposure Gini (run-total impressions over creators active at the end) of each
    arm against the control, bootstrap CI over users."""
    return boot_effects(outcome, "creator_gini", creator_exposure, gini_rows, n_boot)


def daily_means(outcome: Outcome, metrics: list[str]) -> pd.DataFrame:
    """Mean over days of platform daily metrics per arm (point estimates). (arms x metrics)"""
    daily = outcome.result.daily
    daily = daily[daily.metric.isin(metrics)]
    return daily.pivot_table(index="arm", columns="metric", values="value",
                             aggfunc="mean").reindex(outcome.arms)


def cli_overrides(argv: list[str]) -> list[str]:
    """Extra Hydra overrides from a run.py command line (`loop.days=2 world=small`)."""
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise SystemExit(f"run.py: error: expected key=value overrides, got {bad[0]!r}")
    return list(argv)


def load_run_config(overrides: list[str]) -> Config:
    """The validated Config of an observational run.py; a bad override exits with one line."""
    try:
        cfg = load_config(overrides)
        validate_config(cfg)
        return cfg
    except (HydraException, OmegaConfBaseException, ConfigError, ValueError) as exc:
        raise SystemExit(f"run.py: error: {one_line(exc)}") from None
