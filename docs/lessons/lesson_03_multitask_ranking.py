"""Lesson 3: multi-task ranking, or why watch time alone is not enough.

Run it: `.venv/bin/python docs/lessons/lesson_03_multitask_ranking.py` (about 30 s, tiny world).
Cells are marked `# %%` so any editor with cell support (VS Code, PyCharm, Spyder) runs them one
by one; `make lessons` runs every lesson top to bottom.
"""
# %% [markdown]
# A For You ranker does not predict one thing. It predicts many *tasks* for every candidate —
# expected watch, the chance of a long view, of a like, comment, share, follow, of a quick
# skip — and a value model fuses them into one score. Why not rank on watch time only?
#
# Because the feed's goal is not seconds: it is the user's long-term satisfaction, of which
# seconds are a noisy, duration-biased proxy. feedsim knows the truth (`behavior.truth`), so
# here we can score the *same* trained ranker under two value models and ask the oracle which
# page is better for the user.
#
# Steps: (1) log three days of a simple popular feed in a tiny world, (2) train the multi-task
# ranker on those logs, (3) score 150 candidates per user, (4) build the top-6 page with
# watch-only weights and with the default multi-task weights, (5) compare them with the truth.

# %%
import numpy as np
import pandas as pd

from feedsim.ranking.fusion import Fusion
from feedsim.ranking.ranker import Ranker
from feedsim.report.lessons import candidate_matrix, logged_world

DAYS, USERS, CANDIDATES, PAGE = 3, 120, 150, 6


cfg, sim = logged_world("popular", DAYS)
ranker = Ranker(cfg.ranking, sim.ctx.view, "cpu", seed=1)
metrics = ranker.fit(sim.ctx.training_log(DAYS), sim.ctx.counters.daily_decay)
print({k: round(v, 3) for k, v in metrics.items() if k.endswith(("/auc", "/xauc"))})

# %% [markdown]
# The offline metrics above are AUCs on the held-out last day: the ranker has learned
# something for every task. Now score candidates and keep each task's prediction.

# %%
rng = np.random.default_rng(7)
users, cands = candidate_matrix(sim, USERS, CANDIDATES, rng)
day = sim.world.day
scores = ranker.score(users, cands, np.full(USERS, 20, np.int8), np.zeros(USERS, np.int32),
                      day, sim.ctx.counters.recent)
truth = sim.behavior.truth(users, cands)                # (B, C) ground truth, sandbox only
print("tasks:", list(scores.preds))


# %%
def page_of(score):
    """Columns of the top-PAGE candidates by a (B, C) score."""
    return np.argsort(-score, axis=1)[:, :PAGE]


def judge(cols, label):
    take = lambda a: np.take_along_axis(a, cols, axis=1).mean()          # noqa: E731
    return {"value model": label, "true watch s": take(truth.watch_s),
            "true like": take(truth.like), "true share": take(truth.share),
            "true hate": take(truth.hate), "true satisfaction": take(truth.utility),
            "true value": take(truth.value),
            "duration s": sim.world.videos.duration_s[np.take_along_axis(cands, cols, 1)].mean()}


watch_only = Fusion(type(cfg.ranking.fusion)(weights={"watch": 1.0}), list(scores.preds))
rows = [judge(page_of(watch_only(scores.preds)[0]), "watch only"),
        judge(page_of(scores.score), "multi-task (default)"),
        judge(page_of(truth.value), "oracle (true value)"),
        judge(page_of(rng.random(cands.shape)), "random")]
table = pd.DataFrame(rows).set_index("value model")
print(table.round(4).to_string())

# %% [markdown]
# Read the table top to bottom. The oracle row is the ceiling and random the floor. The
# multi-task page should sit closer to the oracle in *true value* than the watch-only page:
# watch-only picks what holds attention, while likes, shares and follows carry evidence of
# satisfaction that seconds alone do not. (The default watch head is duration-debiased, D2Q,
# so watch-only is not simply "longest first" — lesson 4's subject; compare the duration
# column.) With a weak ranker on a tiny world the gap can be small; change DAYS, USERS or the
# weights and rerun. Note how far both still are from the oracle: that gap is regret.
#
# Exercise: add `"skip": -2.0` to the watch-only weights. Which true columns move?

# %%
assert table.loc["oracle (true value)", "true value"] >= table["true value"].max() - 1e-9
