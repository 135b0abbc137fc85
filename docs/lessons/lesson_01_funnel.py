"""Lesson 1: the funnel, from the catalogue to six videos, and what each stage costs.

Run it: `.venv/bin/python docs/lessons/lesson_01_funnel.py` (about 40 s, tiny world).
"""
# %% [markdown]
# A feed cannot score every video for every request with its best model: the catalogue is
# too big. So it is a cascade. Retrieval gathers a few hundred candidates from several cheap
# sources; a pre-rank (a dot product) keeps a few dozen; the multi-task ranker (a neural net)
# scores those; re-ranking turns the ranked list into a page of six. Each stage sees fewer
# videos and spends more per video.
#
# We run one day of the For You feed in a tiny world (day 0 is a cold start: no models yet),
# train its models as the next morning would, then serve one batch of requests stage by stage
# with a stopwatch.

# %%
import time

import numpy as np
import pandas as pd

from feedsim.policy.base import Requests
from feedsim.report.lessons import logged_world

cfg, sim = logged_world("fyp", days=1)
policy = sim.arms[0].policy
sim.world.start_day()
sim.ctx.counters.grow(sim.world.videos.n)
policy.begin_day(sim.world.day)                        # the nightly retrain
print("retrieval fitted:", policy.retriever.fitted, "| ranker fitted:", policy.ranker.fitted)

# %%
users = np.arange(0, sim.world.users.n, 3)             # 100 requests, one batch
req = Requests(users, np.arange(users.size), np.full(users.size, 20, np.int8),
               np.zeros(users.size, np.int32), sim.world.day)
clock, counts = {}, {"catalogue": sim.world.videos.n}

t = time.perf_counter()
ids, merged, source = policy.candidates(req)
clock["retrieval"] = time.perf_counter() - t
counts["retrieval"] = float((ids >= 0).sum(1).mean())

t = time.perf_counter()
cols, emb = policy.prerank(users, ids, merged)
kept = np.take_along_axis(ids, cols, 1)
clock["pre-rank"] = time.perf_counter() - t
counts["pre-rank"] = float((kept >= 0).sum(1).mean())

t = time.perf_counter()
scores = policy.ranker.score(users, np.maximum(kept, 0), req.hour, req.session_index, req.day,
                             sim.ctx.counters.recent)
clock["ranking + fusion"] = time.perf_counter() - t
counts["ranking + fusion"] = counts["pre-rank"]

t = time.perf_counter()
fused = np.where(kept >= 0, scores.score, -np.inf).astype(np.float32)
slate = policy.reranker.slate(sim.ctx, users, kept, fused, np.take_along_axis(source, cols, 1),
                              emb)
page = policy.reranker.rerank(slate, np.random.default_rng(0))
clock["re-ranking"] = time.perf_counter() - t
counts["re-ranking"] = float((page.video_ids >= 0).sum(1).mean())

table = pd.DataFrame({"videos per request": pd.Series(counts),
                      "ms per request": pd.Series(clock) * 1e3 / users.size}).reindex(list(counts))
table["us per video scored"] = table["ms per request"] * 1e3 / table["videos per request"]
print(table.round(3).to_string())

# %% [markdown]
# The first column shrinks by orders of magnitude; the cost per video scored grows. That is
# the funnel's bargain: the expensive model only ever sees what the cheap stages let through,
# so a good video that retrieval misses is never ranked at all (recall matters more than
# precision early in the cascade). Where did the page come from? Count the sources:

# %%
names = np.asarray(policy.source_names)
on_page = pd.Series(names[page.source[page.video_ids >= 0]]).value_counts()
in_candidates = pd.Series(names[source[ids >= 0]]).value_counts()
print(pd.DataFrame({"candidates": in_candidates, "on page": on_page}).fillna(0).astype(int))

# %% [markdown]
# To follow one request through every stage with the reasons for each decision, run the
# explain trace: `make explain ARGS="world=tiny day=1"`.

# %%
assert counts["catalogue"] > counts["retrieval"] >= counts["pre-rank"] > counts["re-ranking"]
