"""How simulated users respond: the behaviour model, batched over users."""
from feedsim.behavior.model import Behavior
from feedsim.behavior.response import Outcomes

__all__ = ["Behavior", "Outcomes"]
