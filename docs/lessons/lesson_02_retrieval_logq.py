"""Lesson 2: retrieval and the logQ correction.

Run it: `.venv/bin/python docs/lessons/lesson_02_retrieval_logq.py` (about 30 s, tiny world).
"""
# %% [markdown]
# Retrieval picks a few hundred candidates out of the whole catalogue, cheaply. Its main
# learned source is a *two-tower* model (`feedsim/retrieval/two_tower.py`): one network
# embeds the user, another the video, and a candidate's score is their dot product, so the
# best videos for a user are a nearest-neighbour search away.
#
# It is trained with an *in-batch softmax*: in a batch of (user, watched video) pairs, each
# user's video is the positive and the other users' videos are the negatives. That is cheap,
# but biased: a video appears in batches in proportion to how often it is watched, so popular
# videos are used as negatives far more often than rare ones, and the model learns to push
# them down. The *logQ correction* (Yi et al., RecSys 2019) subtracts log q_j, the log of
# video j's sampling frequency, from its logit, which undoes that bias.
#
# We train the two-tower on three days of logs with and without the correction
# (`retrieval.two_tower.logq`) and judge both against the truth: recall@100 of the oracle's
# top 100 per user, and the mean log-popularity of what each retrieves.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from feedsim.retrieval.evaluate import evaluate_retriever, oracle_topk
from feedsim.retrieval.retriever import Retriever
from feedsim.report.lessons import logged_world

K = 100
cfg, sim = logged_world("popular", days=3)
users = np.arange(0, sim.world.users.n, 3)                                 # 100 users
truth = lambda u, v: sim.behavior.truth(u, v).value                         # noqa: E731
shown = sim.ctx.counters.total["impressions"]                               # (V,) all-time


def retriever(sources, logq=True):
    rc = copy.deepcopy(cfg.retrieval)
    rc.sources, rc.total_candidates = sources, K
    rc.two_tower.epochs, rc.two_tower.logq = 2, logq
    rc.two_tower.exposure_correction = False       # isolate logQ (the other correction: below)
    return Retriever(rc, sim.ctx, seed=0).fit()


with_logq = retriever(["two_tower", "popular", "fresh"])
without_logq = retriever(["two_tower"], logq=False)
rows = {r["source"]: r for r in evaluate_retriever(with_logq, users, truth, K)}
rows["two_tower without logQ"] = evaluate_retriever(without_logq, users, truth, K,
                                                    ["two_tower"])[0]
rows["two_tower with logQ"] = rows.pop("two_tower")
table = pd.DataFrame(rows.values(), index=list(rows)).drop(columns=["source", "k", "filled"])
print(table.round(3).to_string())

# %% [markdown]
# Without the correction, the two-tower retrieves markedly less popular videos (lower mean
# log-popularity): the popular ones it learned to distrust. With it, the source sits between
# the `popular` source (which only knows popularity) and `fresh` (which knows nothing but
# age). Popularity is not the goal, though; relevance is. Compare the popularity of each set
# with the oracle's own top 100, and recall (the share of the oracle's top 100 retrieved):

# %%
best = oracle_topk(truth, users, with_logq.keep, sim.world.videos.n, K)           # (B, K)
sets = {"oracle top 100 (truth)": best,
        "two_tower with logQ": with_logq.retrieve_source("two_tower", users, K).video_ids,
        "two_tower without logQ": without_logq.retrieve_source("two_tower", users, K).video_ids}
fig, ax = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
for name, ids in sets.items():
    ax.hist(np.log1p(shown[ids[ids >= 0]]), bins=30, histtype="step", density=True, label=name)
ax.set(xlabel="log(1 + impressions so far) of the retrieved videos", ylabel="density",
       title="Popularity of what retrieval returns")
ax.legend(fontsize=8)
print({name: round(float(np.log1p(shown[ids[ids >= 0]]).mean()), 3) for name, ids in sets.items()})

# %% [markdown]
# The oracle ranks by true value alone; its videos are popular only as far as quality made
# them popular. The logQ correction does not try to match any popularity level: it removes a
# *sampling* bias from the training loss, so that a video is not penalised for being watched
# often. Read the recall column for what that buys on this world (it is judged against the
# truth, which a real platform never has). The correction is one line (`logits - log_q` in
# `in_batch_loss`, `feedsim/retrieval/two_tower.py`) and on by default; `retrieval=no_logq`
# switches it off, and `experiments/05_logq` measures it at the default world's size.
#
# A second bias sits in the same logs: they record what the *logging policy* chose to show,
# so a model of "watched" also learns "shown often". The two-tower's exposure correction
# (`retrieval.two_tower.exposure_correction`, on by default, off above to isolate logQ)
# accounts for each video's share of impressions. Rerun the comparison with it on.

# %%
assert table.loc["two_tower without logQ", "log_popularity"] < \
    table.loc["two_tower with logQ", "log_popularity"] - 0.05
assert table.loc["two_tower with logQ", "recall"] > table.loc["fresh", "recall"]
print("finding holds: without logQ the in-batch softmax buries popular videos")
