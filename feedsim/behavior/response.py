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

from feedsim.behavior import draws, kernel
from feedsim.behavior.affinity import Drivers
from feedsim.behavior.kernel import ACTION_WEIGHTS, ACTIONS, kernel_params
from feedsim.config.schema import BehaviorConfig

TEMPER_DECAY = 0.85            # the temper is an exponential moving average of utility
TEMPER_GAIN = 1.0 - TEMPER_DECAY
SKIP_RATIO = (0.02, 0.3)


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
    """Log-odds of each explicit action given the (clipped) log watch ratio. (B, K) each.

    Bias + propensity + kernel.ACTION_WEIGHTS x (log_r, affinity, satisfaction,
    |satisfaction|, trend), each logit one array accumulated in place through a shared
    scratch buffer (zero weights are skipped: adding them would add exact zeros).
    """
    terms = (d.affinity, d.satisfaction, np.abs(d.satisfaction), d.trend)
    scratch = np.empty_like(log_r)
    out = {}
    for name, weights in zip(ACTIONS, ACTION_WEIGHTS):
        logit = np.multiply(log_r, weights[0])
        logit += props[name] + getattr(cfg, f"{name}_bias")
        for weight, x in zip(weights[1:], terms):
            if weight != 0.0:
                logit += np.multiply(x, weight, out=scratch)
        out[name] = logit
    return out


def utility_of(ratio: np.ndarray, d: Drivers, hate: np.ndarray) -> np.ndarray:
    """Latent worth of a view: satisfaction earned by watching, minus the cost of a swipe."""
    out = np.minimum(ratio, 1.0)
    out *= d.worth + 0.5
    out += 0.3 * d.affinity - 0.25
    out -= hate
    return out


def user_propensities(users, user_ids: np.ndarray) -> dict:
    return {name: np.take(getattr(users, f"{name}_prop"), user_ids)[:, None]      # (B, 1)
            for name in ACTIONS}


def bernoulli(u: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """u < sigmoid(logit) as u x (1 + exp(-logit)) < 1, in place: `logit` is used up. bool"""
    np.negative(logit, out=logit)
    with np.errstate(over="ignore"):         # exp(-logit) = inf: sigmoid 0, never drawn
        np.exp(logit, out=logit)
    logit += 1.0
    logit *= u
    return logit < 1.0


def _blend(mask: np.ndarray, yes: np.ndarray, no: np.ndarray) -> np.ndarray:
    """np.where(mask, yes, no) as arithmetic, in place in `yes` (np.where is slow here)."""
    yes -= no
    yes *= mask
    yes += no
    return yes


def _watch_ratio(u_hook: np.ndarray, u_skip: np.ndarray, z: np.ndarray, d: Drivers,
                 cfg: BehaviorConfig) -> np.ndarray:
    """Watch ratio of every slot: a lognormal when hooked, an early skip otherwise. (B, K)"""
    hook_logit = cfg.hook_weight * d.hook
    hook_logit += 0.8 * d.affinity + cfg.hook_bias
    hooked = bernoulli(u_hook, hook_logit)
    z *= cfg.watch_ratio_sigma
    z += log_ratio_mean(d, cfg)
    full = np.exp(z, out=z)
    skip = np.multiply(u_skip, SKIP_RATIO[1] - SKIP_RATIO[0])
    skip += SKIP_RATIO[0]
    return np.clip(_blend(hooked, full, skip), None, cfg.loop_limit, out=full)


def _leave(u: np.ndarray, utility: np.ndarray, temper0: np.ndarray, watched0: np.ndarray,
           patience: np.ndarray, cfg: BehaviorConfig):
    """Where each user leaves, and their session temper after the page. u: (K, B) uniforms.

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
    stays = ~bernoulli(u, logits)                                             # (K, B)
    staying = stays[0].copy()
    leave_at = staying.astype(np.intp)                  # (B,) slots stayed past: first leave
    for i in range(1, k):
        staying &= stays[i]
        leave_at += staying
    return leave_at, tempers[np.minimum(leave_at, k - 1), np.arange(leave_at.shape[0])]


def respond(key: np.uint64, row0: int, d: Drivers, users, user_ids: np.ndarray,
            temper0: np.ndarray, watched0: np.ndarray, cfg: BehaviorConfig) -> Outcomes:
    """Sample outcomes for a batch of pages. temper0/watched0: (B,) session state so far.

    The random numbers are counter-based (`draws`): a pure function of `key` (one per call)
    and each user's batch row (`row0` + position), slot and use, so a shard of the batch
    draws what the whole batch would. `behavior.kernel` picks how they become outcomes: the
    fused kernel (feedsim/behavior/kernel.py, one compiled pass that draws only what viewed
    slots use) or the numpy steps below (whole blocks of draws). Both compute the model that
    `truth` integrates.
    """
    if d.affinity.shape[1] > draws.MAX_SLOTS:
        raise ValueError(f"pages of {d.affinity.shape[1]} slots: the draws' counter allows "
                         f"{draws.MAX_SLOTS}")
    if cfg.kernel == "fused" and kernel.AVAILABLE:
        return _respond_fused(key, row0, d, users, user_ids, temper0, watched0, cfg)
    return _respond_steps(key, row0, d, users, user_ids, temper0, watched0, cfg)


def _respond_fused(key, row0, d: Drivers, users, user_ids, temper0, watched0,
                   cfg: BehaviorConfig) -> Outcomes:
    """respond() through the fused kernel: one pass over the page."""
    shape = d.affinity.shape
    props = np.stack([np.take(getattr(users, f"{name}_prop"), user_ids) for name in ACTIONS])
    watch_s, utility = np.empty(shape, np.float32), np.empty(shape, np.float32)
    viewed = np.empty(shape, bool)
    actions = np.empty((len(ACTIONS),) + shape, bool)                        # (5, B, K)
    left, temper = np.empty(shape[0], bool), np.empty(shape[0], np.float32)
    log_duration = np.log(d.duration_s / np.float32(9.6))
    kernel.respond_pages(np.uint64(key), row0, *draws.NORMAL_TABLES,
                         d.affinity, d.hook, d.satisfaction, d.worth, d.duration_s,
                         log_duration, d.trend, d.followed, props,
                         temper0.astype(np.float32, copy=False), watched0,
                         np.take(users.patience, user_ids), kernel_params(cfg), ACTION_WEIGHTS,
                         watch_s, viewed, actions, utility, left, temper)
    return Outcomes(watch_s=watch_s, viewed=viewed, utility=utility, left=left, temper=temper,
                    **dict(zip(ACTIONS, actions)))


def _respond_steps(key, row0, d: Drivers, users, user_ids, temper0, watched0,
                   cfg: BehaviorConfig) -> Outcomes:
    """respond() as whole-array numpy steps, every Bernoulli decided in place."""
    shape = d.affinity.shape
    rows = np.arange(row0, row0 + shape[0])
    u = draws.uniform_block(key, rows, shape[1], np.arange(draws.NORMAL))   # (8, B, K)
    z = draws.normal_block(key, rows, shape[1])                              # (B, K)
    ratio = _watch_ratio(u[draws.HOOK], u[draws.SKIP], z, d, cfg)            # (B, K)
    log_r = np.log(np.clip(ratio, 0.05, 3.0))
    logits = action_logits(d, user_propensities(users, user_ids), log_r, cfg)
    acts = {name: bernoulli(u[draws.ACTION0 + i], logits[name])
            for i, name in enumerate(ACTIONS) if name != "follow"}
    follow_logit = logits["follow"]
    follow_logit += np.float32(cfg.follow_after_like) * acts["like"]
    acts["follow"] = bernoulli(u[draws.ACTION0 + ACTIONS.index("follow")], follow_logit)
    acts["follow"] &= ~d.followed
    utility = utility_of(ratio, d, acts["hate"])
    leave_at, temper = _leave(u[draws.LEAVE].T, utility, temper0, watched0,
                              np.take(users.patience, user_ids), cfg)
    viewed = np.arange(shape[1])[None, :] <= leave_at[:, None]               # (B, K)
    ratio *= d.duration_s
    ratio *= viewed
    utility *= viewed
    for name in ACTIONS:
        acts[name] &= viewed
    return Outcomes(watch_s=ratio, viewed=viewed, utility=utility, left=leave_at < shape[1],
                    temper=temper, **acts)
