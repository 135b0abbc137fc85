"""Days, sessions and returns: when users show up, how many sessions they have, whether they come back.

A user is active on a day with their current return probability. An active user has a number
of sessions that follows their activity (plays per day divided by the target session length).
At day end the return probability is recomputed from a memory of recent days' mean utility
per view (today's weighed against the past by `return_memory`), so a
feed that satisfies brings users back and one that does not loses them: retention is an outcome.
Interest drift also happens here: what a user watched today pulls their interests slowly.
"""
from __future__ import annotations

import numpy as np

from feedsim.behavior.state import LOG_MEDIAN_ACTIVITY, UserState
from feedsim.config.schema import BehaviorConfig
from feedsim.world.users import Users


def draw_active(rng: np.random.Generator, state: UserState) -> np.ndarray:
    """Users active today. (U,) bool"""
    return rng.random(state.return_p.shape[0]) < state.return_p


def draw_sessions(rng: np.random.Generator, users: Users, active: np.ndarray,
                  cfg: BehaviorConfig) -> np.ndarray:
    """Sessions today per user (0 for the inactive). (U,) int64"""
    expected = users.activity / cfg.session_videos_target
    sessions = 1 + rng.poisson(np.maximum(expected - 1.0, 0.0))
    return np.where(active, sessions, 0)


def update_return(state: UserState, users: Users, active: np.ndarray,
                  cfg: BehaviorConfig) -> None:
    """Recompute tomorrow's return probability for today's active users from their day."""
    idx = np.flatnonzero(active)
    mean_utility = state.day_utility[idx] / np.maximum(state.day_views[idx], 1)
    memory = cfg.return_memory * state.satisfaction[idx] + (1 - cfg.return_memory) * mean_utility
    state.satisfaction[idx] = memory
    logit = (cfg.return_bias
             + cfg.return_activity * (np.log(users.activity[idx]) - LOG_MEDIAN_ACTIVITY)
             + cfg.return_loyalty * users.loyalty[idx]
             + cfg.return_satisfaction * memory)
    state.return_p[idx] = 1.0 / (1.0 + np.exp(-logit))
    state.day_utility[:] = 0.0
    state.day_views[:] = 0


def drift_interests(users: Users, user_ids: np.ndarray, topics: np.ndarray,
                    watch_ratio: np.ndarray, rate: float) -> None:
    """Move interests toward today's watched topics, weighted by watch ratio. Arrays (N,)."""
    n_users, n_topics = users.interest.shape
    weights = np.minimum(watch_ratio, 2.0)
    key = user_ids.astype(np.int64)              # one widened copy, the key built in place
    key *= n_topics
    key += topics
    consumed = np.bincount(key, weights=weights,
                           minlength=n_users * n_topics).reshape(n_users, n_topics)
    totals = consumed.sum(axis=1, keepdims=True)
    has = totals[:, 0] > 0
    target = consumed[has] / totals[has]
    users.interest[has] = ((1.0 - rate) * users.interest[has] + rate * target).astype(np.float32)
