"""The synthetic world: users, creators, videos, trends and follows, with a hidden truth."""
from feedsim.world.observable import PlatformView
from feedsim.world.world import World

__all__ = ["PlatformView", "World"]
