"""The ground truth in one compiled pass per candidate: the sandbox's own measuring stick.

`truth.expected_from_drivers` integrates the response model with whole-array numpy steps over
(B, K, 8) arrays: seven Gauss-Hermite nodes of the hooked watch ratio plus the skip branch,
each action's probability at every node, their weighted means. That is some sixty passes over
an array eight times the candidates'. This module computes the same integral candidate by
candidate in one loop (numba) and writes the `Expected` fields directly. The regret oracle
asks for it on 200 candidates per sampled request, and the day loop on every served page.

The nodes, weights and formulas are truth.py's; the sums run in the same order, so the two
agree to float32 rounding (tests/test_behavior_kernel.py).
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit

from feedsim.behavior.kernel import kernel_params

FIELDS = ("watch_s", "p_hook", "like", "comment", "share", "follow", "hate", "utility",
          "engagement", "value")
SKIP_MEAN = np.float32(0.16)            # the skip branch's ratio: the middle of SKIP_RATIO


@njit
def _sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


@njit
def expected_rows(affinity, hook, satisfaction, worth, duration_s, trend, followed, props,
                  nodes, weights, engagement_w, p, out):
    """Expected outcomes of candidates (B, K) into out (10, B, K) in FIELDS order.

    props (5, B) action propensities; nodes, weights (N,) of the quadrature; engagement_w (5,)
    the actions' weights in `engagement`; p (P,) kernel.kernel_params then
    [satisfaction_weight, WATCH_UNIT_S]."""
    f32 = np.float32
    n_rows, n_cols = affinity.shape
    n_nodes = nodes.shape[0]
    for b in range(n_rows):
        for k in range(n_cols):
            a, sat = affinity[b, k], satisfaction[b, k]
            mu = (p[2] + p[3] * a + f32(0.15) * sat
                  - p[4] * np.log(duration_s[b, k] / f32(9.6)))
            p_hook = _sigmoid(p[0] + p[1] * hook[b, k] + f32(0.8) * a)
            acc = np.zeros(7, dtype=np.float32)      # like comment share follow hate util watch
            for n in range(n_nodes + 1):
                if n < n_nodes:
                    ratio = min(np.exp(mu + p[5] * nodes[n]), p[6])
                    w = p_hook * weights[n]
                else:
                    ratio, w = SKIP_MEAN, f32(1.0) - p_hook
                log_r = np.log(min(max(ratio, f32(0.05)), f32(3.0)))
                p_like = _sigmoid(log_r * f32(0.6) + (props[0, b] + p[7]) + f32(0.5) * a
                                  + f32(0.5) * sat)
                p_comment = _sigmoid(log_r * f32(0.8) + (props[1, b] + p[8]) + f32(0.3) * a
                                     + f32(0.4) * abs(sat))
                p_share = _sigmoid(log_r * f32(0.9) + (props[2, b] + p[9]) + f32(0.4) * a
                                   + f32(0.6) * sat + f32(0.8) * trend[b, k])
                follow_logit = log_r * f32(0.6) + (props[3, b] + p[10]) + f32(0.4) * a
                p_follow = p_like * _sigmoid(follow_logit + p[12]) \
                    + (f32(1.0) - p_like) * _sigmoid(follow_logit)
                if followed[b, k]:
                    p_follow = f32(0.0)
                p_hate = _sigmoid((props[4, b] + p[11]) - f32(0.6) * a - f32(0.6) * sat)
                utility = (min(ratio, f32(1.0)) * (worth[b, k] + f32(0.5)) + f32(0.3) * a
                           - f32(0.25) - p_hate)
                acc[0] += p_like * w
                acc[1] += p_comment * w
                acc[2] += p_share * w
                acc[3] += p_follow * w
                acc[4] += p_hate * w
                acc[5] += utility * w
                acc[6] += ratio * w
            watch_s = acc[6] * duration_s[b, k]
            engagement = watch_s / p[17]
            for i in range(5):
                engagement += engagement_w[i] * acc[i]
            out[0, b, k] = watch_s
            out[1, b, k] = p_hook
            for i in range(5):
                out[2 + i, b, k] = acc[i]
            out[7, b, k] = acc[5]
            out[8, b, k] = engagement
            out[9, b, k] = engagement + p[16] * acc[5]


def fused_expected(d, props: np.ndarray, cfg, nodes: np.ndarray, weights: np.ndarray,
                   engagement_weights: np.ndarray, watch_unit_s: float) -> dict:
    """The Expected fields (B, K) of drivers d, by expected_rows. props (5, B)."""
    p = np.concatenate([kernel_params(cfg),
                        np.array([cfg.satisfaction_weight, watch_unit_s], np.float32)])
    out = np.empty((len(FIELDS),) + d.affinity.shape, np.float32)             # (10, B, K)
    expected_rows(d.affinity, d.hook, d.satisfaction, d.worth, d.duration_s, d.trend,
                  d.followed, props, nodes, weights, engagement_weights, p, out)
    return dict(zip(FIELDS, out))
