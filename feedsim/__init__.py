"""feedsim: a sandbox for the algorithm behind a For You short-video feed.

A synthetic world with a hidden truth (feedsim.world, feedsim.behavior) is served by a
recommendation platform that sees only observable data (feedsim.policy and, later, retrieval,
ranking and re-ranking), day after day (feedsim.loop), and everything is measured
(feedsim.metrics).
"""
__version__ = "0.1.0"
