"""Ground truth: the expected outcome of showing a video to a user, and its true value.

For any batch of (user, video) pairs, `expected` integrates the response model exactly as the
sampler draws it: the hook probability splits skip from view, the hooked watch ratio is
integrated with Gauss-Hermite quadrature over its lognormal, and each action's probability is
averaged over the same ratio (a follow mixes the liked and not-liked branches).

The true value combines immediate engagement (expected watch seconds and actions) with
long-term satisfaction (expected utility, which drives whether the user stays and returns).
The two disagree on purpose: clickbait earns watch seconds and costs satisfaction. Only the
oracle policy and the metrics read this module.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.behavior import kernel
from feedsim.behavior.affinity import Drivers, compute_drivers
from feedsim.behavior.fused_truth import fused_expected
from feedsim.behavior.response import (ACTIONS, SKIP_RATIO, action_logits, hook_probability,
                                       log_ratio_mean, sigmoid, user_propensities, utility_of)
from feedsim.config.schema import BehaviorConfig

NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(7)       # probabilists' Hermite
NODES, WEIGHTS = NODES.astype(np.float32), (WEIGHTS / WEIGHTS.sum()).astype(np.float32)
ENGAGEMENT_WEIGHTS = {"like": 1.0, "comment": 2.0, "share": 3.0, "follow": 5.0, "hate": -10.0}
ENGAGEMENT_ARRAY = np.array([ENGAGEMENT_WEIGHTS[name] for name in ACTIONS], np.float32)
WATCH_UNIT_S = 10.0


@dataclass(frozen=True)
class Expected:
    """Expected outcomes per (user, video); every array is (B, K)."""
    watch_s: np.ndarray
    p_hook: np.ndarray
    like: np.ndarray
    comment: np.ndarray
    share: np.ndarray
    follow: np.ndarray
    hate: np.ndarray
    utility: np.ndarray
    engagement: np.ndarray   # immediate: watch units plus weighted actions
    value: np.ndarray        # engagement + satisfaction_weight x utility


def _branches(d: Drivers, cfg: BehaviorConfig):
    """Watch ratios and weights of the quadrature: (N,) nodes over hooked + one skip node."""
    mu = log_ratio_mean(d, cfg)                                         # (B, K)
    hooked = np.minimum(np.exp(mu[..., None] + cfg.watch_ratio_sigma * NODES), cfg.loop_limit)
    skip = np.full(mu.shape + (1,), sum(SKIP_RATIO) / 2.0, dtype=mu.dtype)
    p_hook = hook_probability(d, cfg)[..., None]
    ratios = np.concatenate([hooked, skip], axis=-1)                    # (B, K, N+1)
    weights = np.concatenate([p_hook * WEIGHTS, 1.0 - p_hook], axis=-1)
    return ratios, weights, p_hook[..., 0]


def expected_from_drivers(d: Drivers, users, user_ids: np.ndarray,
                          cfg: BehaviorConfig) -> Expected:
    """The expected outcomes of drivers d (B, K): by the fused kernel (fused_truth.py) under
    behavior.kernel=fused, else by the numpy steps below."""
    if cfg.kernel == "fused" and kernel.AVAILABLE:
        props = np.stack([np.take(getattr(users, f"{name}_prop"), user_ids) for name in ACTIONS])
        return Expected(**fused_expected(d, props, cfg, NODES, WEIGHTS, ENGAGEMENT_ARRAY,
                                         WATCH_UNIT_S))
    return _expected_steps(d, users, user_ids, cfg)


def _expected_steps(d: Drivers, users, user_ids: np.ndarray,
                    cfg: BehaviorConfig) -> Expected:
    ratios, weights, p_hook = _branches(d, cfg)
    expand = lambda a: a[..., None]                                      # noqa: E731
    dn = Drivers(*(expand(getattr(d, f)) for f in Drivers.__dataclass_fields__))
    props = {k: v[..., None] for k, v in user_propensities(users, user_ids).items()}
    logits = action_logits(dn, props, np.log(np.clip(ratios, 0.05, 3.0)), cfg)
    p = {name: sigmoid(logit) for name, logit in logits.items()}
    p_follow = p["like"] * sigmoid(logits["follow"] + cfg.follow_after_like) \
        + (1 - p["like"]) * p["follow"]
    p["follow"] = p_follow * ~dn.followed
    utility = utility_of(ratios, dn, p["hate"])
    mean = {name: (p[name] * weights).sum(-1) for name in p}
    watch_s = (ratios * weights).sum(-1) * d.duration_s
    engagement = watch_s / WATCH_UNIT_S + sum(w * mean[k] for k, w in ENGAGEMENT_WEIGHTS.items())
    util = (utility * weights).sum(-1)
    return Expected(watch_s=watch_s, p_hook=p_hook, utility=util, engagement=engagement,
                    value=engagement + cfg.satisfaction_weight * util, **mean)


def expected(world, state, cfg: BehaviorConfig, user_ids: np.ndarray,
             video_ids: np.ndarray) -> Expected:
    """Ground truth for users (B,) and candidate videos (B, K) in the users' current state."""
    d = compute_drivers(world, state, cfg, user_ids, video_ids, within_page=False)
    return expected_from_drivers(d, world.users, user_ids, cfg)
