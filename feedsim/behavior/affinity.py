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
    k = keys.shape[1]
    same = keys[:, :, None] == keys[:, None, :]                  # (B, K, K)
    earlier = np.tril(np.ones((k, k), dtype=bool), -1)           # j < i
    return (same & earlier).sum(axis=2).astype(np.float32)


def compute_drivers(world, state: UserState, cfg: BehaviorConfig, user_ids: np.ndarray,
                    video_ids: np.ndarray, within_page: bool = True) -> Drivers:
    """Drivers for users (B,) and their videos (B, K); `within_page` adds in-page repeats."""
    users, videos, trends = world.users, world.videos, world.trends
    n_topics = users.interest.shape[1]
    topic = np.take(videos.topic, video_ids, axis=0)                     # (B, K, 2)
    weight = np.take(videos.topic_weight, video_ids)                      # (B, K)
    creator = np.take(videos.creator, video_ids)                          # (B, K)
    sound = np.take(videos.sound, video_ids)
    sat = np.take(videos.satisfaction, video_ids)
    rows = user_ids[:, None]
    interest = users.interest[rows, topic[..., 0]] * weight \
        + users.interest[rows, topic[..., 1]] * (1.0 - weight)            # (B, K)
    style_v = np.take(videos.style, video_ids, axis=0)                    # (B, K, S)
    style = np.einsum("bks,bs->bk", style_v, users.style[user_ids]) / np.sqrt(style_v.shape[2])
    mismatch = np.take(videos.language, video_ids) != users.language[rows]
    followed = world.follows.contains(np.broadcast_to(rows, creator.shape), creator)
    trend = users.trend_appetite[rows] * (trends.sound_strength[sound]
                                          + trends.tag_strength[topic[..., 0]])
    bored = state.boredom[rows, topic[..., 0]]
    sated = (state.recent_creators[user_ids][:, None, :] == creator[:, :, None]).sum(axis=2)
    if within_page:
        bored = bored + page_repeats(topic[..., 0])
        sated = sated + page_repeats(creator)
    affinity = (cfg.affinity_interest * (np.log1p(n_topics * interest) - LOG2)
                + cfg.affinity_style * style
                - cfg.affinity_language * mismatch
                + cfg.affinity_follow * followed
                + cfg.affinity_trend * trend
                - cfg.boredom_weight * bored
                - cfg.creator_satiation * sated)
    return Drivers(
        affinity=affinity.astype(np.float32),
        hook=np.take(videos.hook, video_ids),
        satisfaction=sat,
        worth=(cfg.quality_weight * users.quality_sens[rows] * sat).astype(np.float32),
        duration_s=np.take(videos.duration_s, video_ids),
        trend=trend.astype(np.float32),
        followed=followed,
        topic=topic[..., 0],
        creator=creator,
    )
