"""The world: users, creators, videos, trends and follows, with the hidden truth inside.

`World.generate` builds a world from its config and the `world` RNG stream. Each simulated day
the world moves on: trends are born and fade, creators upload (in proportion to their posting
rate and their motivation, which follows the audience they got), and follows made during the
day raise follower counts. The platform never holds a World; it gets `world.view()`.
"""
from __future__ import annotations

import numpy as np

from feedsim.config.schema import WorldConfig
from feedsim.world.creators import Creators, generate_creators, update_motivation
from feedsim.world.follows import FollowGraph, initial_follows
from feedsim.world.observable import PlatformView
from feedsim.world.trends import Trends, advance_trends, generate_trends, pick_sounds
from feedsim.world.users import Users, generate_users
from feedsim.world.videos import Catalogue, make_videos


class World:
    def __init__(self, cfg: WorldConfig, users: Users, creators: Creators, videos: Catalogue,
                 trends: Trends, follows: FollowGraph, sound_popularity: np.ndarray,
                 rng: np.random.Generator):
        self.cfg = cfg
        self.users = users
        self.creators = creators
        self.videos = videos
        self.trends = trends
        self.follows = follows
        self.sound_popularity = sound_popularity      # (n_sounds,) evergreen sound choice
        self.rng = rng
        self.day = 0

    @classmethod
    def generate(cls, cfg: WorldConfig, rng: np.random.Generator) -> "World":
        topic_popularity = rng.dirichlet(np.full(cfg.n_topics, 3.0))
        users = generate_users(cfg, rng, topic_popularity)
        creators = generate_creators(cfg, rng, topic_popularity)
        trends = generate_trends(cfg, rng)
        ranks = np.arange(1, cfg.n_sounds + 1, dtype=np.float64)
        sound_popularity = (1.0 / ranks) / (1.0 / ranks).sum()
        # the initial catalogue: back-catalogue uploads over the last 30 days, bigger creators more
        weight = creators.posting_rate * np.log1p(creators.followers + 1.0)
        who = rng.choice(creators.n, cfg.n_videos, p=weight / weight.sum())
        sounds = pick_sounds(rng, trends, cfg.n_videos, sound_popularity)
        first = make_videos(cfg, rng, creators, who, sounds, day=0)
        first.upload_day[:] = -rng.integers(0, 30, cfg.n_videos).astype(np.int32)
        follows = initial_follows(rng, users.n, creators.followers, creators.language,
                                  users.language, cfg.initial_follows_median)
        return cls(cfg, users, creators, Catalogue(first), trends, follows, sound_popularity, rng)

    def view(self) -> PlatformView:
        """The observable view handed to the platform."""
        return PlatformView(self)

    def upload(self) -> np.ndarray:
        """Today's uploads by motivated, active creators; returns the new video ids."""
        rate = self.creators.posting_rate * self.creators.motivation * self.creators.active
        n_per_creator = self.rng.poisson(rate)
        who = np.repeat(np.arange(self.creators.n), n_per_creator)
        if who.size == 0:
            return np.empty(0, dtype=np.int64)
        sounds = pick_sounds(self.rng, self.trends, who.size, self.sound_popularity)
        batch = make_videos(self.cfg, self.rng, self.creators, who, sounds, self.day)
        return self.videos.append(batch)

    def end_day(self, creator_engaged_views: np.ndarray) -> None:
        """Close the day: follows land, creators react to their audience, trends move on."""
        gained = self.follows.commit()
        np.add.at(self.creators.followers, gained, 1.0)
        update_motivation(self.creators, creator_engaged_views)
        self.day += 1
        advance_trends(self.trends, self.cfg, self.rng, self.day)

    def start_day(self) -> np.ndarray:
        """Open the day: creators upload. Day 0 serves the initial catalogue as is."""
        if self.day == 0:
            return np.empty(0, dtype=np.int64)
        return self.upload()
