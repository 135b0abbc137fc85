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
from feedsim.jit import njit
from feedsim.world.users import Users

LOG_MEDIAN_ACTIVITY = 3.74
CREATOR_HASH = 2654435761      # multiplier of the creator-bucket hash (creator_column)


def flat_index(user_ids: np.ndarray, shape: tuple[int, int], cols: np.ndarray) -> np.ndarray:
    """Row-major flat index of (user, col) pairs, in the gather's native intp. (B, K)"""
    return (np.asarray(user_ids, dtype=np.intp) * shape[1])[:, None] + cols


FOLD_BELOW = 1e-12             # a lazy decay scale this small is folded into the raw row


@njit
def record_rows(user_ids, cells, viewed, powers, raw, scale, session_videos,
                utility, temper_after, temper, day_utility, day_views):
    """A page's views into the users' state, row by row: the lazy decay of the user's
    exposure by powers[views], then +1 (in today's units) at every viewed slot's topic and
    creator bucket, in slot order (np.add.at's result), and the session's video count.
    With outcome rows (utility (B, K), temper_after (B,); zero rows to skip), also the
    session temper and the day's utility and views.

    user_ids (B,), cells (B, 2K) flat exposure cells (topics, then buckets), viewed (B, K);
    raw (U, T + H) float32, scale (U,) float64 and the rest (U,) are updated in place.
    """
    flat = raw.reshape(-1)
    k = viewed.shape[1]
    with_outcome = utility.shape[0] > 0
    for b in range(user_ids.shape[0]):
        u = user_ids[b]
        n = 0
        for j in range(k):
            n += viewed[b, j]
        user_scale = scale[u] * powers[n]
        if user_scale < FOLD_BELOW:                 # fold the scale into the row, rarely
            fold = np.float32(user_scale)
            for c in range(raw.shape[1]):
                raw[u, c] *= fold
            user_scale = 1.0
        scale[u] = user_scale
        unit = np.float32(1.0 / user_scale)
        for half in range(2):
            for j in range(k):
                if viewed[b, j]:
                    flat[cells[b, half * k + j]] += unit
        session_videos[u] += n
        if with_outcome:
            total = np.float32(0.0)
            for j in range(k):
                total += utility[b, j]
            temper[u] = temper_after[b]
            day_utility[u] += total
            day_views[u] += n


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
        """Exposure column of each creator's bucket. Same shape as creators, intp

        Bits 16 and up of creator x 2654435761: the low 32 bits of the product suffice, so
        the hash runs in uint32.
        """
        mixed = creators.astype(np.uint32) * np.uint32(CREATOR_HASH)
        mixed >>= np.uint32(16)
        mixed &= np.uint32(self.n_buckets - 1)
        return mixed.astype(np.intp) + self.n_topics

    def exposure_at(self, user_ids: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Current exposure of users (B,) at columns (B, K). (B, K) float32"""
        raw = np.take(self.exposure_raw.reshape(-1),
                      flat_index(user_ids, self.exposure_raw.shape, columns))
        raw *= self.exposure_scale[user_ids][:, None].astype(np.float32)
        return raw

    def page_cells(self, user_ids: np.ndarray, topics: np.ndarray,
                   creators: np.ndarray) -> np.ndarray:
        """Flat exposure cells of a page: its topics, then its creators' buckets. (B, 2K)"""
        k = topics.shape[1]
        cells = np.empty((topics.shape[0], 2 * k), dtype=np.intp)                # (B, 2K)
        cells[:, :k] = topics
        cells[:, k:] = self.creator_column(creators)
        cells += (np.asarray(user_ids, dtype=np.intp) * self.exposure_raw.shape[1])[:, None]
        return cells

    def exposure_of(self, user_ids: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Current exposure at flat cells (B, C) of users (B,). (B, C) float32"""
        raw = np.take(self.exposure_raw.reshape(-1), cells)
        raw *= self.exposure_scale[user_ids][:, None].astype(np.float32)
        return raw

    def boredom_at(self, user_ids: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """Boredom of users (B,) with topics (B, K). (B, K) float32"""
        return self.exposure_at(user_ids, topics)

    def satiation_at(self, user_ids: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Satiation of users (B,) with creators (B, K). (B, K) float32"""
        return self.exposure_at(user_ids, self.creator_column(creators))

    def decay(self, user_ids: np.ndarray, factor: np.ndarray) -> None:
        """Multiply users' exposure by factor (B,): one scalar per user."""
        self._rescale(user_ids, self.exposure_scale[user_ids] * factor)

    def _rescale(self, user_ids: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Set users' decay scale (B,); fold it into their raw row when it gets tiny.
        Returns the scale in force afterwards (1 where folded). (B,) float64"""
        self.exposure_scale[user_ids] = scale
        is_tiny = scale < FOLD_BELOW
        if is_tiny.any():                               # fold the scale back in, rarely
            tiny = user_ids[is_tiny]
            self.exposure_raw[tiny] *= scale[is_tiny][:, None].astype(np.float32)
            self.exposure_scale[tiny] = 1.0
            scale = np.where(is_tiny, 1.0, scale)
        return scale

    def record_views(self, user_ids: np.ndarray, topics: np.ndarray, creators: np.ndarray,
                     viewed: np.ndarray, decay: float, cells: np.ndarray | None = None,
                     utility: np.ndarray | None = None,
                     temper_after: np.ndarray | None = None) -> None:
        """Update boredom and satiation after a page. topics/creators/viewed: (B, K).

        Every viewed slot adds 1 (in today's units) at its topic and its creator's bucket,
        after the user's exposure decays once per view; repeats of a column within a page
        add exactly, in slot order. `cells`: the page's `page_cells`, when the caller has
        them. With the page's `utility` (B, K) and `temper_after` (B,), the session temper
        and the day's utility and views update in the same pass (`record_rows`).
        """
        if cells is None:
            cells = self.page_cells(user_ids, topics, creators)          # (B, 2K)
        if utility is None:                                              # no outcome rows
            utility, temper_after = np.empty((0, 1), np.float32), np.empty(0, np.float32)
        powers = decay ** np.arange(viewed.shape[1] + 1, dtype=np.float64)    # (K + 1,)
        record_rows(np.asarray(user_ids, dtype=np.intp), cells, viewed, powers,
                    self.exposure_raw, self.exposure_scale, self.session_videos, utility,
                    temper_after, self.temper, self.day_utility, self.day_views)
