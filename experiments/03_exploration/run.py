"""Canonical experiment 3: exploration on and off against new-creator success.

Exploration in re-ranking (traffic pools for new videos, Thompson sampling, epsilon-fresh
slots) against the same feed without it (rerank=dpp keeps diversity and the page rules).
Paired worlds (preset configs/experiment/exploration.yaml). Outcomes with user-clustered CIs:
the share of impressions on small creators (under 100 followers at day 0), on fresh videos
(uploaded yesterday or today) and on videos uploaded during the run; with bootstrap CIs over
users: the share of videos uploaded during the run that reached MIN_VIEWS views within one day
of upload (the tiny world has no video with 1 k views, so the threshold is scaled down), and
their mean views in that first day. Watch time shows what exploration costs.

    .venv/bin/python experiments/03_exploration/run.py [overrides]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from feedsim.experiment.canonical import (add_user_columns, boot_effects, cli_overrides,
                                          daily_means, effects, per_user_sum, run_preset)
from feedsim.experiment.canonical_report import (effects_markdown, header, markdown_table,
                                                 plot_effects, verdict, write_results)
from feedsim.metrics.ecosystem import SMALL_CREATOR

HERE = Path(__file__).resolve().parent
PRESET = "exploration"
OVERRIDES: list[str] = []
COMMAND = "python experiments/03_exploration/run.py"
MIN_VIEWS = 10
SHARES = {
    "small_creator_share": ("small_imps", "impressions", 1.0),
    "fresh_video_share": ("fresh_imps", "impressions", 1.0),
    "new_video_share": ("new_imps", "impressions", 1.0),
    "watch_min_per_user": ("watch_s", None, 1 / 60),
}


def exposure_columns(log: pd.DataFrame, sim) -> dict[str, np.ndarray]:
    """Per-user impressions on small creators, fresh videos and videos uploaded in the run."""
    n, users = sim.world.users.n, log.user_id.to_numpy()
    video, day = log.video_id.to_numpy(), log.day.to_numpy()
    small = sim.initial_followers[sim.world.videos.creator[video]] < SMALL_CREATOR
    fresh = sim.world.videos.upload_day[video] >= day - 1
    new = video >= sim.cfg.world.n_videos
    return {"small_imps": per_user_sum(users[small], None, n),
            "fresh_imps": per_user_sum(users[fresh], None, n),
            "new_imps": per_user_sum(users[new], None, n)}


def first_day_views(outcome, arm: str):
    """Views of each video uploaded during the run (before the last day) within one day of
    upload, per user. scipy sparse (U, V_new)"""
    sim, log = outcome.sim(arm), outcome.log(arm)
    upload = sim.world.videos.upload_day
    last_day = int(log.day.max())
    new = np.flatnonzero((np.arange(upload.size) >= sim.cfg.world.n_videos)
                         & (upload < last_day))
    col = np.full(upload.size, -1)
    col[new] = np.arange(new.size)
    video, day = log.video_id.to_numpy(), log.day.to_numpy()
    keep = (col[video] >= 0) & (day - upload[video] <= 1)
    ones = np.ones(int(keep.sum()))
    return sparse.csr_matrix((ones, (log.user_id.to_numpy()[keep], col[video[keep]])),
                             shape=(sim.world.users.n, new.size))


def reached(views: np.ndarray) -> np.ndarray:
    """Share of columns with at least MIN_VIEWS; NaN without columns. (B, V) -> (B,)"""
    return first_day_mean(views >= MIN_VIEWS)


def first_day_mean(views: np.ndarray) -> np.ndarray:
    """Mean of each row; NaN without columns (a run too short to have new videos). (B,)"""
    return views.mean(1) if views.shape[1] else np.full(views.shape[0], np.nan)


def main(argv: list[str]) -> None:
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    add_user_columns(outcome, exposure_columns)
    table = pd.concat([
        effects(outcome, list(SHARES), SHARES),
        boot_effects(outcome, f"new_videos_with_{MIN_VIEWS}_views_day1", first_day_views,
                     reached),
        boot_effects(outcome, "new_video_views_day1", first_day_views, first_day_mean),
    ], ignore_index=True)
    plot_effects(table, HERE / "effects.png", "No exploration against exploration (paired)")
    daily_names = [m for m in outcome.result.daily.metric.unique()
                   if m in ("small_creator_share", "fresh_video_share", "coverage")
                   or "time_to" in m]
    lines = header("Experiment 3: exploration on and off against new-creator success", outcome,
                   COMMAND)
    lines += ["## Effects of switching exploration off (95% CIs)", "", effects_markdown(table),
              "", "![effects](effects.png)", "",
              f"`new_videos_with_{MIN_VIEWS}_views_day1`: share of videos uploaded during the run "
              f"(before its last day) with at least {MIN_VIEWS} views on their upload day and the "
              "next; CI by bootstrap over users.", "",
              "## Platform daily metrics (mean over days, point estimates)", "",
              markdown_table(daily_means(outcome, daily_names).reset_index()), "",
              "## Answer", ""]
    for metric in ("small_creator_share", "new_video_share",
                   f"new_videos_with_{MIN_VIEWS}_views_day1", "watch_min_per_user"):
        lines += verdict(table, metric)
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
