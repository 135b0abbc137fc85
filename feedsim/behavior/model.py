"""The behaviour model's facade: one object the day loop talks to.

It owns the users' inner state and the `behavior` RNG stream, turns served pages into outcomes,
updates boredom, satiation, session temper and follows after each page, and rolls the day over
(returns and interest drift). The day loop never touches latent state directly.
"""
from __future__ import annotations

import numpy as np

from feedsim.behavior.affinity import compute_drivers
from feedsim.behavior.response import TEMPER_DECAY, TEMPER_GAIN, Outcomes, respond
from feedsim.behavior.session import draw_active, draw_sessions, drift_interests, update_return
from feedsim.behavior.state import UserState
from feedsim.behavior.truth import Expected, expected
from feedsim.config.schema import BehaviorConfig


class Behavior:
    def __init__(self, world, cfg: BehaviorConfig, rng: np.random.Generator):
        self.world = world
        self.cfg = cfg
        self.rng = rng
        self.state = UserState.initial(world.users, world.cfg.n_topics, cfg)

    def begin_day(self) -> tuple[np.ndarray, np.ndarray]:
        """Who is active today and how many sessions each has: (active (U,), sessions (U,))."""
        active = draw_active(self.rng, self.state)
        return active, draw_sessions(self.rng, self.world.users, active, self.cfg)

    def start_sessions(self, user_ids: np.ndarray) -> None:
        self.state.start_session(user_ids)

    def respond(self, user_ids: np.ndarray, video_ids: np.ndarray) -> Outcomes:
        """Users (B,) watch their pages (B, K); state and follows update. Returns outcomes."""
        d = compute_drivers(self.world, self.state, self.cfg, user_ids, video_ids)
        s = self.state
        out = respond(self.rng, d, self.world.users, user_ids, s.temper[user_ids],
                      s.session_videos[user_ids], self.cfg)
        s.record_views(user_ids, d.topic, d.creator, out.viewed, self.cfg.boredom_decay)
        s.temper[user_ids] = _end_temper(s.temper[user_ids], out.utility, out.viewed)
        s.day_utility[user_ids] += out.utility.sum(axis=1)
        s.day_views[user_ids] += out.viewed.sum(axis=1)
        rows = np.broadcast_to(user_ids[:, None], video_ids.shape)
        self.world.follows.add(rows[out.follow], d.creator[out.follow])
        return out

    def truth(self, user_ids: np.ndarray, video_ids: np.ndarray) -> Expected:
        """Ground truth for candidates (B, K) in the users' current state."""
        return expected(self.world, self.state, self.cfg, user_ids, video_ids)

    def end_day(self, active: np.ndarray, user_ids: np.ndarray, video_ids: np.ndarray,
                watch_ratio: np.ndarray) -> None:
        """Returns and interest drift from the day's views (flat arrays over impressions)."""
        update_return(self.state, self.world.users, active, self.cfg)
        topics = self.world.videos.topic[video_ids, 0].astype(np.int64)
        drift_interests(self.world.users, user_ids, topics, watch_ratio, self.cfg.drift_rate)


def _end_temper(temper0: np.ndarray, utility: np.ndarray, viewed: np.ndarray) -> np.ndarray:
    """Session temper after the viewed slots of a page (same recursion as the leave hazard)."""
    temper = temper0.astype(np.float32).copy()
    for k in range(utility.shape[1]):       # K is a handful of slots; vectorised over users
        step = TEMPER_DECAY * temper + TEMPER_GAIN * utility[:, k]
        temper = np.where(viewed[:, k], step, temper)
    return temper
