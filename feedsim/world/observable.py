"""The observability boundary: the only view of the world that the platform receives.

Retrieval, ranking, re-ranking and training see what a real platform sees: account settings,
video metadata, creator follower counts, the follow graph, and their own logs. They receive a
`PlatformView`, never the `World`, and every array it hands out is read-only. Latent state
(interests, qualities, propensities, boredom, satisfaction) has no accessor here.
"""
from __future__ import annotations

import numpy as np

from feedsim.world.follows import FollowGraph


def _ro(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


class CatalogueView:
    """Observable columns of the video catalogue (it grows during the run)."""
    COLUMNS = ("creator", "tags", "sound", "duration_s", "language", "upload_day", "moderated")

    def __init__(self, catalogue):
        self._catalogue = catalogue

    @property
    def n(self) -> int:
        return self._catalogue.n

    def __getattr__(self, name: str) -> np.ndarray:
        if name in CatalogueView.COLUMNS:
            return _ro(getattr(self._catalogue, name))
        raise AttributeError(f"{name!r} is not observable video metadata")


class FollowView:
    """Read-only follow graph."""

    def __init__(self, graph: FollowGraph):
        self._graph = graph

    def contains(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        return self._graph.contains(users, creators)

    def following(self, user_ids: np.ndarray):
        return self._graph.following(user_ids)

    def counts_per_user(self) -> np.ndarray:
        return self._graph.counts_per_user()


class PlatformView:
    """Everything observable: the platform's whole window onto the world."""

    def __init__(self, world):
        self._world = world
        self.videos = CatalogueView(world.videos)
        self.follows = FollowView(world.follows)
        self.n_users = world.users.n
        self.n_creators = world.creators.n
        self.n_tags = world.cfg.n_topics
        self.n_sounds = world.cfg.n_sounds
        self.markets = tuple(world.cfg.markets)

    @property
    def user_market(self) -> np.ndarray:
        return _ro(self._world.users.market)

    @property
    def user_language(self) -> np.ndarray:
        return _ro(self._world.users.language)

    @property
    def user_device(self) -> np.ndarray:
        return _ro(self._world.users.device)

    @property
    def user_account_age_days(self) -> np.ndarray:
        return _ro(self._world.users.account_age_days)

    @property
    def creator_followers(self) -> np.ndarray:
        return _ro(self._world.creators.followers)

    @property
    def creator_language(self) -> np.ndarray:
        return _ro(self._world.creators.language)

    @property
    def creator_market(self) -> np.ndarray:
        return _ro(self._world.creators.market)

    @property
    def day(self) -> int:
        return self._world.day
