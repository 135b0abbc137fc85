"""How much a user wants a video right now: the latent affinity behind every response.

Affinity is how much a user wants a video before watching it: interest in the video's true
topics, a fine-grained style match, language match, following the creator, the trend boost
(appetite x strength of the video's sound and hashtag trends), and two negatives: boredom with
the topic and satiation with the creator. Satisfaction quality is not visible up front; it is
discovered by watching (`worth` = the user's quality sensitivity x the video's satisfaction). Both the sampled response and the ground
truth start from the same `Drivers`, so the truth is exactly what the sampler draws from.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from feedsim.behavior.state import UserState, flat_index
from feedsim.config.schema import BehaviorConfig

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class Drivers:
    """Per (user, video) inputs of the response model; every array is (B, K) but `cells`."""
    affinity: np.ndarray
    hook: np.ndarray
    satisfaction: np.ndarray
    worth: np.ndarray          # quality sensitivity x satisfaction: what watching it is worth
    duration_s: np.ndarray
    trend: np.ndarray
    followed: np.ndarray
    topic: np.ndarray
    creator: np.ndarray
    cells: np.ndarray          # (B, 2K) the page's flat cells in the users' exposure state


def page_repeats(keys: np.ndarray) -> np.ndarray:
    """How many earlier slots of the same row share each slot's key. (B, K) -> (B, K) float32"""
    slots = np.ascontiguousarray(keys.T)                          # (K, B): contiguous rows
    out = np.zeros(slots.shape, dtype=np.float32)
    for i in range(1, slots.shape[0]):         # K is a handful of slots; vectorised over rows
        for j in range(i):
            out[i] += slots[j] == slots[i]
    return out.T


def row_lookup(matrix: np.ndarray, user_ids: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[user, col] for users (B,) and columns (B, K), as one flat gather. (B, K)"""
    return np.take(matrix.reshape(-1), flat_index(user_ids, matrix.shape, cols))


def _interest(users, user_ids: np.ndarray, main: np.ndarray, second: np.ndarray,
              weight: np.ndarray) -> np.ndarray:
    """log1p(T x interest in the video's topic mixture). (B, K) float32"""
    n_topics = users.interest.shape[1]
    base = (np.asarray(user_ids, dtype=np.intp) * n_topics)[:, None]            # (B, 1)
    flat = users.interest.reshape(-1)
    first = np.take(flat, base + main)                                           # (B, K)
    other = np.take(flat, base + second)
    first -= other
    first *= weight
    first += other                             # w x i(main) + (1 - w) x i(second)
    first *= n_topics
    first += 1.0
    return np.log(first, out=first)          # log1p(x) as log(1 + x): float32 log1p is slow


def compute_drivers(world, state: UserState, cfg: BehaviorConfig, user_ids: np.ndarray,
                    video_ids: np.ndarray, within_page: bool = True) -> Drivers:
    """Drivers for users (B,) and their videos (B, K); `within_page` adds in-page repeats.

    Every term is float32 and accumulated in place: a page is a few hundred thousand
    impressions, so each temporary costs a full pass over memory.
    """
    d, exposure = _drivers_before_exposure(world, state, cfg, user_ids, video_ids)
    return _subtract_exposure(d, exposure, cfg, within_page)


def page_and_truth_drivers(world, state: UserState, cfg: BehaviorConfig, user_ids: np.ndarray,
                           video_ids: np.ndarray) -> tuple[Drivers, Drivers]:
    """compute_drivers with and without in-page repeats, from one pass over the page: the
    sampler's drivers and the ground truth's, equal to the two calls (they share all but
    `affinity`)."""
    d, exposure = _drivers_before_exposure(world, state, cfg, user_ids, video_ids)
    truth = _subtract_exposure(replace(d, affinity=d.affinity.copy()), exposure.copy(), cfg,
                               within_page=False)
    return _subtract_exposure(d, exposure, cfg, within_page=True), truth


def _drivers_before_exposure(world, state: UserState, cfg: BehaviorConfig,
                             user_ids: np.ndarray, video_ids: np.ndarray):
    """The drivers with boredom and satiation not yet subtracted from `affinity`, and the
    users' exposure at the page's cells (B, 2K): topics, then creator buckets."""
    users, videos, trends = world.users, world.videos, world.trends
    video_ids = np.asarray(video_ids, dtype=np.intp)
    topics = videos.topic
    main, second = np.take(topics[:, 0], video_ids), np.take(topics[:, 1], video_ids)  # (B, K)
    creator = np.take(videos.creator, video_ids)
    sat = np.take(videos.satisfaction, video_ids)
    rows = np.asarray(user_ids)[:, None]                                          # (B, 1)
    affinity = _interest(users, user_ids, main, second, np.take(videos.topic_weight, video_ids))
    affinity *= cfg.affinity_interest
    affinity += np.float32(-cfg.affinity_interest * LOG2)
    style = row_lookup(users.style, user_ids, np.take(videos.style, video_ids))
    style *= cfg.affinity_style
    affinity += style
    mismatch = np.take(videos.language, video_ids) != np.take(users.language, user_ids)[:, None]
    affinity -= np.float32(cfg.affinity_language) * mismatch
    followed = world.follows.contains(rows, creator)
    affinity += np.float32(cfg.affinity_follow) * followed
    trend = np.take(trends.sound_strength, np.take(videos.sound, video_ids))
    trend += np.take(trends.tag_strength, main)
    trend *= np.take(users.trend_appetite, user_ids)[:, None]
    affinity += np.float32(cfg.affinity_trend) * trend
    cells = state.page_cells(user_ids, main, creator)                            # (B, 2K)
    worth = np.take(users.quality_sens, user_ids)[:, None] * sat
    worth *= cfg.quality_weight
    d = Drivers(affinity=affinity, hook=np.take(videos.hook, video_ids), satisfaction=sat,
                worth=worth, duration_s=np.take(videos.duration_s, video_ids), trend=trend,
                followed=followed, topic=main, creator=creator, cells=cells)
    return d, state.exposure_of(user_ids, cells)


def _subtract_exposure(d: Drivers, exposure: np.ndarray, cfg: BehaviorConfig,
                       within_page: bool) -> Drivers:
    """Boredom and satiation off `d.affinity`, in place (so is `exposure` (B, 2K) used up);
    `within_page` adds the page's own repeats of a topic or creator."""
    k = d.topic.shape[1]
    bored, sated = exposure[:, :k], exposure[:, k:]                              # (B, K) each
    if within_page:
        bored += page_repeats(d.topic)
        sated += page_repeats(d.creator)
    affinity = d.affinity                       # in place: the frozen field keeps the array
    bored *= cfg.boredom_weight
    affinity -= bored
    sated *= cfg.creator_satiation
    affinity -= sated
    return d
