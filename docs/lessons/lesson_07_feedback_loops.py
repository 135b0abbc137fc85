"""Lesson 7: feedback loops, exploration and cold start for new creators.

Run it: `.venv/bin/python docs/lessons/lesson_07_feedback_loops.py` (about 30 s, tiny world).
"""
# %% [markdown]
# A feed learns from what it showed. Videos it shows collect views, views become counters and
# training labels, and those decide what it shows tomorrow. That loop makes the popular more
# popular and leaves new videos (and new creators) with no data: the cold-start problem.
#
# We compare two baselines over the same world and seed: `popular` (rank by recent views, the
# purest feedback loop) and `random` (no loop at all, pure exploration), and watch how
# exposure concentrates, how much of the catalogue is ever shown, and how fresh uploads and
# small creators fare. The sandbox's `true_value` says what each costs the users.

# %%
import pandas as pd

from feedsim.report.lessons import logged_world

DAYS = 4
frames = []
for policy in ("popular", "random"):
    _, sim = logged_world(policy, DAYS)
    frames.append(sim.metrics_frame().assign(policy=policy))
metrics = pd.concat(frames)
SHOW = ["creator_gini", "creator_top1pct_share", "coverage", "fresh_video_share",
        "small_creator_share", "novelty", "true_value", "watch_s_per_dau"]
table = metrics[metrics.metric.isin(SHOW)].pivot_table(index=["metric", "day"],
                                                         columns="policy", values="value")
print(table.round(3).to_string())

# %% [markdown]
# Under `popular`, exposure concentrates (higher Gini, a larger top-1 % share), coverage and
# novelty stay low and fresh uploads get little of the traffic, because a new video has no
# views to be ranked by. `random` spreads exposure evenly and gives every new video a chance,
# but shows users things they do not care about, and its true value is low.
#
# Real feeds sit between the two: the For You policy explores on purpose — an epsilon slot,
# Thompson sampling, traffic pools that give each new video a small test audience and promote
# it if it performs — so that the loop keeps learning about new creators. Try it:
# `python -m feedsim world=tiny loop.days=4 rerank=default` and compare `fresh_video_share`.

# %%
final = metrics[metrics.day == DAYS - 1].pivot_table(index="metric", columns="policy",
                                                      values="value")
assert final.loc["coverage", "random"] > final.loc["coverage", "popular"]
print(final.loc[SHOW].round(3).to_string())
