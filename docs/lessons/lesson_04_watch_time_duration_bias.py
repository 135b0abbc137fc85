"""Lesson 4: watch time and duration bias.

Run it: `.venv/bin/python docs/lessons/lesson_04_watch_time_duration_bias.py` (about 40 s, tiny
world: it trains the ranker twice).
"""
# %% [markdown]
# Watch time is the strongest signal a short-video feed has: nobody has to tap anything, every
# impression yields a number. But seconds are *duration-biased*. A 60 s video that holds a
# viewer for 20 s (a third of it) logs more seconds than a 9 s video watched twice over. A
# model trained to predict seconds learns "long videos get long watches" and ranks by length.
#
# The ranker's watch head has three targets (`ranking.watch_target`, `feedsim/ranking/tasks.py`):
#
# - `regression`: squared error on seconds, which predicts expected seconds (biased);
# - `weighted_logistic`: YouTube's weighted logistic regression, also in seconds;
# - `d2q` (default): duration-debiased quantiles (D2Q, Zhan et al. 2022): the target is the
#   watch time's quantile *among videos of similar duration*, so the head ranks interest.
#
# We train the same multi-task ranker twice on the same logs, once with `regression` and once
# with `d2q`, rank 150 candidates per user by the watch head alone, and judge the top six
# with the ground truth.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from feedsim.ranking.ranker import Ranker
from feedsim.report.lessons import candidate_matrix, logged_world

DAYS, USERS, CANDIDATES, PAGE = 3, 120, 150, 6
cfg, sim = logged_world("popular", DAYS)
log = sim.ctx.training_log(DAYS)
users, cands = candidate_matrix(sim, USERS, CANDIDATES, np.random.default_rng(7))
duration = sim.world.videos.duration_s[cands]                                 # (B, C)
truth = sim.behavior.truth(users, cands)                                      # (B, C) each
print(f"{len(log.watch_s):,} logged impressions; candidate durations "
      f"{np.percentile(duration, 10):.0f}-{np.percentile(duration, 90):.0f} s (10-90 %)")


# %%
def watch_head(target):
    """The watch head's prediction (B, C) of a ranker trained with this watch target."""
    ranking = copy.deepcopy(cfg.ranking)
    ranking.watch_target = target
    ranker = Ranker(ranking, sim.ctx.view, "cpu", seed=1)
    ranker.fit(log, sim.ctx.counters.daily_decay)
    return ranker.score(users, cands, np.full(USERS, 20, np.int8), np.zeros(USERS, np.int32),
                        sim.world.day, sim.ctx.counters.recent).preds["watch"]


def judge(score, pred=None):
    cols = np.argsort(-score, axis=1)[:, :PAGE]                               # (B, PAGE)
    take = lambda a: float(np.take_along_axis(a, cols, axis=1).mean())       # noqa: E731
    return {"corr(prediction, log duration)": np.nan if pred is None else
            float(np.corrcoef(np.log(duration).ravel(), pred.ravel())[0, 1]),
            "page duration s": take(duration), "true watch s": take(truth.watch_s),
            "true watch ratio": take(truth.watch_s / duration),
            "true value": take(truth.value)}


preds = {target: watch_head(target) for target in ("regression", "d2q")}
rows = {f"watch head: {t}": judge(p, p) for t, p in preds.items()}
rows["oracle (true value)"] = judge(truth.value)
rows["random"] = judge(np.random.default_rng(0).random(cands.shape))
table = pd.DataFrame(rows).T
print(table.round(3).to_string())

# %% [markdown]
# The regression head's prediction follows duration closely (see the correlation column), so
# its page is made of long videos: many true seconds, but each video watched only partly (a
# low watch ratio). The D2Q head barely knows duration; its page is shorter, watched further
# through (often looped), and its seconds are fewer. Which one is "right" is not a modelling
# question: a feed that maximises seconds drifts to long videos whether or not users like
# them more, and creators learn to make them longer. D2Q is the usual correction; the value
# model (lesson 5) then decides how much seconds should count.
#
# The scatter shows the bias directly: predicted watch against duration for each target.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3), layout="constrained", sharex=True)
sample = np.random.default_rng(1).choice(duration.size, 3000, replace=False)
for ax, (target, pred) in zip(axes, preds.items()):
    ax.scatter(duration.ravel()[sample], pred.ravel()[sample], s=3, alpha=0.4)
    ax.set(xscale="log", xlabel="duration s (log)", ylabel="predicted watch",
           title=f"watch head: {target}")

# %%
reg, d2q = table.loc["watch head: regression"], table.loc["watch head: d2q"]
assert reg["corr(prediction, log duration)"] > d2q["corr(prediction, log duration)"] + 0.2
assert reg["page duration s"] > 1.3 * d2q["page duration s"]
assert d2q["true watch ratio"] > reg["true watch ratio"]
print("finding holds: seconds-regression ranks by length; D2Q ranks by relative interest")
