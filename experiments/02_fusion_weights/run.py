"""Canonical experiment 2: the value model's weights on shares and watch time.

The fused score is sum_k w_k p_k over the ranker's predictions (feedsim/ranking/fusion.py); the
weights are product policy. Paired worlds (preset configs/experiment/fusion_weights.yaml): the
default weights against share weight 24 (default 6) and watch weight 4 (default 1).
Outcomes: watch time, retention (active days per user, share of users active on the last day,
and the platform's daily D1 retention as a point estimate), the share rate, and the creator
exposure Gini with a bootstrap CI over users.

    .venv/bin/python experiments/02_fusion_weights/run.py [overrides]
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from feedsim.experiment.canonical import (cli_overrides, daily_means, effects, gini_effects,
                                          run_preset)
from feedsim.experiment.canonical_report import (effects_markdown, header, markdown_table,
                                                 plot_effects, verdict, write_results)

HERE = Path(__file__).resolve().parent
PRESET = "fusion_weights"
OVERRIDES: list[str] = []
COMMAND = "python experiments/02_fusion_weights/run.py"
METRICS = ["watch_min_per_user", "active_days_per_user", "last_day_active", "watch_s_per_play",
           "share_rate", "like_rate"]
DAILY = ["d1_retention", "creator_gini", "share_rate", "watch_s_per_dau", "true_value"]


def main(argv: list[str]) -> None:
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    table = pd.concat([effects(outcome, METRICS), gini_effects(outcome)], ignore_index=True)
    plot_effects(table, HERE / "effects.png", "Fusion weights against the default (paired)")
    daily = daily_means(outcome, DAILY).reset_index()
    lines = header("Experiment 2: share and watch-time weights in the value model", outcome,
                   COMMAND)
    lines += ["## Effects against the default weights (95% CIs clustered by user)", "",
              effects_markdown(table), "", "![effects](effects.png)", "",
              "`creator_gini`: Gini of run-total impressions over creators active at the end; "
              "CI and p from a bootstrap over users.", "",
              "## Platform daily metrics (mean over days, point estimates)", "",
              markdown_table(daily), "", "## Answer", ""]
    for metric in ("share_rate", "watch_min_per_user", "active_days_per_user", "creator_gini"):
        lines += verdict(table, metric)
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
