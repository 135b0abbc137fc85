"""The day loop: serve, respond, log, and move the world on, day after day."""
from feedsim.loop.runner import RunDirError, Simulation, run

__all__ = ["RunDirError", "Simulation", "run"]
