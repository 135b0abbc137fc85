"""Canonical experiment 6: micro and macro creators. Does exposure follow engagement rather than
follower count, as the folklore says?

Observational, one run of the full For You feed (no arms). For every creator and every day d
after the first, the creator's exposure that day (impressions) is set against what the platform
could know before it: the creator's follower count at the start of day d, and the engagement
rate of the creator's impressions on days before d (valid plays: watched >= 7 s or whole). Rank
correlations with each, and a regression of rank(exposure) on both standardised ranks, with 95%
CIs by bootstrap over creators. A table by follower tier shows who gets the traffic.

    .venv/bin/python experiments/06_creator_exposure/run.py [overrides]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from feedsim.experiment.canonical import cli_overrides, load_run_config
from feedsim.experiment.canonical_report import markdown_table, plt, save, write_results
from feedsim.loop import Simulation
from feedsim.rng import Streams

HERE = Path(__file__).resolve().parent
OVERRIDES = ["world=tiny", "world.n_users=600", "world.n_creators=200", "world.n_videos=3000",
             "policy=fyp", "loop.days=3", "loop.progress=false"]
COMMAND = "python experiments/06_creator_exposure/run.py"
MIN_PRIOR = 20          # prior impressions a creator needs for an engagement rate
TIERS = [0, 100, 1_000, 10_000, np.inf]
N_BOOT = 1000


def creator_days(sim: Simulation, days: int) -> pd.DataFrame:
    """One row per (day, creator): followers at the day's start, prior engagement, exposure."""
    n_c = sim.world.creators.n
    prior_imps, prior_valid = np.zeros(n_c), np.zeros(n_c)
    rows = []
    for _ in range(days):
        followers = sim.world.creators.followers.copy()                     # (C,)
        result = sim.step_day()
        log = result.log
        creator = sim.world.videos.creator[log.video_id].astype(np.int64)   # (N,)
        valid = log.watch_s >= np.minimum(7.0, log.duration_s)
        exposure = np.bincount(creator, minlength=n_c)[:n_c]
        rows.append(pd.DataFrame({
            "day": int(log.day[0]), "creator": np.arange(n_c), "followers": followers[:n_c],
            "prior_impressions": prior_imps.copy(), "exposure": exposure,
            "prior_engagement": np.divide(prior_valid, prior_imps, out=np.full(n_c, np.nan),
                                          where=prior_imps > 0),
            "active": sim.world.creators.active[:n_c]}))
        prior_imps += exposure
        prior_valid += np.bincount(creator, valid.astype(float), minlength=n_c)[:n_c]
    return pd.concat(rows[1:], ignore_index=True)


def fit(frame: pd.DataFrame) -> np.ndarray:
    """Spearman rho with followers, with engagement; standardised regression coefficients."""
    r = {c: rankdata(frame[c]) for c in ("exposure", "followers", "prior_engagement")}
    z = {c: (v - v.mean()) / v.std() for c, v in r.items()}
    x = np.stack([z["followers"], z["prior_engagement"]], 1)                 # (n, 2)
    beta = np.linalg.lstsq(x, z["exposure"], rcond=None)[0]
    rho_f = float(np.mean(z["exposure"] * z["followers"]))
    rho_e = float(np.mean(z["exposure"] * z["prior_engagement"]))
    return np.array([rho_f, rho_e, beta[0], beta[1], beta[1] - beta[0]])


def bootstrap(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Point estimates and 95% CIs by resampling creators (all their days together)."""
    rng = Streams(seed).numpy("experiment.canonical.creators")
    creators = frame.creator.unique()
    groups = frame.groupby("creator").indices
    draws = []
    for _ in range(N_BOOT):                               # replicates, not users or creators
        pick = rng.choice(creators, creators.size)
        draws.append(fit(frame.iloc[np.concatenate([groups[c] for c in pick])]))
    lo, hi = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    names = ["rho(exposure, followers)", "rho(exposure, prior engagement)",
             "beta followers", "beta prior engagement", "beta engagement - beta followers"]
    return pd.DataFrame({"statistic": names, "estimate": fit(frame), "ci_low": lo, "ci_high": hi})


def tiers(frame: pd.DataFrame) -> pd.DataFrame:
    tier = pd.cut(frame.followers, TIERS, right=False,
                  labels=["<100", "100-1k", "1k-10k", ">=10k"])
    g = frame.groupby(tier, observed=False)
    return pd.DataFrame({"creator-days": g.size(), "exposure share": g.exposure.sum()
                         / frame.exposure.sum(), "exposure per creator-day": g.exposure.mean(),
                         "prior engagement": g.prior_engagement.mean()}).reset_index(
                             names="followers")


def plot(frame: pd.DataFrame, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    y = np.log10(1 + frame.exposure)
    axes[0].scatter(np.log10(1 + frame.followers), y, s=6, alpha=0.4)
    axes[0].set_xlabel("log10(1 + followers at the day's start)")
    axes[1].scatter(frame.prior_engagement, y, s=6, alpha=0.4, color="tab:orange")
    axes[1].set_xlabel("valid-play rate of the creator's earlier impressions")
    axes[0].set_ylabel("log10(1 + impressions that day)")
    fig.suptitle("Creator exposure against follower count and prior engagement", fontsize=10)
    return save(fig, path)


def answer(stats: pd.DataFrame) -> str:
    diff = stats.iloc[4]
    if diff.ci_low > 0:
        return ("Yes: given both, exposure follows prior engagement more than follower count "
                f"(difference of standardised coefficients {diff.estimate:.2f}, 95% CI "
                f"[{diff.ci_low:.2f}, {diff.ci_high:.2f}]).")
    if diff.ci_high < 0:
        return ("No: exposure follows follower count more than prior engagement (difference "
                f"{diff.estimate:.2f}, 95% CI [{diff.ci_low:.2f}, {diff.ci_high:.2f}]).")
    return ("Undecided at this size: the two coefficients are not distinguishable (difference "
            f"{diff.estimate:.2f}, 95% CI [{diff.ci_low:.2f}, {diff.ci_high:.2f}]).")


def main(argv: list[str]) -> None:
    cfg = load_run_config(OVERRIDES + cli_overrides(argv))
    start = time.perf_counter()
    frame = creator_days(Simulation(cfg), cfg.loop.days)
    wall = time.perf_counter() - start
    sample = frame[frame.active & (frame.prior_impressions >= MIN_PRIOR)]
    stats = bootstrap(sample, cfg.seed)
    plot(sample, HERE / "exposure.png")
    lines = ["# Experiment 6: does exposure follow engagement rather than follower count?", "",
             f"Regenerated by `{' '.join([COMMAND, *argv])}` (`make experiments` runs it "
             "without overrides); do not edit.", "",
             f"One fyp run, world={cfg.world.name} ({cfg.world.n_users} users, "
             f"{cfg.world.n_creators} creators), {cfg.loop.days} days, seed {cfg.seed}; "
             f"{len(sample)} creator-days (days >= 1, active creators with >= {MIN_PRIOR} prior "
             f"impressions). Wall time {wall:.0f} s.", "",
             "## Rank correlations and standardised regression of rank(exposure) "
             f"(95% CIs, {N_BOOT} bootstrap resamples of creators)", "", markdown_table(stats),
             "", "![exposure](exposure.png)", "",
             "## By follower tier (all active creators, days >= 1)", "",
             markdown_table(tiers(frame[frame.active])), "", "## Answer", "", answer(stats)]
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
