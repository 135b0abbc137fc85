"""The drivers of a page in one compiled pass: affinity's terms gathered per impression.

`affinity.py` states the drivers as whole-array numpy steps: about a dozen gathers of video
columns, each its own pass over the (B users, K slots) page, then the interest, style,
language, follow and trend terms, then boredom and satiation. This module computes the same
terms slot by slot in one loop (numba), reading each video's columns once, and writes the
page's `Drivers` (and, for the ground truth, the affinity without the page's own repeats).
The follow lookup stays `FollowGraph.contains`; everything else is here.

The float32 steps run in the numpy steps' order, so the drivers agree with them to the last
bit except where `log` rounds differently (tests/test_behavior_kernel.py).
"""
from __future__ import annotations

import numpy as np

from feedsim.behavior.affinity import LOG2, Drivers
from feedsim.behavior.state import CREATOR_HASH
from feedsim.jit import njit

HASH = np.uint64(CREATOR_HASH)        # the creator-bucket hash of UserState.creator_column
LOW32 = np.uint64(0xFFFFFFFF)


@njit
def _drivers_rows(user_ids, main_topic, second_topic, topic_weight, creator, video_style,
                  video_language, sound, satisfaction, followed, interest, user_style,
                  user_language, appetite, quality, exposure_raw, exposure_scale,
                  sound_strength, tag_strength, p, n_buckets, within_page,
                  affinity, truth_affinity, worth, trend, cells):
    """Fill affinity, worth, trend (B, K) and cells (B, 2K) from the page's video columns
    (B, K), gathered beforehand; `affinity` counts the page's own repeats if `within_page`,
    and truth_affinity, when it has rows, gets the affinity without them. p: the affinity
    weights (see fused_drivers)."""
    f32 = np.float32
    n_users, k_slots = main_topic.shape
    n_topics = interest.shape[1]
    width = exposure_raw.shape[1]
    with_truth = truth_affinity.shape[0] > 0
    for b in range(n_users):
        u = user_ids[b]
        scale = f32(exposure_scale[u])
        for k in range(k_slots):
            main = main_topic[b, k]
            first = interest[u, main]
            other = interest[u, second_topic[b, k]]
            mix = (first - other) * topic_weight[b, k] + other         # w i(main) + (1-w) i(2nd)
            a = np.log(mix * f32(n_topics) + f32(1.0)) * p[0] + p[1]
            a += user_style[u, video_style[b, k]] * p[2]
            if video_language[b, k] != user_language[u]:
                a -= p[3]
            if followed[b, k]:
                a += p[4]
            tr = (sound_strength[sound[b, k]] + tag_strength[main]) * appetite[u]
            a += p[5] * tr
            c = creator[b, k]
            bucket = ((np.uint64(c) * HASH) & LOW32) >> np.uint64(16)
            column = n_topics + np.int64(bucket & np.uint64(n_buckets - 1))
            bored = exposure_raw[u, main] * scale              # exposure before this page
            sated = exposure_raw[u, column] * scale
            if with_truth:
                truth_affinity[b, k] = a - bored * p[6] - sated * p[7]
            for j in range(k if within_page else 0):     # the page's own earlier repeats
                if main_topic[b, j] == main:
                    bored += f32(1.0)
                if creator[b, j] == c:
                    sated += f32(1.0)
            affinity[b, k] = a - bored * p[6] - sated * p[7]
            worth[b, k] = quality[u] * satisfaction[b, k] * p[8]
            trend[b, k] = tr
            cells[b, k] = u * width + main
            cells[b, k_slots + k] = u * width + column


def fused_drivers(world, state, cfg, user_ids: np.ndarray, video_ids: np.ndarray,
                  with_truth: bool, within_page: bool = True) -> tuple[Drivers, Drivers | None]:
    """(page drivers, truth drivers without in-page repeats or None), as
    affinity.page_and_truth_drivers computes them; the page drivers count the page's own
    repeats if `within_page` (with it False they are the truth's: a candidate list).

    The video columns are gathered first, one `np.take` each: a tight gather keeps many
    cache misses in flight, which a long loop body does not (on a catalogue larger than the
    cache the fused gathers were slower than numpy's)."""
    users, videos, trends = world.users, world.videos, world.trends
    user_ids = np.asarray(user_ids, dtype=np.intp)
    video_ids = np.asarray(video_ids, dtype=np.intp)
    shape = video_ids.shape
    column = {name: np.take(getattr(videos, name), video_ids)
              for name in ("creator", "topic_weight", "style", "language", "sound", "hook",
                           "satisfaction", "duration_s")}                    # (B, K) each
    main, second = np.take(videos.topic[:, 0], video_ids), np.take(videos.topic[:, 1], video_ids)
    followed = world.follows.contains(user_ids[:, None], column["creator"])
    p = np.array([cfg.affinity_interest, -cfg.affinity_interest * LOG2, cfg.affinity_style,
                  cfg.affinity_language, cfg.affinity_follow, cfg.affinity_trend,
                  cfg.boredom_weight, cfg.creator_satiation, cfg.quality_weight],
                 dtype=np.float32)
    affinity, worth, trend = (np.empty(shape, np.float32) for _ in range(3))
    truth_affinity = np.empty(shape if with_truth else (0, 0), np.float32)
    cells = np.empty((shape[0], 2 * shape[1]), np.intp)                       # (B, 2K)
    _drivers_rows(user_ids, main, second, column["topic_weight"], column["creator"],
                  column["style"], column["language"], column["sound"], column["satisfaction"],
                  followed, users.interest, users.style, users.language, users.trend_appetite,
                  users.quality_sens, state.exposure_raw, state.exposure_scale,
                  trends.sound_strength, trends.tag_strength, p, state.n_buckets, within_page,
                  affinity, truth_affinity, worth, trend, cells)
    d = Drivers(affinity=affinity, hook=column["hook"], satisfaction=column["satisfaction"],
                worth=worth, duration_s=column["duration_s"], trend=trend, followed=followed,
                topic=main, creator=column["creator"], cells=cells)
    if not with_truth:
        return d, None
    return d, Drivers(**{**d.__dict__, "affinity": truth_affinity})
