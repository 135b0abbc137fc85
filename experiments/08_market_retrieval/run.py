"""Canonical experiment 8: market-aware against global retrieval, for users in small markets.

Retrieval filters candidates by the user's language (default), by market, or not at all
(`retrieval.filter_by`). Small markets (the Nordics, Ireland, Japan) have few local creators,
so a filter narrows their catalogue most, while no filter floods them with foreign-language
videos. Paired worlds (preset configs/experiment/market_retrieval.yaml); effects with
user-clustered CIs for the small-market users only, the large markets for contrast, and watch
minutes per user by market.

    .venv/bin/python experiments/08_market_retrieval/run.py [overrides]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from feedsim.experiment.canonical import cli_overrides, effects, levels, run_preset
from feedsim.experiment.canonical_report import (effects_markdown, header, levels_markdown,
                                                 plot_effects, verdict, write_results)
from feedsim.experiment.stats import METRICS

HERE = Path(__file__).resolve().parent
PRESET = "market_retrieval"
OVERRIDES: list[str] = []
COMMAND = "python experiments/08_market_retrieval/run.py"
SMALL_MARKETS = ("SE", "NO", "DK", "FI", "IE", "JP")
SEGMENT_METRICS = ["watch_min_per_user", "active_days_per_user", "watch_s_per_play", "like_rate",
                   "hate_rate"]


def user_markets(outcome) -> np.ndarray:
    """Market name of every user. (U,) object"""
    sim = outcome.sim(outcome.arms[0])
    return np.asarray(sim.cfg.world.markets, dtype=object)[sim.world.users.market]


def main(argv: list[str]) -> None:
    outcome = run_preset(PRESET, OVERRIDES + cli_overrides(argv))
    market = user_markets(outcome)
    small = np.flatnonzero(np.isin(market, SMALL_MARKETS))
    large = np.flatnonzero(~np.isin(market, SMALL_MARKETS))
    t_small = effects(outcome, SEGMENT_METRICS, users=small)
    t_large = effects(outcome, SEGMENT_METRICS, users=large)
    plot_effects(t_small, HERE / "effects.png",
                 f"Small-market users ({small.size}): filters against language")
    by_market = pd.concat([levels(outcome, ["watch_min_per_user"], METRICS,
                                  users=np.flatnonzero(market == m)).assign(metric=m)
                           for m in sorted(set(market))], ignore_index=True)
    lines = header("Experiment 8: market-aware against global retrieval in small markets",
                   outcome, COMMAND)
    lines += [f"## Small-market users ({', '.join(SMALL_MARKETS)}; {small.size} users)", "",
              effects_markdown(t_small), "", "![effects](effects.png)", "",
              f"## Large-market users, for contrast ({large.size} users)", "",
              effects_markdown(t_large), "",
              "## Watch minutes per user by market (value [95% CI], clustered by user)", "",
              levels_markdown(by_market), "", "## Answer (small-market users)", ""]
    lines += verdict(t_small, "watch_min_per_user") + verdict(t_small, "watch_s_per_play")
    write_results(HERE, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
