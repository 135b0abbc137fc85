"""The behaviour model's facade: one object the day loop talks to.

It owns the users' inner state and the `behavior` RNG stream, turns served pages into outcomes,
updates boredom, satiation, session temper and follows after each page, and rolls the day over
(returns and interest drift). The day loop never touches latent state directly.

Large batches are split into `threads` shards of users answered in parallel threads (the
compiled kernels and numpy release the GIL, and shards touch disjoint users). A call draws one
key from the behaviour stream and every random number of its pages is a function of that key
and the user's row in the batch (`draws`), so the outcomes do not depend on the thread count.
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np

from feedsim.behavior import kernel
from feedsim.behavior.affinity import Drivers, compute_drivers, page_and_truth_drivers
from feedsim.behavior.draws import page_key
from feedsim.behavior.fused_drivers import fused_drivers
from feedsim.behavior.response import Outcomes, respond
from feedsim.behavior.session import draw_active, draw_sessions, drift_interests, update_return
from feedsim.behavior.state import UserState
from feedsim.behavior.truth import Expected, expected, expected_from_drivers
from feedsim.config.schema import BehaviorConfig
from feedsim.jit import thread_pool


MIN_SHARD = 4096      # users per thread below which threading costs more than it saves

def _rows(d: Drivers | None, rows: slice) -> Drivers | None:
    """The drivers of a shard's rows (views, no copy)."""
    return None if d is None else Drivers(*(getattr(d, f.name)[rows] for f in fields(Drivers)))


class Behavior:
    def __init__(self, world, cfg: BehaviorConfig, rng: np.random.Generator):
        self.world = world
        self.cfg = cfg
        self.rng = rng
        self.state = UserState.initial(world.users, world.cfg.n_topics, cfg)

    @property
    def fused(self) -> bool:
        """Whether the compiled drivers, response and truth run (behavior.kernel=fused with
        numba installed); a property, so checkpoints from before the kernels load."""
        return self.cfg.kernel == "fused" and kernel.AVAILABLE

    def begin_day(self) -> tuple[np.ndarray, np.ndarray]:
        """Who is active today and how many sessions each has: (active (U,), sessions (U,))."""
        active = draw_active(self.rng, self.state)
        return active, draw_sessions(self.rng, self.world.users, active, self.cfg)

    def start_sessions(self, user_ids: np.ndarray) -> None:
        self.state.start_session(user_ids)

    def page_drivers(self, user_ids: np.ndarray, video_ids: np.ndarray,
                     with_truth: bool = True) -> tuple[Drivers, Drivers | None]:
        """The drivers of pages (B, K) in the users' current state, for `respond` and for
        `truth` (without in-page repeats), from one pass: (page drivers, truth drivers or
        None without `with_truth`)."""
        if self.fused:
            return fused_drivers(self.world, self.state, self.cfg, user_ids, video_ids,
                                 with_truth)
        if not with_truth:
            return compute_drivers(self.world, self.state, self.cfg, user_ids, video_ids), None
        return page_and_truth_drivers(self.world, self.state, self.cfg, user_ids, video_ids)

    def respond(self, user_ids: np.ndarray, video_ids: np.ndarray,
                drivers: Drivers | None = None) -> Outcomes:
        """Users (B,) watch their pages (B, K); state and follows update. Returns outcomes.
        `drivers`: the pages' drivers from `page_drivers`, taken in this state, when known."""
        return self._sharded(user_ids, video_ids, update=True, drivers=drivers)

    def sample(self, user_ids: np.ndarray, video_ids: np.ndarray,
               rng: np.random.Generator) -> Outcomes:
        """What users (B,) would do with pages (B, K), drawn from `rng`; no state changes."""
        return self._sharded(user_ids, video_ids, update=False, rng=rng)

    def _sharded(self, user_ids, video_ids, update: bool, rng=None,
                 drivers: Drivers | None = None) -> Outcomes:
        key = page_key(self.rng if rng is None else rng)
        shards = self._shards(user_ids.shape[0])
        if len(shards) == 1:
            return self._respond(key, 0, user_ids, video_ids, update, drivers)
        parts = list(thread_pool(len(shards)).map(
            lambda rows: self._respond(key, rows.start, user_ids[rows], video_ids[rows], update,
                                       _rows(drivers, rows)),
            shards))
        return Outcomes(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                           for f in fields(Outcomes)})

    def _shards(self, batch: int) -> list[slice]:
        n = self.cfg.threads if batch >= self.cfg.threads * MIN_SHARD else 1
        edges = np.linspace(0, batch, n + 1).astype(int)
        return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def _respond(self, key: np.uint64, row0: int, user_ids: np.ndarray,
                 video_ids: np.ndarray, update: bool = True,
                 d: Drivers | None = None) -> Outcomes:
        """One shard: users (B,) at batch rows row0.. answer pages (B, K) with `key`'s draws."""
        if d is None:
            d = self.page_drivers(user_ids, video_ids, with_truth=False)[0]
        s = self.state
        out = respond(key, row0, d, self.world.users, user_ids, s.temper[user_ids],
                      s.session_videos[user_ids], self.cfg)
        if not update:
            return out
        s.record_views(user_ids, d.topic, d.creator, out.viewed, self.cfg.boredom_decay,
                       d.cells, out.utility, out.temper)
        rows = np.broadcast_to(user_ids[:, None], video_ids.shape)
        self.world.follows.add(rows[out.follow], d.creator[out.follow])
        return out

    def truth(self, user_ids: np.ndarray, video_ids: np.ndarray,
              drivers: Drivers | None = None) -> Expected:
        """Ground truth for candidates (B, K) in the users' current state; `drivers`: their
        truth drivers from `page_drivers`, taken in this state, when known."""
        if drivers is None and not self.fused:
            return expected(self.world, self.state, self.cfg, user_ids, video_ids)
        if drivers is None:                     # candidates, not a page: no in-page repeats
            drivers = fused_drivers(self.world, self.state, self.cfg, user_ids, video_ids,
                                    with_truth=False, within_page=False)[0]
        return expected_from_drivers(drivers, self.world.users, user_ids, self.cfg)

    def end_day(self, active: np.ndarray, user_ids: np.ndarray, video_ids: np.ndarray,
                watch_ratio: np.ndarray) -> None:
        """Returns and interest drift from the day's views (flat arrays over impressions)."""
        update_return(self.state, self.world.users, active, self.cfg)
        topics = self.world.videos.topic[video_ids, 0]            # (N,) a day of rows: narrow
        drift_interests(self.world.users, user_ids, topics, watch_ratio, self.cfg.drift_rate)
