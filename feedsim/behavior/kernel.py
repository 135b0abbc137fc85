"""The response model as one fused pass per page: the behaviour model's hot loop.

`response.respond` states the model as whole-array numpy steps (hook, watch ratio, actions,
utility, leaving), each a pass over the (B users, K slots) page; at a page of a few hundred
thousand impressions that is some 80 passes over memory. This module computes the same model
slot by slot in one compiled loop (numba, `nogil` so the behaviour's thread shards run it in
parallel), drawing its random numbers where it uses them (`draws`: only viewed slots draw,
and a skip draws no normal), so a page costs one read of its drivers and one write of its
outcomes.

The arithmetic is float32 as in the numpy steps; `exp` and `log` come from a different
library, so a decision that lands within a rounding error of its threshold can fall the other
way (tests/test_behavior_kernel.py compares the two). `response.respond` picks the kernel
when `behavior.kernel` is `fused` and numba is installed.
"""
from __future__ import annotations

import numpy as np

from feedsim.behavior.draws import ACTION0, HOOK, LEAVE, SKIP, normal, uniform
from feedsim.jit import AVAILABLE, njit          # noqa: F401 - AVAILABLE: numba is installed

PARAMS = ("hook_bias", "hook_weight", "watch_ratio_mu", "watch_ratio_affinity",
          "watch_ratio_duration", "watch_ratio_sigma", "loop_limit", "like_bias", "comment_bias",
          "share_bias", "follow_bias", "hate_bias", "follow_after_like", "leave_bias",
          "leave_fatigue", "leave_temper")


ACTIONS = ("like", "comment", "share", "follow", "hate")
ACTION_TERMS = ("log_ratio", "affinity", "satisfaction", "abs_satisfaction", "trend")
# An action's logit is bias + the user's propensity + these weights x its terms (and a follow
# gains follow_after_like after a like). The numpy steps, this kernel and the ground truth
# all read this one table; hate does not depend on the watch ratio.
ACTION_WEIGHTS = np.array([
    [0.6, 0.5, 0.5, 0.0, 0.0],          # like
    [0.8, 0.3, 0.0, 0.4, 0.0],          # comment
    [0.9, 0.4, 0.6, 0.0, 0.8],          # share
    [0.6, 0.4, 0.0, 0.0, 0.0],          # follow
    [0.0, -0.6, -0.6, 0.0, 0.0],        # hate
], dtype=np.float32)                    # (actions, terms)


def kernel_params(cfg) -> np.ndarray:
    """The behaviour config's response parameters, float32 in PARAMS order. (P,)"""
    return np.array([getattr(cfg, name) for name in PARAMS], dtype=np.float32)


LOG_MIN_RATIO, LOG_MAX_RATIO = np.float32(np.log(0.05)), np.float32(np.log(3.0))  # log_r clip


SURE_LOGIT = np.float32(3.0)                     # beyond +-3 most draws need no exp:
SURE_MARGIN = np.float32(np.exp(-3.0))           # sigmoid(-x) < exp(-x) < exp(-3) for x > 3


@njit
def _bernoulli(u, logit):
    """u < sigmoid(logit), as u x (1 + exp(-logit)) < 1 (the numpy steps' test); an exp
    that overflows to inf is a probability of 0, never drawn. Far from the threshold the
    answer is known without the exp (the rare actions' logits sit near -4 or below): the
    margins there are far wider than float32's rounding, so the decision is the same."""
    if logit < -SURE_LOGIT and u >= SURE_MARGIN:
        return False
    if logit > SURE_LOGIT and u < np.float32(1.0) - SURE_MARGIN:
        return True
    return u * (np.float32(1.0) + np.exp(-logit)) < np.float32(1.0)


@njit
def action_logit(w, base, log_r, a, sat, trend):
    """base + w . (log_r, a, sat, |sat|, trend) in float32, in the numpy steps' order
    (a zero weight adds an exact zero). w: one row of ACTION_WEIGHTS."""
    return (log_r * w[0] + base + w[1] * a + w[2] * sat + w[3] * abs(sat) + w[4] * trend)


@njit
def respond_pages(key, row0, normal_central, normal_tail,
                  affinity, hook, satisfaction, worth, duration_s, log_duration, trend, followed,
                  props, temper0, watched0, patience, p, w,
                  watch_s, viewed, actions, utility, left, temper_out):
    """Outcomes of pages (B, K) into the output arrays, one user's page after another.

    key: the call's uint64 draw key; row0: the batch row of this shard's first user (the
    draws' counter, so a shard draws what the whole batch would); normal_central,
    normal_tail: draws.NORMAL_TABLES; drivers (B, K), log_duration = log(duration_s / 9.6);
    props (5, B) action propensities;
    temper0, watched0, patience (B,); p (P,) kernel_params; w: ACTION_WEIGHTS.
    Out: watch_s, utility (B, K) float32; viewed (B, K) bool; actions (5, B, K) bool;
    left (B,) bool; temper_out (B,) float32.
    """
    f32 = np.float32
    n_users, n_slots = affinity.shape
    for b in range(n_users):
        row = row0 + b
        temper = f32(temper0[b])
        base = p[13] + patience[b] + p[14] * f32(watched0[b])
        gone = False
        for k in range(n_slots):
            if gone:                               # slots after leaving are not viewed
                watch_s[b, k] = 0.0
                utility[b, k] = 0.0
                viewed[b, k] = False
                for a in range(5):
                    actions[a, b, k] = False
                continue
            a_ = affinity[b, k]
            sat = satisfaction[b, k]
            hooked = _bernoulli(uniform(key, row, k, HOOK),
                                p[1] * hook[b, k] + f32(0.8) * a_ + p[0])
            if hooked:                             # lognormal: log_r needs no log
                log_ratio = (normal(key, row, k, normal_central, normal_tail) * p[5]
                             + (p[2] + p[3] * a_ + f32(0.15) * sat - p[4] * log_duration[b, k]))
                ratio = min(np.exp(log_ratio), p[6])
                log_r = min(max(log_ratio, LOG_MIN_RATIO), LOG_MAX_RATIO)
            else:
                ratio = min(uniform(key, row, k, SKIP) * f32(0.28) + f32(0.02), p[6])
                log_r = np.log(min(max(ratio, f32(0.05)), f32(3.0)))
            trend_ = trend[b, k]
            like = _bernoulli(uniform(key, row, k, ACTION0 + 0), action_logit(
                w[0], props[0, b] + p[7], log_r, a_, sat, trend_))
            comment = _bernoulli(uniform(key, row, k, ACTION0 + 1), action_logit(
                w[1], props[1, b] + p[8], log_r, a_, sat, trend_))
            share = _bernoulli(uniform(key, row, k, ACTION0 + 2), action_logit(
                w[2], props[2, b] + p[9], log_r, a_, sat, trend_))
            follow_logit = action_logit(w[3], props[3, b] + p[10], log_r, a_, sat, trend_)
            if like:
                follow_logit += p[12]
            follow = (_bernoulli(uniform(key, row, k, ACTION0 + 3), follow_logit)
                      and not followed[b, k])
            hate = _bernoulli(uniform(key, row, k, ACTION0 + 4), action_logit(
                w[4], props[4, b] + p[11], log_r, a_, sat, trend_))
            util = min(ratio, f32(1.0)) * (worth[b, k] + f32(0.5)) + f32(0.3) * a_ - f32(0.25)
            if hate:
                util -= f32(1.0)
            watch_s[b, k] = ratio * duration_s[b, k]
            utility[b, k] = util
            viewed[b, k] = True
            actions[0, b, k] = like
            actions[1, b, k] = comment
            actions[2, b, k] = share
            actions[3, b, k] = follow
            actions[4, b, k] = hate
            temper = f32(0.85) * temper + f32(0.15) * util
            leave_logit = base + p[14] * f32(k + 1) - p[15] * temper
            gone = _bernoulli(uniform(key, row, k, LEAVE), leave_logit)
        left[b] = gone
        temper_out[b] = temper
