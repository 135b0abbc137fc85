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
    boredom_raw: np.ndarray      # (U, T) float32 exposure per topic, in units of 1 / scale
    boredom_scale: np.ndarray    # (U,) float64: boredom = boredom_raw x scale (lazy decay)
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
            boredom_raw=np.zeros((n, n_topics), dtype=np.float32),
            boredom_scale=np.ones(n, dtype=np.float64),
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
        self.decay_boredom(user_ids, np.full(user_ids.shape[0], gap_decay))

    def boredom_at(self, user_ids: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """Current boredom of users (B,) with topics (B, K). (B, K) float32"""
        flat = user_ids[:, None].astype(np.int64) * self.boredom_raw.shape[1] + topics
        raw = np.take(self.boredom_raw.reshape(-1), flat)
        return raw * self.boredom_scale[user_ids][:, None].astype(np.float32)

    def decay_boredom(self, user_ids: np.ndarray, factor: np.ndarray) -> None:
        """Multiply users' boredom by factor (B,): one scalar per user, not T writes."""
        self.boredom_scale[user_ids] *= factor
        tiny = user_ids[self.boredom_scale[user_ids] < 1e-12]
        if tiny.size:                                   # fold the scale back in, rarely
            self.boredom_raw[tiny] *= self.boredom_scale[tiny][:, None].astype(np.float32)
            self.boredom_scale[tiny] = 1.0

    def record_views(self, user_ids: np.ndarray, topics: np.ndarray, creators: np.ndarray,
                     viewed: np.ndarray, decay: float) -> None:
        """Update boredom and the creator ring after a page. topics/creators/viewed: (B, K)."""
        n_viewed = viewed.sum(axis=1)                                    # (B,)
        self.decay_boredom(user_ids, decay ** n_viewed)
        flat = self.boredom_raw.reshape(-1)
        base = user_ids.astype(np.int64) * self.boredom_raw.shape[1]
        unit = (1.0 / self.boredom_scale[user_ids]).astype(np.float32)      # (B,)
        for k in range(topics.shape[1]):     # users are unique per slot, so += is exact
            flat[base + topics[:, k]] += viewed[:, k] * unit
        rows = np.broadcast_to(user_ids[:, None], topics.shape)
        width = self.recent_creators.shape[1]
        order = np.cumsum(viewed, axis=1) - 1                            # (B, K) slot among viewed
        slot = (self.recent_ptr[user_ids][:, None] + order) % width
        self.recent_creators[rows[viewed], slot[viewed]] = creators[viewed]
        self.recent_ptr[user_ids] += n_viewed
        self.session_videos[user_ids] += n_viewed.astype(np.int32)
