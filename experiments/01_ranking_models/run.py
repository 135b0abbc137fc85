"""Canonical experiment 1: single-task vs shared-bottom vs MMoE vs PLE, in the loop.

Each ranker serves the full For You feed (policy=fyp) in its own copy of the same seeded world
(paired worlds, preset configs/experiment/ranking_models.yaml), retrained every day on its own
logs. Online: user-level effects with user-clustered CIs against MMoE (the default) and the
creator Gini by bootstrap over users. Offline: each day's held-out AUC per task, which the
ranker reports after its daily fit (point estimates, mean over the days with a model).

    .venv/bin/python experiments/01_ranking_models/run.py [overrides, e.g. loop.days=2]
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from feedsim.experiment.canonical import (cli_overrides, effects, gini_effects, run_preset)
from feedsim.experiment.canonical_report import (effects_markdown, header, markdown_table,
                                                 plot_effects, verdict, write_results)

HERE = Path(__file__).resolve().parent
PRESET = "ranking_models"
OVERRIDES: list[str] = []
COMMAND = "python experiments/01_ranking_models/run.py"


def offline_table(daily: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """Mean over days of each offline AUC (XAUC for watch time) per arm. (arms x tasks)"""
    auc = daily[daily.metric.str.match(r"offline/[a-z_]+/(auc|xauc)$")]
    wide = auc.pivot_table(index="arm", columns="metric", values="value", aggfunc="mean")
    wide.columns = [c.removeprefix("offline/") for c in wide.columns]
    return wide.reindex(arms).reset_index()


def main(argv: list[str]) -> None:
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    table = pd.concat([effects(outcome), gini_effects(outcome)], ignore_index=True)
    plot_effects(table, HERE / "effects.png", "Rankers against MMoE (paired worlds)")
    offline = offline_table(outcome.result.daily, outcome.arms)
    lines = header("Experiment 1: single-task vs shared-bottom vs MMoE vs PLE", outcome, COMMAND)
    lines += ["## Online effects against MMoE (user-clustered 95% CIs)", "",
              effects_markdown(table), "", "![effects](effects.png)", "",
              "## Offline: held-out AUC per task (mean over days, point estimates)", "",
              markdown_table(offline) if len(offline.columns) > 1 else "(no offline metrics)",
              "", "## Answer", ""]
    lines += verdict(table, "watch_min_per_user") + verdict(table, "watch_s_per_play")
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
