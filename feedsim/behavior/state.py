"""The users' changing inner state: boredom, recent creators, session temper, return intent.

This is latent truth owned by the behaviour model. Boredom is a per-user, per-topic exposure
that decays with every video watched (and faster between sessions), so repeated topics lower
affinity and the effect wears off. A short ring of recent creators measures creator satiation.
The session temper is a running satisfaction that holds users in a session; the return
probability carries satisfaction from one day to the next.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.config.schema import BehaviorConfig
from feedsim.world.users import Users

LOG_MEDIAN_ACTIVITY = 3.74


@dataclass
class UserState:
    boredom: np.ndarray          # (U, T) float32 decayed recent exposure per topic
    recent_creators: np.ndarray  # (U, W) int32 ring of recently watched creators, -1 empty
    recent_ptr: np.ndarray       # (U,) int64 next write position in the ring
    temper: np.ndarray           # (U,) float32 running satisfaction in the current session
    session_videos: np.ndarray   # (U,) int32 videos watched in the current session
    return_p: np.ndarray         # (U,) float32 probability of being active on a given day
    satisfaction: np.ndarray     # (U,) float32 memory of recent days' mean utility per view
    day_utility: np.ndarray      # (U,) float64 summed utility of today's views
    day_views: np.ndarray        # (U,) int64 views today

    @classmethod
    def initial(cls, users: Users, n_topics: int, cfg: BehaviorConfig) -> "UserState":
        n = users.n
        base = cfg.return_bias + cfg.return_activity * (np.log(users.activity) - LOG_MEDIAN_ACTIVITY) \
            + cfg.return_loyalty * users.loyalty
        return cls(
            boredom=np.zeros((n, n_topics), dtype=np.float32),
            recent_creators=np.full((n, cfg.creator_window), -1, dtype=np.int32),
            recent_ptr=np.zeros(n, dtype=np.int64),
            temper=np.zeros(n, dtype=np.float32),
            session_videos=np.zeros(n, dtype=np.int32),
            return_p=(1.0 / (1.0 + np.exp(-base))).astype(np.float32),
            satisfaction=np.zeros(n, dtype=np.float32),
            day_utility=np.zeros(n, dtype=np.float64),
            day_views=np.zeros(n, dtype=np.int64),
        )

    def start_session(self, user_ids: np.ndarray, gap_decay: float = 0.3) -> None:
        """A new session: temper resets, boredom from the last session has partly worn off."""
        self.temper[user_ids] = 0.0
        self.session_videos[user_ids] = 0
        self.boredom[user_ids] *= gap_decay

    def record_views(self, user_ids: np.ndarray, topics: np.ndarray, creators: np.ndarray,
                     viewed: np.ndarray, decay: float) -> None:
        """Update boredom and the creator ring after a page. topics/creators/viewed: (B, K)."""
        n_viewed = viewed.sum(axis=1)                                    # (B,)
        self.boredom[user_ids] *= (decay ** n_viewed)[:, None].astype(np.float32)
        rows = np.broadcast_to(user_ids[:, None], topics.shape)
        np.add.at(self.boredom, (rows[viewed], topics[viewed]), 1.0)
        width = self.recent_creators.shape[1]
        order = np.cumsum(viewed, axis=1) - 1                            # (B, K) slot among viewed
        slot = (self.recent_ptr[user_ids][:, None] + order) % width
        self.recent_creators[rows[viewed], slot[viewed]] = creators[viewed]
        self.recent_ptr[user_ids] += n_viewed
        self.session_videos[user_ids] += n_viewed.astype(np.int32)
