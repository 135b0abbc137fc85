"""The users' changing inner state: boredom, recent creators, session temper, return intent.

This is latent truth owned by the behaviour model. Boredom is a per-user, per-topic exposure
that decays with every video watched (and faster between sessions), so repeated topics lower
affinity and the effect wears off. Creator satiation works the same way over creators, hashed
into a few dozen buckets per user (a rare collision makes a new creator feel slightly familiar).
Both live in one `exposure` matrix with a lazy per-user decay scale: decaying a user's whole
row is one multiply, not T + H writes.
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
    exposure_raw: np.ndarray     # (U, T + H) float32 per topic, then per creator bucket,
    #                              in units of 1 / scale
    exposure_scale: np.ndarray   # (U,) float64: exposure = exposure_raw x scale (lazy decay)
    temper: np.ndarray           # (U,) float32 running satisfaction in the current session
    session_videos: np.ndarray   # (U,) int32 videos watched in the current session
    return_p: np.ndarray         # (U,) float32 probability of being active on a given day
    satisfaction: np.ndarray     # (U,) float32 memory of recent days' mean utility per view
    day_utility: np.ndarray      # (U,) float64 summed utility of today's views
    day_views: np.ndarray        # (U,) int64 views today

    _buckets: int = 64

    @classmethod
    def initial(cls, users: Users, n_topics: int, cfg: BehaviorConfig) -> "UserState":
        n = users.n
        base = cfg.return_bias + cfg.return_activity * (np.log(users.activity) - LOG_MEDIAN_ACTIVITY) \
            + cfg.return_loyalty * users.loyalty
        return cls(
            exposure_raw=np.zeros((n, n_topics + cfg.creator_buckets), dtype=np.float32),
            exposure_scale=np.ones(n, dtype=np.float64),
            temper=np.zeros(n, dtype=np.float32),
            session_videos=np.zeros(n, dtype=np.int32),
            return_p=(1.0 / (1.0 + np.exp(-base))).astype(np.float32),
            satisfaction=np.zeros(n, dtype=np.float32),
            day_utility=np.zeros(n, dtype=np.float64),
            day_views=np.zeros(n, dtype=np.int64),
            _buckets=cfg.creator_buckets,
        )

    def start_session(self, user_ids: np.ndarray, gap_decay: float = 0.3) -> None:
        """A new session: temper resets, boredom from the last session has partly worn off."""
        self.temper[user_ids] = 0.0
        self.session_videos[user_ids] = 0
        self.decay(user_ids, np.full(user_ids.shape[0], gap_decay))

    @property
    def n_topics(self) -> int:
        return self.exposure_raw.shape[1] - self.n_buckets

    @property
    def n_buckets(self) -> int:
        return self._buckets

    def creator_column(self, creators: np.ndarray) -> np.ndarray:
        """Exposure column of each creator's bucket. Same shape as creators, int64"""
        mixed = (creators.astype(np.int64) * 2654435761) >> 16
        return self.n_topics + (mixed & (self.n_buckets - 1))

    def exposure_at(self, user_ids: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Current exposure of users (B,) at columns (B, K). (B, K) float32"""
        from feedsim.behavior.affinity import flat_index
        raw = np.take(self.exposure_raw.reshape(-1),
                      flat_index(user_ids, self.exposure_raw.shape, columns))
        return raw * self.exposure_scale[user_ids][:, None].astype(np.float32)

    def boredom_at(self, user_ids: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """Boredom of users (B,) with topics (B, K). (B, K) float32"""
        return self.exposure_at(user_ids, topics)

    def satiation_at(self, user_ids: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Satiation of users (B,) with creators (B, K). (B, K) float32"""
        return self.exposure_at(user_ids, self.creator_column(creators))

    def decay(self, user_ids: np.ndarray, factor: np.ndarray) -> None:
        """Multiply users' exposure by factor (B,): one scalar per user."""
        self.exposure_scale[user_ids] *= factor
        tiny = user_ids[self.exposure_scale[user_ids] < 1e-12]
        if tiny.size:                                   # fold the scale back in, rarely
            self.exposure_raw[tiny] *= self.exposure_scale[tiny][:, None].astype(np.float32)
            self.exposure_scale[tiny] = 1.0

    def record_views(self, user_ids: np.ndarray, topics: np.ndarray, creators: np.ndarray,
                     viewed: np.ndarray, decay: float) -> None:
        """Update boredom and satiation after a page. topics/creators/viewed: (B, K)."""
        n_viewed = viewed.sum(axis=1)                                    # (B,)
        self.decay(user_ids, decay ** n_viewed)
        from feedsim.behavior.affinity import flat_index
        flat = self.exposure_raw.reshape(-1)
        shape = self.exposure_raw.shape
        unit = (1.0 / self.exposure_scale[user_ids]).astype(np.float32)    # (B,)
        add = np.ascontiguousarray((viewed * unit[:, None]).T)              # (K, B)
        topic_at = np.ascontiguousarray(flat_index(user_ids, shape, topics).T)
        bucket_at = np.ascontiguousarray(
            flat_index(user_ids, shape, self.creator_column(creators)).T)   # (K, B)
        for k in range(add.shape[0]):        # users are unique per slot, so += is exact
            flat[topic_at[k]] += add[k]
            flat[bucket_at[k]] += add[k]
        self.session_videos[user_ids] += n_viewed.astype(np.int32)
