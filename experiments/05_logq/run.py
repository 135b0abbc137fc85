"""Canonical experiment 5: logQ correction on and off in two-tower retrieval, in the loop.

In-batch softmax samples negatives in proportion to popularity, so without the logQ
correction the two-tower learns to push popular videos down. Paired worlds (preset
configs/experiment/logq.yaml): each arm serves the full feed with its own retrieval. Outcomes:
user-level effects, and the popularity of what the two-tower source put on pages: the mean
log(1 + impressions of the video over the whole experiment, both arms pooled) per two-tower
impression, a ratio of per-user totals with a user-clustered CI. This experiment also measures
the paired design's variance reduction: the same data analysed as if the arms had independent
users (what a user split of the same size would face).

    .venv/bin/python experiments/05_logq/run.py [overrides]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from feedsim.experiment.canonical import (USER_METRICS, add_user_columns, cli_overrides,
                                          effects, per_user_sum, run_preset)
from feedsim.experiment.canonical_report import (effects_markdown, header, markdown_table,
                                                 plot_effects, verdict, write_results)
from feedsim.experiment.stats import compare

HERE = Path(__file__).resolve().parent
PRESET = "logq"
OVERRIDES: list[str] = []
COMMAND = "python experiments/05_logq/run.py"
POPULARITY = {
    "two_tower_log_pop": ("tt_log_pop", "tt_impressions", 1.0),
    "two_tower_share": ("tt_impressions", "impressions", 1.0),
    "served_log_pop": ("log_pop", "impressions", 1.0),
}


def popularity_columns(outcome):
    """Per-user sums of log-popularity over served and two-tower impressions (pooled counts)."""
    n_videos = max(outcome.sim(a).world.videos.n for a in outcome.arms)
    pooled = sum(np.bincount(outcome.log(a).video_id, minlength=n_videos) for a in outcome.arms)
    log_pop = np.log1p(pooled)                                               # (V,)

    def columns(log: pd.DataFrame, sim) -> dict[str, np.ndarray]:
        n, users = sim.world.users.n, log.user_id.to_numpy()
        pop = log_pop[log.video_id.to_numpy()]                               # (N,)
        tt = (log.source == "two_tower").to_numpy()
        return {"log_pop": per_user_sum(users, pop, n),
                "tt_log_pop": per_user_sum(users[tt], pop[tt], n),
                "tt_impressions": per_user_sum(users[tt], None, n)}
    return columns


def pairing_gain(outcome, metrics: list[str]) -> pd.DataFrame:
    """CI width paired vs the same data analysed as independent users, per metric."""
    per_user, (c, t) = outcome.result.per_user, outcome.arms[:2]
    paired = compare(per_user, c, t, True, metrics, 200)
    unpaired = compare(per_user, c, t, False, metrics, 200)
    ratio = paired.se.to_numpy() / unpaired.se.to_numpy()
    return pd.DataFrame({"metric": metrics, "se_paired": paired.se, "se_unpaired": unpaired.se,
                         "ci_width_ratio": ratio, "users_needed_ratio": ratio ** 2})


def main(argv: list[str]) -> None:
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    add_user_columns(outcome, popularity_columns(outcome))
    table = pd.concat([effects(outcome),
                       effects(outcome, list(POPULARITY), POPULARITY)], ignore_index=True)
    plot_effects(table, HERE / "effects.png", "logQ off against logQ on (paired worlds)")
    gain = pairing_gain(outcome, USER_METRICS)
    lines = header("Experiment 5: logQ correction on and off in two-tower retrieval", outcome,
                   COMMAND)
    lines += ["## Effects of switching logQ off (user-clustered 95% CIs)", "",
              effects_markdown(table), "", "![effects](effects.png)", "",
              "`two_tower_log_pop`: mean log(1 + pooled impressions) of the videos the two-tower "
              "source placed on pages; `two_tower_share`: its share of impressions.", "",
              "## Answer", ""]
    lines += verdict(table, "two_tower_log_pop") + verdict(table, "watch_min_per_user")
    lines += ["", "## Variance reduction of the paired design", "",
              "Standard errors of the same effects, paired (within user) and analysed as if the "
              "arms had independent users; `users_needed_ratio` = (width ratio)^2 is the share of "
              "users the paired design needs for the same CI width.", "",
              markdown_table(gain)]
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
