"""The ground truth in one compiled pass per candidate: the sandbox's own measuring stick.

`truth.expected_from_drivers` integrates the response model with whole-array numpy steps over
(B, K, 8) arrays: seven Gauss-Hermite nodes of the hooked watch ratio plus the skip branch,
each action's probability at every node, their weighted means. That is some sixty passes over
an array eight times the candidates'. This module computes the same integral candidate by
candidate in one loop (numba) and writes the `Expected` fields directly. The regret oracle
asks for it on 200 candidates per sampled request, and the day loop on every served page.

Most of the numpy steps' cost is exponentials: a sigmoid per action per node. Here an
action's odds at a node are its odds at the mean log ratio times a per-node constant, so a
candidate pays about a dozen exponentials instead of some sixty. The nodes, weights and
formulas are truth.py's; the two agree to float32 rounding (tests/test_behavior_kernel.py).
"""
from __future__ import annotations

import numpy as np

from feedsim.behavior.kernel import (ACTION_WEIGHTS, LOG_MAX_RATIO, LOG_MIN_RATIO, action_logit,
                                     kernel_params)
from feedsim.jit import njit

FIELDS = ("watch_s", "p_hook", "like", "comment", "share", "follow", "hate", "utility",
          "engagement", "value")
SKIP_MEAN = np.float32(0.16)            # the skip branch's ratio: the middle of SKIP_RATIO


W = ACTION_WEIGHTS                      # (actions, terms): like comment share follow hate
ALPHA = ACTION_WEIGHTS[:4, 0].copy()    # log_r's weight in the first four actions' logits
if ACTION_WEIGHTS[4, 0] != 0.0:         # p_hate below is taken once, not per node
    raise ValueError("fused_truth: hate's logit must not depend on the watch ratio")
LOG_SKIP = np.float32(np.log(0.16))


@njit
def _odds(c, alpha, log_r):
    """exp(-(c + alpha log_r)): the odds against an action with logit c + alpha log_r."""
    return np.exp(-(c + alpha * log_r))


@njit
def _expected_one(a, sat, hook, worth, duration_s, trend, followed, props, b, nodes, node_exp,
                  node_odds, weights, engagement_w, p, log_cap, follow_odds, out, row, col):
    """One candidate's integral into out[:, row, col], in scalars (no array temporaries).

    The action logits are c + alpha log_r. Where log_r is the unclipped log ratio
    mu + sigma x node, exp(-(c + alpha log_r)) = exp(-(c + alpha mu)) x node_odds[a, n],
    so a node costs products, not exponentials; clipped nodes and the skip branch
    take the exponentials directly."""
    f32, one = np.float32, np.float32(1.0)
    mu = p[2] + p[3] * a + f32(0.15) * sat - p[4] * np.log(duration_s / f32(9.6))
    p_hook = one / (one + np.exp(-(p[0] + p[1] * hook + f32(0.8) * a)))
    zero = f32(0.0)                     # c: an action's logit less its log_r term
    p_hate = one / (one + np.exp(-action_logit(W[4], props[4, b] + p[11], zero, a, sat, trend)))
    c_like = action_logit(W[0], props[0, b] + p[7], zero, a, sat, trend)
    c_comment = action_logit(W[1], props[1, b] + p[8], zero, a, sat, trend)
    c_share = action_logit(W[2], props[2, b] + p[9], zero, a, sat, trend)
    c_follow = action_logit(W[3], props[3, b] + p[10], zero, a, sat, trend)
    mu_like, mu_comment = _odds(c_like, ALPHA[0], mu), _odds(c_comment, ALPHA[1], mu)
    mu_share, mu_follow = _odds(c_share, ALPHA[2], mu), _odds(c_follow, ALPHA[3], mu)
    exp_mu = np.exp(mu)
    like = comment = share = follow = utility = watch = f32(0.0)
    n_nodes = weights.shape[0]
    for n in range(n_nodes + 1):
        if n < n_nodes:
            ratio = min(exp_mu * node_exp[n], p[6])
            w = p_hook * weights[n]
            z = mu + p[5] * nodes[n]                            # mu + sigma x node
            if LOG_MIN_RATIO <= z <= log_cap:
                o_like, o_comment = mu_like * node_odds[0, n], mu_comment * node_odds[1, n]
                o_share, o_follow = mu_share * node_odds[2, n], mu_follow * node_odds[3, n]
            else:
                z = min(max(z, LOG_MIN_RATIO), log_cap)
                o_like, o_comment = _odds(c_like, ALPHA[0], z), _odds(c_comment, ALPHA[1], z)
                o_share, o_follow = _odds(c_share, ALPHA[2], z), _odds(c_follow, ALPHA[3], z)
        else:
            ratio, w = SKIP_MEAN, one - p_hook
            o_like, o_comment = _odds(c_like, ALPHA[0], LOG_SKIP), \
                _odds(c_comment, ALPHA[1], LOG_SKIP)
            o_share, o_follow = _odds(c_share, ALPHA[2], LOG_SKIP), \
                _odds(c_follow, ALPHA[3], LOG_SKIP)
        p_like = one / (one + o_like)
        like += p_like * w
        comment += w / (one + o_comment)
        share += w / (one + o_share)
        if not followed:
            follow += (p_like / (one + o_follow * follow_odds)
                       + (one - p_like) / (one + o_follow)) * w
        utility += (min(ratio, one) * (worth + f32(0.5)) + f32(0.3) * a - f32(0.25)
                    - p_hate) * w
        watch += ratio * w
    hate = p_hate * (one - p_hook + p_hook * weights.sum())    # p_hate at every node
    watch_s = watch * duration_s
    engagement = watch_s / p[17] + (engagement_w[0] * like + engagement_w[1] * comment
                                    + engagement_w[2] * share + engagement_w[3] * follow
                                    + engagement_w[4] * hate)
    out[0, row, col] = watch_s
    out[1, row, col] = p_hook
    out[2, row, col] = like
    out[3, row, col] = comment
    out[4, row, col] = share
    out[5, row, col] = follow
    out[6, row, col] = hate
    out[7, row, col] = utility
    out[8, row, col] = engagement
    out[9, row, col] = engagement + p[16] * utility


@njit
def expected_rows(affinity, hook, satisfaction, worth, duration_s, trend, followed, props,
                  nodes, node_exp, node_odds, weights, engagement_w, p, out):
    """Expected outcomes of candidates (B, K) into out (10, B, K) in FIELDS order.

    props (5, B) action propensities; nodes, weights (N,) of the quadrature, node_exp (N,)
    exp(sigma x node), node_odds (4, N) exp(-alpha x sigma x node); engagement_w (5,) the
    actions' weights in `engagement`; p (P,) kernel.kernel_params, then satisfaction_weight,
    WATCH_UNIT_S, log_r's cap min(log loop_limit, log 3), exp(-follow_after_like)."""
    for b in range(affinity.shape[0]):
        for k in range(affinity.shape[1]):
            _expected_one(affinity[b, k], satisfaction[b, k], hook[b, k], worth[b, k],
                          duration_s[b, k], trend[b, k], followed[b, k], props, b, nodes,
                          node_exp, node_odds, weights, engagement_w, p, p[18], p[19], out, b, k)


def fused_expected(d, props: np.ndarray, cfg, nodes: np.ndarray, weights: np.ndarray,
                   engagement_weights: np.ndarray, watch_unit_s: float) -> dict:
    """The Expected fields (B, K) of drivers d, by expected_rows. props (5, B)."""
    log_cap = min(np.log(cfg.loop_limit), np.log(3.0))
    p = np.concatenate([kernel_params(cfg),
                        np.array([cfg.satisfaction_weight, watch_unit_s, log_cap,
                                  np.exp(-cfg.follow_after_like)], np.float32)])
    sigma_nodes = (np.float32(cfg.watch_ratio_sigma) * nodes).astype(np.float32)      # (N,)
    node_exp = np.exp(sigma_nodes).astype(np.float32)                                 # (N,)
    node_odds = np.exp(-ALPHA[:, None] * sigma_nodes[None, :]).astype(np.float32)    # (4, N)
    out = np.empty((len(FIELDS),) + d.affinity.shape, np.float32)             # (10, B, K)
    expected_rows(d.affinity, d.hook, d.satisfaction, d.worth, d.duration_s, d.trend,
                  d.followed, props, nodes, node_exp, node_odds, weights, engagement_weights, p, out)
    return dict(zip(FIELDS, out))
