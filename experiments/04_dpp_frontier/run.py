"""Canonical experiment 4: the DPP diversity knob, the relevance/diversity frontier.

Sliding-window DPP re-ranking trades the value model's score (relevance) against topic
diversity through `rerank.dpp.theta` (1 = pure relevance, 0 = pure diversity; default 0.7).
Paired worlds (preset configs/experiment/dpp_theta.yaml), one arm per theta. Per arm, with
user-clustered CIs: page topic diversity (distinct main topics per fully viewed page / page
size), the mean fused value-model score of served videos (the relevance the re-ranker gave
up), and watch seconds per play and watch minutes per user (what users did). The frontier plot
puts diversity against score and against watch time, one point per theta.

    .venv/bin/python experiments/04_dpp_frontier/run.py [overrides]
    .venv/bin/python experiments/04_dpp_frontier/run.py --out experiments/04_dpp_frontier/default_world \
        world=default loop.days=7

`--out DIR` writes results.md and frontier.png into DIR instead of this folder (the canonical
tiny-world result stays as `make experiments` writes it).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from feedsim.experiment.canonical import (add_user_columns, cli_overrides, daily_means, effects,
                                          levels, per_user_sum, run_preset)
from feedsim.experiment.canonical_report import (effects_markdown, header, levels_markdown,
                                                 markdown_table, plt, save, verdict,
                                                 write_results)
from feedsim.experiment.paired import split_out

HERE = Path(__file__).resolve().parent
PRESET = "dpp_theta"
OVERRIDES: list[str] = []
COMMAND = "python experiments/04_dpp_frontier/run.py"
FRONTIER = {
    "page_topic_diversity": ("page_topics", "page_slots", 1.0),
    "mean_score": ("score_sum", "scored", 1.0),
    "watch_s_per_play": ("watch_s", "impressions", 1.0),
    "watch_min_per_user": ("watch_s", None, 1 / 60),
}


def page_columns(log: pd.DataFrame, sim) -> dict[str, np.ndarray]:
    """Per-user distinct topics and slots over fully viewed pages, and the score sum."""
    n, page_size = sim.world.users.n, sim.cfg.loop.page_size
    topic = sim.world.videos.topic[log.video_id.to_numpy(), 0]
    pages = pd.DataFrame({"request_id": log.request_id, "user": log.user_id, "topic": topic}) \
        .groupby("request_id").agg(user=("user", "first"), topics=("topic", "nunique"),
                                   slots=("topic", "size"))
    full = pages[pages.slots == page_size]
    score = log.score.to_numpy(np.float64)
    ok = np.isfinite(score)
    users = log.user_id.to_numpy()
    return {"page_topics": per_user_sum(full.user.to_numpy(), full.topics.to_numpy(float), n),
            "page_slots": per_user_sum(full.user.to_numpy(), full.slots.to_numpy(float), n),
            "score_sum": per_user_sum(users[ok], score[ok], n),
            "scored": per_user_sum(users[ok], None, n)}


def frontier_plot(lv: pd.DataFrame, path: Path) -> Path:
    """Diversity (x) against score and watch time (y), one point per arm, 95% CI bars."""
    wide = {m: lv[lv.metric == m].set_index("arm") for m in FRONTIER}
    x = wide["page_topic_diversity"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("mean_score", "watch_s_per_play")):
        y = wide[metric].loc[x.index]
        order = np.argsort(x.value.to_numpy())
        ax.plot(x.value.to_numpy()[order], y.value.to_numpy()[order], color="tab:gray", lw=0.8)
        ax.errorbar(x.value, y.value, xerr=[x.value - x.ci_low, x.ci_high - x.value],
                    yerr=[y.value - y.ci_low, y.ci_high - y.value], fmt="o", capsize=3)
        for arm in x.index:
            ax.annotate(arm, (x.value[arm], y.value[arm]), fontsize=8, xytext=(4, 4),
                        textcoords="offset points")
        ax.set_xlabel("page topic diversity (distinct topics / page size)")
        ax.set_ylabel(metric)
    fig.suptitle("DPP theta: relevance/diversity frontier (95% CIs clustered by user)",
                 fontsize=10)
    return save(fig, path)


def main(argv: list[str]) -> None:
    folder, argv = split_out(argv, HERE)
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    folder.mkdir(parents=True, exist_ok=True)                # only once there is a result
    add_user_columns(outcome, page_columns)
    lv = levels(outcome, list(FRONTIER), FRONTIER)
    table = effects(outcome, list(FRONTIER), FRONTIER)
    frontier_plot(lv, folder / "frontier.png")
    daily = daily_means(outcome, ["topic_diversity", "true_value", "user_topic_entropy"])
    command = COMMAND if folder == HERE else f"{COMMAND} --out {folder}"
    lines = header("Experiment 4: the DPP diversity knob", outcome, command)
    lines += ["## Each theta (value [95% CI], clustered by user)", "", levels_markdown(lv), "",
              "![frontier](frontier.png)", "",
              "## Effects against the default theta", "", effects_markdown(table), "",
              "## Platform daily metrics (mean over days, point estimates; true_value reads "
              "the hidden truth)", "", markdown_table(daily.reset_index()), "", "## Answer", ""]
    lines += verdict(table, "page_topic_diversity") + verdict(table, "mean_score") \
        + verdict(table, "watch_min_per_user")
    write_results(folder, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
