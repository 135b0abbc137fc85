"""Lesson 5: fusion weights are product policy.

Run it: `.venv/bin/python docs/lessons/lesson_05_fusion_weights.py` (about 30 s, tiny world).
"""
# %% [markdown]
# The multi-task ranker says *what will probably happen*; the value model decides *what we
# want to happen*. In the linear form the rank score is sum_k w_k * p_k, and the weights w_k
# are not learned: somebody chooses them. Raise the share weight and the feed leans towards
# shareable videos; raise watch and it leans towards time spent. That choice is product policy.
#
# Below, one trained ranker scores one candidate set, and only the weight of one task changes.
# The sandbox's ground truth then tells us what each choice does to users.

# %%
import numpy as np
import pandas as pd

from feedsim.ranking.fusion import Fusion
from feedsim.ranking.ranker import Ranker
from feedsim.report.lessons import candidate_matrix, logged_world

cfg, sim = logged_world("popular", 3)
ranker = Ranker(cfg.ranking, sim.ctx.view, "cpu", seed=1)
ranker.fit(sim.ctx.training_log(3), sim.ctx.counters.daily_decay)
rng = np.random.default_rng(11)
users, cands = candidate_matrix(sim, 120, 150, rng)
preds = ranker.score(users, cands, np.full(users.size, 20, np.int8), np.zeros(users.size, np.int32),
                     sim.world.day, sim.ctx.counters.recent).preds
truth = sim.behavior.truth(users, cands)
print("default weights:", dict(cfg.ranking.fusion.weights))

# %%
def outcome(weights):
    """True outcomes of the top-6 page under a value model with these weights."""
    fusion = Fusion(type(cfg.ranking.fusion)(weights=weights), list(preds))
    cols = np.argsort(-fusion(preds)[0], axis=1)[:, :6]
    take = lambda a: float(np.take_along_axis(a, cols, axis=1).mean())   # noqa: E731
    return {"true watch s": take(truth.watch_s), "true like": take(truth.like),
            "true share": take(truth.share), "true value": take(truth.value)}


rows = []
for task in ("share", "like", "watch"):
    for w in (0.0, 10.0, 100.0, 1000.0):
        weights = dict(cfg.ranking.fusion.weights) | {task: w}
        rows.append({"task": task, "weight": w, **outcome(weights)})
table = pd.DataFrame(rows)
print(table.round(4).to_string(index=False))

# %% [markdown]
# Read each block: as one task's weight grows, the page tilts towards that task's outcome and,
# past some point, away from the others (and often from total value). There is no weight
# setting that is best on every column at once; choosing one is deciding what the platform
# optimises for. Online, the same choice is tested with an A/B experiment:
# `make ab EXP=fusion_share_weight`.
#
# Two traps show here. The weights multiply predictions on very different scales (a share
# probability is ~0.002, the watch head's D2Q quantile ~0.5), so "weight 10" means nothing
# until you know its task's scale. And the watch head predicts a duration-debiased quantile,
# not seconds: weighting it heavily need not raise true watch seconds (lesson 4).

# %%
share = table[table.task == "share"].set_index("weight")["true share"]
assert share.loc[1000.0] >= share.loc[0.0] - 1e-4, "more share weight should not lower shares"
