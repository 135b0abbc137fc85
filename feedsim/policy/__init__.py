"""Feed policies: the interface, the baselines (random, popular, oracle) and their factory."""
from __future__ import annotations

import numpy as np

from feedsim.config.schema import Config
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests
from feedsim.policy.oracle import OraclePolicy
from feedsim.policy.popular import PopularPolicy
from feedsim.policy.random import RandomPolicy

POLICIES = ("random", "popular", "oracle", "retrieval", "ranked", "fyp")


def make_policy(root: Config, ctx: PlatformContext, rng: np.random.Generator,
                world=None, behavior=None) -> FeedPolicy:
    """Build the policy of `root.policy` (an arm's whole config, so stages read their groups).

    Only the oracle receives the world and behaviour model.
    """
    cfg = root.policy
    if cfg.name == "random":
        return RandomPolicy(ctx, rng)
    if cfg.name == "popular":
        return PopularPolicy(ctx, rng, cfg)
    if cfg.name == "oracle":
        return OraclePolicy(ctx, rng, cfg, world, behavior)
    if cfg.name == "retrieval":                  # imported here: it pulls in torch and implicit
        from feedsim.device import resolve_device
        from feedsim.policy.retrieval_only import RetrievalPolicy
        return RetrievalPolicy(ctx, rng, cfg, root.retrieval, resolve_device(root.device))
    if cfg.name == "ranked":                     # imported here: it pulls in torch
        from feedsim.device import resolve_device
        from feedsim.policy.ranked import RankedPolicy
        from feedsim.rng import Streams
        seed = Streams(root.seed).integer_seed("ranking.model") % (2**31)
        return RankedPolicy(ctx, rng, root.ranking, resolve_device(root.device), seed,
                            cfg.popular_pool)
    if cfg.name == "fyp":                        # imported here: it pulls in torch
        from feedsim.device import resolve_device
        from feedsim.policy.fyp import FypPolicy
        from feedsim.rng import Streams
        streams = Streams(root.seed)
        seeds = {s: streams.integer_seed(f"{s}.model") % (2**31) for s in ("retrieval", "ranking")}
        return FypPolicy(ctx, rng, root, resolve_device(root.device), seeds)
    raise ValueError(f"policy.name: unknown policy {cfg.name!r}; one of {'|'.join(POLICIES)}")


__all__ = ["POLICIES", "FeedPolicy", "Page", "PlatformContext", "Requests", "make_policy"]
