"""Canonical experiment 7: daily against streaming training, on trend capture.

The daily ranker is refitted once a day on yesterday's logs; with `ranking.streaming.enabled`
it also takes small updates from the newest impressions within the day (Monolith-style,
feedsim/ranking/streaming.py). Trends are born during the day, so intra-day updates should
catch them earlier. Paired worlds (preset configs/experiment/streaming_training.yaml). Outcomes
with user-clustered CIs: the share of impressions on a trending sound or hashtag (trend strength
from the world's trend curves at mid-day, the threshold of the platform's trend_capture
metric) and user-level effects; the platform's daily trend metrics as point estimates.

Needs the `ranking.streaming` config key; without it this writes a results.md saying so.

    .venv/bin/python experiments/07_streaming_training/run.py [overrides]
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from feedsim.experiment.canonical import (add_user_columns, cli_overrides, daily_means, effects,
                                          per_user_sum, run_preset)
from feedsim.experiment.canonical_report import (effects_markdown, header, markdown_table,
                                                 plot_effects, verdict, write_results)
from feedsim.metrics.ecosystem import TRENDING
from feedsim.ranking.config import RankingConfig

HERE = Path(__file__).resolve().parent
PRESET = "streaming_training"
OVERRIDES: list[str] = []
COMMAND = "python experiments/07_streaming_training/run.py"
TREND = {
    "trend_share": ("trend_imps", "impressions", 1.0),
    "watch_min_per_user": ("watch_s", None, 1 / 60),
    "watch_s_per_play": ("watch_s", "impressions", 1.0),
    "like_rate": ("like", "impressions", 1.0),
    "active_days_per_user": ("active_days", None, 1.0),
}


def streaming_available() -> bool:
    return "streaming" in {f.name for f in dataclasses.fields(RankingConfig)}


def trending_flags(sim, video: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Was each impression's sound or main hashtag trending at mid-day of its day? (N,) bool"""
    trends, videos = sim.world.trends, sim.world.videos
    out = np.zeros(video.shape[0], dtype=bool)
    for d in np.unique(day):                               # days, not impressions
        strength = trends.strength_on(float(d) + 0.5)                       # (R,)
        sound = trends.kind == 0
        s_strength = np.bincount(trends.target[sound], strength[sound],
                                 minlength=sim.cfg.world.n_sounds)
        t_strength = np.bincount(trends.target[~sound], strength[~sound],
                                 minlength=sim.cfg.world.n_topics)
        rows = day == d
        v = video[rows]
        out[rows] = (s_strength[videos.sound[v]] >= TRENDING) | \
            (t_strength[videos.topic[v, 0]] >= TRENDING)
    return out


def trend_columns(log: pd.DataFrame, sim) -> dict[str, np.ndarray]:
    flags = trending_flags(sim, log.video_id.to_numpy(), log.day.to_numpy())
    return {"trend_imps": per_user_sum(log.user_id.to_numpy()[flags], None, sim.world.users.n)}


def main(argv: list[str]) -> None:
    if not streaming_available():
        write_results(HERE, ["# Experiment 7: daily against streaming training", "",
                             "Not run: this checkout has no `ranking.streaming` config key yet. "
                             f"`{COMMAND}` runs it as soon as the key exists."])
        print("experiment 7 skipped: no ranking.streaming key")
        return
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    add_user_columns(outcome, trend_columns)
    table = effects(outcome, list(TREND), TREND)
    plot_effects(table, HERE / "effects.png", "Streaming against daily training (paired)")
    names = [m for m in outcome.result.daily.metric.unique() if "trend" in m or "stream" in m]
    lines = header("Experiment 7: daily against streaming training on trend capture", outcome,
                   COMMAND)
    lines += ["## Effects of streaming updates (user-clustered 95% CIs)", "",
              effects_markdown(table), "", "![effects](effects.png)", "",
              "## Platform daily metrics on trends and streaming (mean over days, point "
              "estimates)", "", markdown_table(daily_means(outcome, names).reset_index()), "",
              "## Answer", ""]
    lines += verdict(table, "trend_share") + verdict(table, "watch_min_per_user")
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
