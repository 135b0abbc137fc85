"""Validation of a composed config, before anything is allocated or written.

Hydra's schema catches misspelt and ill-typed keys; this module catches values that are typed
correctly but meaningless (negative sizes, shares outside [0, 1], NaN, unknown markets, a world
too large for memory). Each failure is one ConfigError naming the key and what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

from feedsim.config.schema import MARKETS, Config

DEVICES = ("auto", "cpu", "cuda")
POSITIVE_INTS = {
    "world": ("n_users", "n_creators", "n_videos", "n_topics", "style_dim", "n_sounds"),
    "loop": ("days", "page_size", "max_pages_per_session", "seen_window", "log_memory_days"),
    "behavior": ("creator_buckets", "threads"),
    "policy": ("popular_pool", "oracle_candidates", "prerank", "retrain_every_days",
               "refill_below", "live_candidates", "live_refresh_requests"),
}
POSITIVE_FLOATS = {
    "world": ("interest_concentration", "activity_sigma", "follower_median", "follower_tail_alpha",
              "follower_tail_start", "follower_max", "initial_follows_median", "duration_median_s",
              "duration_sigma", "duration_tail_alpha", "duration_max_s", "trend_life_days",
              "max_memory_gb"),
    "behavior": ("watch_ratio_sigma", "loop_limit", "session_videos_target"),
    "policy": ("popular_halflife_days",),
    "loop": ("views_milestone_per_user",),
}
NON_NEGATIVE = {
    "world": ("uploads_per_creator_day", "trend_births_per_day", "trend_peak", "n_initial_trends"),
}
UNIT_INTERVAL = {
    "world": ("clickbait_creator_share", "moderation_rate", "duration_tail_share"),
    "behavior": ("boredom_decay", "drift_rate", "return_memory"),
    "loop": ("regret_sample",),
}


class ConfigError(ValueError):
    """A config value that cannot be simulated; the message names the key."""


def _walk_floats(node: Any, prefix: str):
    for f in fields(node):
        value = getattr(node, f.name)
        key = f"{prefix}{f.name}"
        if is_dataclass(value):
            yield from _walk_floats(value, key + ".")
        elif isinstance(value, float):
            yield key, value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, float):
                    yield f"{key}[{i}]", item


def _check(ok: bool, key: str, allowed: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: must be {allowed} (got {value!r})")


def _check_ranges(cfg: Config) -> None:
    for group, names in POSITIVE_INTS.items():
        for name in names:
            value = getattr(getattr(cfg, group), name)
            _check(value > 0, f"{group}.{name}", "a positive integer", value)
    for group, names in POSITIVE_FLOATS.items():
        for name in names:
            value = getattr(getattr(cfg, group), name)
            _check(value > 0, f"{group}.{name}", "> 0", value)
    for group, names in NON_NEGATIVE.items():
        for name in names:
            value = getattr(getattr(cfg, group), name)
            _check(value >= 0, f"{group}.{name}", ">= 0", value)
    for group, names in UNIT_INTERVAL.items():
        for name in names:
            value = getattr(getattr(cfg, group), name)
            _check(0.0 <= value <= 1.0, f"{group}.{name}", "in [0, 1]", value)


def _check_behavior(cfg: Config) -> None:
    _check(cfg.behavior.kernel in ("fused", "numpy"), "behavior.kernel", "one of fused|numpy",
           cfg.behavior.kernel)
    buckets = cfg.behavior.creator_buckets
    _check(buckets & (buckets - 1) == 0, "behavior.creator_buckets", "a power of two", buckets)


def _check_stages(cfg: Config) -> None:
    """Sizes of the platform stages that their own schemas leave open."""
    r = cfg.retrieval
    _check(r.total_candidates > 0, "retrieval.total_candidates", "a positive integer",
           r.total_candidates)
    _check(r.two_tower.dim > 0, "retrieval.two_tower.dim", "a positive integer", r.two_tower.dim)
    _check(r.two_tower.positive_weight in ("seconds", "ratio"), "retrieval.two_tower.positive_weight",
           "one of seconds|ratio", r.two_tower.positive_weight)
    _check(r.eval_users >= 0, "retrieval.eval_users", ">= 0", r.eval_users)
    _check(r.eval_k > 0, "retrieval.eval_k", "a positive integer", r.eval_k)
    _check(cfg.world.max_memory_gb <= 4096, "world.max_memory_gb", "at most 4096 (GB)",
           cfg.world.max_memory_gb)


def _check_world(cfg: Config) -> None:
    world = cfg.world
    unknown = [m for m in world.markets if m not in MARKETS]
    _check(not unknown, "world.markets", f"a subset of {', '.join(MARKETS)}", unknown)
    _check(len(world.markets) > 0, "world.markets", "non-empty", world.markets)
    _check(len(world.market_weights) == len(world.markets), "world.market_weights",
           f"one weight per market ({len(world.markets)})", world.market_weights)
    _check(all(w >= 0 for w in world.market_weights) and sum(world.market_weights) > 0,
           "world.market_weights", "non-negative with a positive sum", world.market_weights)
    _check(world.duration_max_s > world.duration_median_s, "world.duration_max_s",
           "greater than world.duration_median_s", world.duration_max_s)
    _check(world.n_users < 2**31 and world.n_videos < 2**31, "world.n_users",
           "below 2**31", world.n_users)


def validate_config(cfg: Config) -> None:
    """Raise ConfigError on the first invalid value; return None when the config is sound."""
    for key, value in _walk_floats(cfg, ""):
        _check(math.isfinite(value), key, "a finite number", value)
    _check(cfg.device in DEVICES, "device", "one of " + "|".join(DEVICES), cfg.device)
    _check(not (cfg.resume and cfg.overwrite), "overwrite",
           "false with resume=true (resume continues a run, overwrite replaces it)", True)
    _check(0 <= cfg.seed < 2**63, "seed", "an integer in [0, 2**63)", cfg.seed)
    _check(cfg.behavior.threads <= 256, "behavior.threads", "at most 256", cfg.behavior.threads)
    _check(cfg.loop.page_size <= min(100, cfg.world.n_videos), "loop.page_size",
           "at most 100 and at most world.n_videos", cfg.loop.page_size)
    _check_ranges(cfg)
    _check_world(cfg)
    _check_behavior(cfg)
    _check_stages(cfg)
    _check(cfg.policy.prerank_per_source >= 0, "policy.prerank_per_source", ">= 0",
           cfg.policy.prerank_per_source)
    from feedsim.policy import POLICIES  # late import: policies import the config package
    from feedsim.policy.live import LIVE_CAPABLE
    live = list(cfg.policy.live_sources)
    _check(all(s in LIVE_CAPABLE and s in cfg.retrieval.sources for s in live)
           and len(set(live)) == len(live), "policy.live_sources",
           f"distinct names among {'|'.join(LIVE_CAPABLE)} that are also in retrieval.sources",
           live)
    _check(cfg.policy.retrieval_cache in ("request", "session", "day"), "policy.retrieval_cache",
           "one of request|session|day", cfg.policy.retrieval_cache)
    _check(cfg.policy.name in POLICIES, "policy.name", "one of " + "|".join(sorted(POLICIES)),
           cfg.policy.name)
    from feedsim.world.memory import check_fits  # late import for the same reason
    check_fits(cfg)
