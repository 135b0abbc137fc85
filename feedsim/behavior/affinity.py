"""How much a user wants a video right now: the latent affinity behind every response.

Affinity is how much a user wants a video before watching it: interest in the video's true
topics, a fine-grained style match, language match, following the creator, the trend boost
(appetite x strength of the video's sound and hashtag trends), and two negatives: boredom with
the topic and satiation with the creator. Satisfaction quality is not visible up front; it is
discovered by watching (`worth` = the user's quality sensitivity x the video's satisfaction). Both the sampled response and the ground
truth start from the same `Drivers`, so the truth is exactly what the sampler draws from.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.behavior.state import UserState
from feedsim.config.schema import BehaviorConfig

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class Drivers:
    """Per (user, video) inputs of the response model; every array is (B, K)."""
    affinity: np.ndarray
    hook: np.ndarray
    satisfaction: np.ndarray
    worth: np.ndarray          # quality sensitivity x satisfaction: what watching it is worth
    duration_s: np.ndarray
    trend: np.ndarray
    followed: np.ndarray
    topic: np.ndarray
    creator: np.ndarray


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


def flat_index(user_ids: np.ndarray, shape: tuple[int, int], cols: np.ndarray) -> np.ndarray:
    """Row-major flat index of (user, col) pairs, int32 when the matrix allows. (B, K)"""
    dtype = np.int32 if shape[0] * shape[1] < 2**31 else np.int64
    return user_ids[:, None].astype(dtype) * dtype(shape[1]) + cols.astype(dtype)


def compute_drivers(world, state: UserState, cfg: BehaviorConfig, user_ids: np.ndarray,
                    video_ids: np.ndarray, within_page: bool = True) -> Drivers:
    """Drivers for users (B,) and their videos (B, K); `within_page` adds in-page repeats."""
    users, videos, trends = world.users, world.videos, world.trends
    rows = user_ids[:, None]
    topic = np.take(videos.topic, video_ids, axis=0)                     # (B, K, 2)
    main = topic[..., 0]
    weight = np.take(videos.topic_weight, video_ids)                      # (B, K)
    creator = np.take(videos.creator, video_ids)                          # (B, K)
    sat = np.take(videos.satisfaction, video_ids)
    interest = row_lookup(users.interest, user_ids, main) * weight \
        + row_lookup(users.interest, user_ids, topic[..., 1]) * (1.0 - weight)
    style = row_lookup(users.style, user_ids, np.take(videos.style, video_ids))  # (B, K)
    mismatch = (np.take(videos.language, video_ids) != users.language[rows]).astype(np.float32)
    followed = world.follows.contains(np.broadcast_to(rows, creator.shape), creator)
    trend = users.trend_appetite[rows] * (trends.sound_strength[np.take(videos.sound, video_ids)]
                                          + trends.tag_strength[main])
    bored = state.boredom_at(user_ids, main)
    sated = state.satiation_at(user_ids, creator)
    if within_page:
        bored = bored + page_repeats(main)
        sated = sated + page_repeats(creator)
    affinity = (cfg.affinity_interest * (np.log1p(users.interest.shape[1] * interest) - LOG2)
                + cfg.affinity_style * style
                - cfg.affinity_language * mismatch
                + cfg.affinity_follow * followed.astype(np.float32)
                + cfg.affinity_trend * trend
                - cfg.boredom_weight * bored
                - cfg.creator_satiation * sated)
    return Drivers(
        affinity=affinity.astype(np.float32, copy=False),
        hook=np.take(videos.hook, video_ids),
        satisfaction=sat,
        worth=(cfg.quality_weight * users.quality_sens[rows] * sat).astype(np.float32),
        duration_s=np.take(videos.duration_s, video_ids),
        trend=trend.astype(np.float32, copy=False),
        followed=followed,
        topic=main,
        creator=creator,
    )
