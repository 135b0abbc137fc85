"""Off-policy evaluation: a target policy's value estimated from logs another policy produced.

Every impression is logged with its propensity, the probability that the logging policy put that
video in that slot. A target policy is given the same way, as per-slot selection probabilities
of the logged videos, so the importance weight of impression i is w_i = pi_t(a_i|x_i) /
pi_0(a_i|x_i), and the value (mean reward per impression) is estimated by

* IPS:   mean(w r);
* SNIPS: sum(w r) / sum(w)  (self-normalised: a little bias, much less variance);
* DR:    mean(q_t + w (r - q_0)), q a reward model, q_0 at the logged video, q_t its expectation
  under the target: unbiased when either the weights or the model are right.

Standard errors are clustered by user. `DurationTarget` is a target with a known answer: uniform
over the eligible videos no longer than a threshold. Its `policy` serves it on-policy, so a
simulation of the same seeded world gives the true value the estimates must cover.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from feedsim.experiment.stats import ratio_influence
from feedsim.logs.schema import ImpressionBatch
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests, eligible, take_first
from feedsim.policy.random import OVERDRAW, fill_random


def _clustered(terms: np.ndarray, norm: np.ndarray, user: np.ndarray, alpha: float) -> dict:
    """sum(terms)/sum(norm) with its user-clustered delta-method CI."""
    _, inverse = np.unique(user, return_inverse=True)
    y = np.bincount(inverse, terms)[:, None]                       # (n_users, 1)
    x = np.bincount(inverse, norm)[:, None]
    value, psi = ratio_influence(y, x)
    se = float(psi.std(ddof=1) / np.sqrt(psi.shape[0]))
    z = float(ndtri(1 - alpha / 2))
    return {"value": float(value[0]), "se": se, "ci_low": float(value[0]) - z * se,
            "ci_high": float(value[0]) + z * se, "users": int(y.shape[0])}


def estimate(reward: np.ndarray, logging_prob: np.ndarray, target_prob: np.ndarray,
             user: np.ndarray, q_logged: np.ndarray | None = None,
             q_target: np.ndarray | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """IPS, SNIPS (and DR when a reward model is given) with 1-alpha CIs. All inputs (N,)."""
    reward = np.asarray(reward, np.float64)
    w = np.asarray(target_prob, np.float64) / np.asarray(logging_prob, np.float64)
    ones = np.ones_like(w)
    rows = {"ips": _clustered(w * reward, ones, user, alpha),
            "snips": _clustered(w * reward, w, user, alpha)}
    if q_logged is not None and q_target is not None:
        rows["dr"] = _clustered(q_target + w * (reward - q_logged), ones, user, alpha)
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("estimator").reset_index()
    out["impressions"] = w.shape[0]
    out["ess"] = float(w.sum() ** 2 / max((w ** 2).sum(), 1e-300))   # effective sample size
    return out


def bucket_model(feature: np.ndarray, reward: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """A direct-method reward model: mean reward per feature bucket. -> (len(edges)+1,)"""
    bucket = np.searchsorted(edges, feature)
    sums = np.bincount(bucket, reward, minlength=edges.size + 1)
    counts = np.bincount(bucket, minlength=edges.size + 1)
    overall = reward.mean() if reward.size else 0.0
    return np.where(counts > 0, sums / np.maximum(counts, 1), overall)


@dataclass
class DurationTarget:
    """Target policy: every slot uniform over the eligible videos at most `max_duration_s` long."""
    max_duration_s: float

    def in_target(self, duration_s: np.ndarray) -> np.ndarray:
        return duration_s <= self.max_duration_s

    def share_by_day(self, videos, days: np.ndarray) -> np.ndarray:
        """Share of the servable catalogue (not moderated, uploaded by then) in the target. (D,)"""
        ok = ~videos.moderated
        short = self.in_target(videos.duration_s) & ok
        up = videos.upload_day
        return np.array([short[up <= d].sum() / max(ok[up <= d].sum(), 1) for d in days])

    def slot_probability(self, log: ImpressionBatch, videos) -> np.ndarray:
        """pi_t(logged video | request, slot) for every impression of a uniform-random log. (N,)

        The random logger's propensity is 1/|eligible|; the target's is 1/|eligible and short|,
        taken as the day's short share of the eligible set (what a user has seen is a uniform
        draw under the random logger, so it leaves that share unchanged in expectation)."""
        days = np.unique(log.day)
        share = self.share_by_day(videos, days)[np.searchsorted(days, log.day)]
        inside = self.in_target(videos.duration_s[log.video_id])
        return np.where(inside, log.propensity / np.maximum(share, 1e-12), 0.0)

    def dm_terms(self, log: ImpressionBatch, videos, edges: np.ndarray,
                 model: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """q_0 (the model at each logged video) and q_t (its mean under the target). (N,) each"""
        q_logged = model[np.searchsorted(edges, videos.duration_s[log.video_id])]
        days = np.unique(log.day)
        q_day = np.empty(days.size)
        for i, d in enumerate(days):                         # days, not impressions
            servable = (videos.upload_day <= d) & ~videos.moderated
            servable &= self.in_target(videos.duration_s)
            q_day[i] = model[np.searchsorted(edges, videos.duration_s[servable])].mean()
        return q_logged, q_day[np.searchsorted(days, log.day)]

    def policy(self, ctx: PlatformContext, rng: np.random.Generator) -> FeedPolicy:
        return DurationTargetPolicy(ctx, rng, self)


class DurationTargetPolicy(FeedPolicy):
    """The DurationTarget served on-policy, for ground truth (sampling mirrors the random one)."""
    source_names = ("target", "random")

    def __init__(self, ctx: PlatformContext, rng: np.random.Generator, target: DurationTarget):
        super().__init__(ctx, rng)
        self.target = target

    def serve(self, requests: Requests) -> Page:
        b, k = requests.user_ids.shape[0], self.ctx.page_size
        videos = self.ctx.view.videos
        ids = np.flatnonzero(self.target.in_target(videos.duration_s) & ~videos.moderated)
        draws = ids[self.rng.integers(0, ids.size, (b, OVERDRAW * k))]
        picked, _ = take_first(draws, eligible(self.ctx, requests.user_ids, draws), k)
        source = np.zeros((b, k), np.int16)
        seen = np.minimum(self.ctx.seen.ptr[requests.user_ids], self.ctx.seen.window)
        prop = np.broadcast_to((1.0 / np.maximum(ids.size - seen, 1))[:, None], (b, k)).copy()
        fill_random(self.ctx, self.rng, requests, picked, source, prop, random_source=1)
        return Page(picked, source, prop.astype(np.float32), np.full((b, k), np.nan, np.float32))
