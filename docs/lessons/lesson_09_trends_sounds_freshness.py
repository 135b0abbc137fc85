"""Lesson 9: trends, sounds and freshness.

Run it: `.venv/bin/python docs/lessons/lesson_09_trends_sounds_freshness.py` (about 15 s, tiny
world).
"""
# %% [markdown]
# Short-video culture runs on trends: a sound or a hashtag takes off, thousands of creators
# reuse it, and a few days later it is gone. "Use a trending sound to get reach" is the most
# repeated piece of creator advice. In feedsim it has two halves, and only one is the
# platform's doing:
#
# - **the world**: a trend's strength rises and fades (`feedsim/world/trends.py`); users with an
#   appetite for trends like videos on a trending sound or hashtag more (the trend term in
#   `feedsim/behavior/affinity.py`), and creators pick trending sounds more often;
# - **the platform** cannot see trend strength. It sees engagement rising on a sound or a
#   hashtag, and can only amplify what its counters show (`feedsim/retrieval/trending.py`).
#
# First the lifecycles, read from the world's hidden state (the sandbox may; the feed may not).

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from feedsim.config.compose import load_config
from feedsim.metrics.ecosystem import TRENDING
from feedsim.report.lessons import logged_world
from feedsim.world.trends import advance_trends, generate_trends

DAYS, HORIZON = 3, 21
world_cfg = load_config(["world=tiny"]).world
trends, rng = generate_trends(world_cfg, np.random.default_rng(0)), np.random.default_rng(1)
born = {}                                            # every trend alive at some day, by birth
for day in range(HORIZON):
    advance_trends(trends, world_cfg, rng, day)
    born.update({float(row[0]): row for row in zip(trends.birth, trends.rise, trends.peak,
                                                    trends.kind, trends.target)})
birth, rise, peak, kind, target = (np.array(col) for col in zip(*born.values()))
every = dataclasses.replace(trends, birth=birth, rise=rise, peak=peak, kind=kind, target=target)
strength = np.stack([every.strength_on(d) for d in range(HORIZON)])          # (D, R)
fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
ax.plot(range(HORIZON), strength, lw=1)
ax.axhline(TRENDING, color="k", ls="--", lw=0.8, label=f"'trending' above {TRENDING}")
ax.set(xlabel="day", ylabel="strength (latent)", title=f"{birth.size} trend lifecycles")
ax.legend(fontsize=8)
print(f"{birth.size} trends over {HORIZON} days; trending per day:",
      (strength >= TRENDING).sum(axis=1).tolist())
print(f"days from birth to peak: median {np.median(rise):.1f}")


# %%
def trending_videos(world):
    """Videos on a trending sound or hashtag today (the metrics' definition). (V,) bool"""
    v, t = world.videos, world.trends
    return (t.sound_strength[v.sound] >= TRENDING) | (t.tag_strength[v.topic[:, 0]] >= TRENDING)


def serve(policy):
    """Serve DAYS days; per day, how trending videos fare against the rest."""
    _, sim = logged_world(policy, days=0)
    rows = []
    for day in range(DAYS):
        before = trending_videos(sim.world)
        log = sim.step_day().log
        trending = np.zeros(sim.world.videos.n, bool)
        trending[:before.size] = before                       # today's uploads: not yet known
        hit = trending[log.video_id]                                            # (N,)
        ratio = log.watch_s / log.duration_s
        rows.append({"policy": policy, "day": day,
                     "catalogue share trending": before.mean(),
                     "impression share trending": hit.mean(),
                     "watch ratio trending": ratio[hit].mean(),
                     "watch ratio other": ratio[~hit].mean(),
                     "impressions on fresh uploads": (day - sim.world.videos.upload_day
                                                      [log.video_id] <= 1).mean()})
    return pd.DataFrame(rows), sim


frames, sims = zip(*(serve(p) for p in ("random", "popular")))
table = pd.concat(frames).set_index(["policy", "day"])
table["reach lift"] = table["impression share trending"] / table["catalogue share trending"]
table["engagement lift"] = table["watch ratio trending"] / table["watch ratio other"]
print(table.round(3).to_string())

# %% [markdown]
# Read the `random` rows first: the random policy shows every video equally often, so its
# logs are a fair (if noisy: a few hundred trending impressions a day) test of the world's
# half of the claim. The engagement lift is mostly above 1. The sandbox can remove the noise:
# ask the ground truth how far each user would watch every video, and split the users by
# their (hidden) appetite for trends.

# %%
world = sims[0].world
trending = trending_videos(world)
appetite = world.users.trend_appetite                                         # (U,) latent
groups = {"low trend appetite": appetite <= np.quantile(appetite, 1 / 3),
          "high trend appetite": appetite >= np.quantile(appetite, 2 / 3)}
videos = np.flatnonzero(~world.videos.moderated)
truth_rows = {}
for name, members in groups.items():
    users = np.flatnonzero(members)[:60]
    expected = sims[0].behavior.truth(users, np.broadcast_to(videos, (users.size, videos.size)))
    ratio = expected.watch_s / world.videos.duration_s[videos]                 # (B, V)
    on_trend = trending[videos]
    truth_rows[name] = {"true watch ratio, trending": ratio[:, on_trend].mean(),
                        "true watch ratio, other": ratio[:, ~on_trend].mean()}
lift = pd.DataFrame(truth_rows).T
lift["true engagement lift"] = lift.iloc[:, 0] / lift.iloc[:, 1]
print(lift.round(3).to_string())

# %% [markdown]
# The lift is the trend-lovers': users with little appetite for trends treat a trending sound
# like any other. (Trending videos also differ in topic and creator from the rest, so the
# lift of the low-appetite users need not be exactly 1.)
#
# Reach is the platform's half. Under `random` the reach lift stays near 1 by construction.
# Under `popular` it can only rise as the counters notice the extra engagement, a day or more
# late, and a trend that peaks and fades within days is half over by then. So the reach
# boost of a trending sound is real only when the feed learns fast: `TrendingSource` compares
# the last day's engagement with the long-run average per video, sound and hashtag, and
# `experiments/07_streaming_training` asks how much streaming (intra-day) training captures.
#
# Freshness pulls the same way: under `popular` fresh uploads get a small share of the
# impressions (they have no counts yet), which is why the For You feed has a fresh source and
# traffic pools that give every new video a test audience (lesson 7).

# %%
random_rows, popular_rows = table.loc["random"], table.loc["popular"]
assert lift.loc["high trend appetite", "true engagement lift"] > \
    lift.loc["low trend appetite", "true engagement lift"] + 0.02, lift
assert popular_rows["impressions on fresh uploads"].iloc[-1] < \
    random_rows["impressions on fresh uploads"].iloc[-1]
print("finding holds: trending videos engage trend-lovers more; a counter-driven feed is late "
      "to fresh uploads")
