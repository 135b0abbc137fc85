"""Per-impression outcomes: what a simulated user does with each video of a page.

The model, all batched over (B users, K slots):
1. The hook: with probability sigmoid(hook_bias + hook + affinity) the first seconds land;
   otherwise the user skips early (2 to 30 % of the video).
2. Watch ratio when hooked: lognormal around a mean that rises with affinity and satisfaction
   and falls with duration; ratios above 1 are loops, capped at `loop_limit`.
3. Like, comment, share, follow and hate are drawn conditionally on the watch ratio (the
   nesting in CALIBRATION: explicit actions come almost only with long views), with per-user
   propensities; a follow is far likelier after a like, and never of a creator already followed.
4. Utility: how worthwhile the view was (latent). Clickbait hooks but leaves negative utility.
5. Leaving: after each video the user leaves with a hazard that falls with the running session
   temper (a moving average of utility) and rises with fatigue; slots after leaving are not
   viewed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.behavior.affinity import Drivers
from feedsim.config.schema import BehaviorConfig

TEMPER_DECAY = 0.85            # the temper is an exponential moving average of utility
TEMPER_GAIN = 1.0 - TEMPER_DECAY
SKIP_RATIO = (0.02, 0.3)
ACTIONS = ("like", "comment", "share", "follow", "hate")


@dataclass(frozen=True)
class Outcomes:
    """What happened on each slot of each page; (B, K) unless noted."""
    watch_s: np.ndarray     # float32, 0 where not viewed
    viewed: np.ndarray      # bool: the user reached this slot
    like: np.ndarray        # bool, and the four below
    comment: np.ndarray
    share: np.ndarray
    follow: np.ndarray
    hate: np.ndarray
    utility: np.ndarray     # float32 latent worth of the view
    left: np.ndarray        # (B,) bool: the session ended on this page
    temper: np.ndarray      # (B,) float32 latent session temper after the page


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def hook_probability(d: Drivers, cfg: BehaviorConfig) -> np.ndarray:
    return sigmoid(cfg.hook_bias + cfg.hook_weight * d.hook + 0.8 * d.affinity)


def log_ratio_mean(d: Drivers, cfg: BehaviorConfig) -> np.ndarray:
    """Mean of log watch ratio for a hooked view. (B, K)"""
    return (cfg.watch_ratio_mu + cfg.watch_ratio_affinity * d.affinity + 0.15 * d.satisfaction
            - cfg.watch_ratio_duration * np.log(d.duration_s / 9.6))


def action_logits(d: Drivers, props: dict, log_r: np.ndarray, cfg: BehaviorConfig) -> dict:
    """Log-odds of each explicit action given the (clipped) log watch ratio. (B, K) each."""
    a, sat = d.affinity, d.satisfaction
    return {
        "like": cfg.like_bias + props["like"] + 0.5 * a + 0.5 * sat + 0.6 * log_r,
        "comment": cfg.comment_bias + props["comment"] + 0.3 * a + 0.4 * np.abs(sat) + 0.8 * log_r,
        "share": cfg.share_bias + props["share"] + 0.4 * a + 0.6 * sat + 0.9 * log_r + 0.8 * d.trend,
        "follow": cfg.follow_bias + props["follow"] + 0.4 * a + 0.6 * log_r,
        "hate": cfg.hate_bias + props["hate"] - 0.6 * a - 0.6 * sat,
    }


def utility_of(ratio: np.ndarray, d: Drivers, hate: np.ndarray) -> np.ndarray:
    """Latent worth of a view: satisfaction earned by watching, minus the cost of a swipe."""
    return np.minimum(ratio, 1.0) * (d.worth + 0.5) + 0.3 * d.affinity - 0.25 - hate


def user_propensities(users, user_ids: np.ndarray) -> dict:
    rows = user_ids[:, None]
    return {"like": users.like_prop[rows], "comment": users.comment_prop[rows],
            "share": users.share_prop[rows], "follow": users.follow_prop[rows],
            "hate": users.hate_prop[rows]}


def uniform(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.random(shape, dtype=np.float32)


def _watch_ratio(rng: np.random.Generator, d: Drivers, cfg: BehaviorConfig) -> np.ndarray:
    shape = d.affinity.shape
    hooked = uniform(rng, shape) < hook_probability(d, cfg)
    z = rng.standard_normal(shape, dtype=np.float32)
    full = np.exp(log_ratio_mean(d, cfg) + cfg.watch_ratio_sigma * z)
    skip = SKIP_RATIO[0] + (SKIP_RATIO[1] - SKIP_RATIO[0]) * uniform(rng, shape)
    return np.minimum(np.where(hooked, full, skip), cfg.loop_limit).astype(np.float32)


def _leave(rng, utility: np.ndarray, temper0: np.ndarray, watched0: np.ndarray,
           patience: np.ndarray, cfg: BehaviorConfig):
    """Where each user leaves, and their session temper after the page.

    Returns (leave_at (B,) int64: the slot after which the user leaves, K if they stay;
    temper (B,) float32 after the last viewed slot).
    """
    slots = np.ascontiguousarray(utility.T)                                   # (K, B)
    k = slots.shape[0]
    base = cfg.leave_bias + patience + cfg.leave_fatigue * watched0.astype(np.float32)  # (B,)
    tempers = np.empty_like(slots)
    logits = np.empty_like(slots)
    temper = temper0.astype(np.float32)
    for i in range(k):                       # K is a handful of slots; vectorised over users
        temper = TEMPER_DECAY * temper + TEMPER_GAIN * slots[i]
        tempers[i] = temper
        logits[i] = base + cfg.leave_fatigue * (i + 1) - cfg.leave_temper * temper
    leaves = uniform(rng, logits.shape) < sigmoid(logits)                    # (K, B)
    first = leaves.argmax(axis=0)                                             # (B,)
    columns = np.arange(first.shape[0])
    leave_at = np.where(leaves[first, columns], first, k)
    return leave_at, tempers[np.minimum(leave_at, k - 1), columns]


def respond(rng: np.random.Generator, d: Drivers, users, user_ids: np.ndarray,
            temper0: np.ndarray, watched0: np.ndarray, cfg: BehaviorConfig) -> Outcomes:
    """Sample outcomes for a batch of pages. temper0/watched0: (B,) session state so far."""
    ratio = _watch_ratio(rng, d, cfg)                                        # (B, K)
    log_r = np.log(np.clip(ratio, 0.05, 3.0))
    logits = action_logits(d, user_propensities(users, user_ids), log_r, cfg)
    draws = {}
    for name in ("like", "comment", "share", "hate"):
        draws[name] = uniform(rng, ratio.shape) < sigmoid(logits[name])
    follow_logit = logits["follow"] + cfg.follow_after_like * draws["like"].astype(np.float32)
    draws["follow"] = (uniform(rng, ratio.shape) < sigmoid(follow_logit)) & ~d.followed
    utility = utility_of(ratio, d, draws["hate"].astype(np.float32)).astype(np.float32)
    leave_at, temper = _leave(rng, utility, temper0, watched0, users.patience[user_ids], cfg)
    viewed = np.arange(ratio.shape[1])[None, :] <= np.minimum(leave_at, ratio.shape[1] - 1)[:, None]
    return Outcomes(
        watch_s=np.where(viewed, ratio * d.duration_s, 0.0).astype(np.float32),
        viewed=viewed,
        utility=np.where(viewed, utility, 0.0).astype(np.float32),
        left=leave_at < ratio.shape[1],
        temper=temper,
        **{name: draws[name] & viewed for name in ACTIONS},
    )
