"""`python -m feedsim.experiment experiment=<preset> [overrides]`: run an A/B test, print its table.

A Hydra app over the same configs as `python -m feedsim`, so `hydra.run.dir=...`, `-m` sweeps
and every override work as usual; `experiment=x` is accepted for `+experiment=x`. The plan
(every arm composed and validated) is built before anything is written: a bad preset, an unknown
arm override key, identical arms outside an A/A test or fewer than two arms end with one line on
stderr, exit status 2 and no run directory. The run directory receives:

  results.parquet / results.md   per-metric effects (control, treatment, effects, CIs, p-values)
  metrics.parquet                daily platform metrics per arm (day, arm, metric, value)
  per_user.parquet               the per-user outcome table the statistics were computed on
  summary.json, config.yaml, run.log (and impression logs unless loop.write_impressions=false)
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import hydra
import pandas as pd
import pyarrow as pa
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from feedsim.experiment.ab import ExperimentResult, run_plan
from feedsim.experiment.config import (CONFIG_DIR, ExperimentError, ExperimentPlan, build_plan,
                                       use_experiment_schema)
from feedsim.experiment.stats import compare_arms, markdown
from feedsim.logs.store import atomic_write_table
from feedsim.rng import Streams

log = logging.getLogger("feedsim")
MARKERS = ("results.parquet", "summary.json", "metrics.parquet")
SHOWN = ["metric", "control", "treatment", "abs_effect", "rel_effect", "ci_low", "ci_high",
         "p_value"]


def fail(message: str) -> None:
    print(f"feedsim.experiment: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    found = [m for m in MARKERS if (out_dir / m).exists()]
    if found and not overwrite:
        raise ExperimentError(f"{out_dir}: already holds a run ({', '.join(found)}); pass "
                              "overwrite=true or choose another hydra.run.dir")


def results_table(plan: ExperimentPlan, result: ExperimentResult) -> pd.DataFrame:
    spec = plan.spec
    return compare_arms(result.per_user, [name for name, _ in plan.arms], plan.control,
                        spec.design == "paired", spec.metrics or None, spec.bootstrap,
                        spec.alpha, Streams(plan.base.seed).numpy("experiment.bootstrap"))


def write_outputs(out_dir: Path, plan: ExperimentPlan, result: ExperimentResult,
                  table: pd.DataFrame) -> None:
    write = lambda frame, name: atomic_write_table(                      # noqa: E731
        pa.Table.from_pandas(frame, preserve_index=False), out_dir / name)
    write(table, "results.parquet")
    write(result.daily, "metrics.parquet")
    write(result.per_user, "per_user.parquet")
    (out_dir / "results.md").write_text(f"# {plan.spec.name or 'experiment'} "
                                        f"({plan.spec.design})\n\n{markdown(table)}\n")
    summary = {
        "experiment": plan.spec.name, "design": plan.spec.design, "seed": plan.base.seed,
        "arms": {name: list(o) for name, o in plan.spec.arms.items()}, "control": plan.control,
        "users": plan.base.world.n_users, "days": plan.base.loop.days,
        "wall_s": round(result.wall_s, 2),
        "significant": table.loc[table.p_value < plan.spec.alpha, "metric"].tolist(),
        "effects": {f"{r.treatment_arm}:{r.metric}": {k: float(getattr(r, k)) for k in SHOWN[1:]}
                    for r in table.itertuples()},
    }
    tmp = out_dir / ".summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, out_dir / "summary.json")


def _attach_log(out_dir: Path, dcfg: DictConfig) -> None:
    (out_dir / "config.yaml").write_text(OmegaConf.to_yaml(dcfg, resolve=True))
    handler = logging.FileHandler(out_dir / "run.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", "%H:%M:%S"))
    logging.getLogger().addHandler(handler)


def _discard_if_empty(out_dir: Path) -> None:
    try:
        out_dir.rmdir()
    except OSError:
        pass


def execute(plan: ExperimentPlan, out_dir: Path) -> pd.DataFrame:
    """Run the plan into `out_dir`, write every output, log the table; returns the table."""
    result = run_plan(plan, out_dir)
    table = results_table(plan, result)
    write_outputs(out_dir, plan, result, table)
    if plan.base.loop.report:
        from feedsim.report.html import safe_write_report          # teaching: report.html
        safe_write_report(out_dir)
    with pd.option_context("display.width", 160, "display.max_columns", 12,
                           "display.float_format", "{:,.4g}".format):
        log.info(f"{plan.spec.name} ({plan.spec.design}), {plan.base.world.n_users} users, "
                 f"{plan.base.loop.days} days, control={plan.control}\n"
                 + table[["treatment_arm"] + SHOWN].to_string(index=False))
    log.info(f"outputs: {out_dir}  (results.parquet, results.md, metrics.parquet, "
             "per_user.parquet, summary.json)")
    return table


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def app(dcfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        plan = build_plan(list(HydraConfig.get().overrides.task))
        check_out_dir(out_dir, plan.base.overwrite)
    except ExperimentError as exc:
        _discard_if_empty(out_dir)
        fail(str(exc))
    _attach_log(out_dir, dcfg)
    execute(plan, out_dir)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.argv[1:] = [("+" + a) if a.startswith("experiment=") else a for a in argv]
    if not any(a.startswith("-") for a in argv):          # single run: check before Hydra starts
        try:
            build_plan(argv)
        except ExperimentError as exc:
            fail(str(exc))
    use_experiment_schema()
    app()


if __name__ == "__main__":
    main()
