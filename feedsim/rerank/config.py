"""Schema of the `rerank` config group: the re-ranking steps, in order, and their knobs.

Stage 4 of 5 (re-ranking). `steps` names the steps applied to every slate, in order; each step
reads its own nested dataclass. `__post_init__` checks what Hydra's typing cannot (an unknown
step, a knob outside its range, exploration placed before a step that reorders the page), so a
bad value fails when the config is composed, with a message that names the key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

# Step name -> kind. Filters remove candidates, orderings reorder them, explorers replace page
# slots with sampled videos (and must come last, so that logged propensities stay exact).
STEP_KINDS = {
    "moderation": "filter", "seen": "filter", "locale": "filter",
    "dpp": "order", "mmr": "order",
    "no_same_creator": "order", "no_same_sound": "order", "creator_cap": "order",
    "traffic_pools": "explore", "thompson": "explore", "epsilon": "explore",
}
REQUIRED_STEPS = ("moderation",)


class RerankConfigError(ValueError):
    """A re-ranking setting that names an unknown step or holds a meaningless number."""


def _require(ok: bool, key: str, allowed: str, value) -> None:
    if not ok:
        raise RerankConfigError(f"rerank.{key}: must be {allowed} (got {value!r})")


def _unit(value: float, key: str) -> None:
    _require(math.isfinite(value) and 0.0 <= value <= 1.0, key, "in [0, 1]", value)


@dataclass
class DPPConfig:
    """Sliding-window DPP (fast greedy MAP): theta=1 is pure relevance, theta=0 pure diversity."""
    theta: float = 0.7
    window: int = 6          # diversity among any `window` consecutive picks (0 = whole list)
    length: int = 8          # items the DPP orders; the rest follow in relevance order
    jitter: float = 1e-4     # added to the similarity diagonal: keeps the kernel positive definite


@dataclass
class MMRConfig:
    """Maximal Marginal Relevance: lam * relevance - (1 - lam) * max similarity to the picks."""
    lam: float = 0.7         # the usual lambda (a Python keyword, hence `lam`)
    length: int = 12


@dataclass
class CreatorCapConfig:
    """At most `max_per_window` videos of one creator among any `window` consecutive slots."""
    max_per_window: int = 2
    window: int = 6


@dataclass
class LocaleConfig:
    """Videos in the user's language (or English, when allowed); optionally the same market."""
    allow_english: bool = True
    same_market: bool = False


@dataclass
class EpsilonConfig:
    """Each slot is replaced, with probability epsilon, by a uniform draw from a fresh pool."""
    epsilon: float = 0.05
    fresh_days: int = 3      # pool: eligible candidates uploaded within this many days (<0: any)


@dataclass
class ThompsonConfig:
    """One slot for the fresh video whose sampled completion/like rates are highest."""
    slot: int = -1           # page slot it takes (negative counts from the end)
    fresh_days: int = 3
    draws: int = 16          # posterior draws per request (Monte Carlo propensity)
    max_arms: int = 8        # fresh candidates considered per request, best relevance first
    prior_strength: float = 20.0   # pseudo-impressions of the Beta prior at the platform mean
    completion_weight: float = 1.0
    like_weight: float = 4.0


@dataclass
class TrafficPoolsConfig:
    """Staged test audiences for new videos, promoted when their rates beat the platform's."""
    sizes: list[int] = field(default_factory=lambda: [100, 1_000, 10_000])
    completion_lift: float = 1.0   # promote when completion rate >= lift x platform average
    like_lift: float = 1.0         # ... and like rate >= lift x platform average
    max_age_days: int = 3          # videos older than this when first seen never enter
    share: float = 0.5             # probability a page carries a pool slot (when it has one)
    slot: int = 2


@dataclass
class RerankConfig:
    """Re-ranking steps applied in order, and each step's knobs."""
    steps: list[str] = field(default_factory=lambda: [
        "moderation", "seen", "locale", "dpp", "no_same_creator", "no_same_sound",
        "creator_cap", "traffic_pools", "thompson", "epsilon"])
    history: int = 2            # last served videos per user that adjacency/cap rules look back at
    sound_buckets: int = 16     # hashed sound dimensions of the metadata embedding fallback
    creator_buckets: int = 16   # hashed creator dimensions of the same fallback
    dpp: DPPConfig = field(default_factory=DPPConfig)
    mmr: MMRConfig = field(default_factory=MMRConfig)
    creator_cap: CreatorCapConfig = field(default_factory=CreatorCapConfig)
    locale: LocaleConfig = field(default_factory=LocaleConfig)
    epsilon: EpsilonConfig = field(default_factory=EpsilonConfig)
    thompson: ThompsonConfig = field(default_factory=ThompsonConfig)
    traffic_pools: TrafficPoolsConfig = field(default_factory=TrafficPoolsConfig)

    def __post_init__(self) -> None:
        self._check_steps()
        self._check_knobs()

    def _check_steps(self) -> None:
        steps = list(self.steps)
        unknown = [s for s in steps if s not in STEP_KINDS]
        _require(not unknown, "steps", "names from " + "|".join(STEP_KINDS), unknown)
        _require(len(set(steps)) == len(steps), "steps", "without repeats", steps)
        missing = [s for s in REQUIRED_STEPS if s not in steps]
        _require(not missing, "steps", f"a list that includes {REQUIRED_STEPS}", steps)
        kinds = [STEP_KINDS[s] for s in steps]
        first = kinds.index("explore") if "explore" in kinds else len(kinds)
        late = [s for s, k in zip(steps[first:], kinds[first:]) if k != "explore"]
        _require(not late, "steps", "ordered with exploration steps last", late)

    def _check_knobs(self) -> None:
        _unit(self.dpp.theta, "dpp.theta")
        _unit(self.mmr.lam, "mmr.lam")
        _unit(self.epsilon.epsilon, "epsilon.epsilon")
        _unit(self.traffic_pools.share, "traffic_pools.share")
        positive = {"dpp.length": self.dpp.length, "mmr.length": self.mmr.length,
                    "creator_cap.max_per_window": self.creator_cap.max_per_window,
                    "thompson.draws": self.thompson.draws,
                    "thompson.max_arms": self.thompson.max_arms,
                    "sound_buckets": self.sound_buckets, "creator_buckets": self.creator_buckets}
        for key, value in positive.items():
            _require(value > 0, key, "a positive integer", value)
        for key, value in {"dpp.window": self.dpp.window, "history": self.history}.items():
            _require(value >= 0, key, ">= 0", value)
        _require(self.creator_cap.window >= 2, "creator_cap.window", ">= 2",
                 self.creator_cap.window)
        _require(math.isfinite(self.dpp.jitter) and self.dpp.jitter > 0, "dpp.jitter", "> 0",
                 self.dpp.jitter)
        self._check_exploration()

    def _check_exploration(self) -> None:
        ts, tp = self.thompson, self.traffic_pools
        _require(math.isfinite(ts.prior_strength) and ts.prior_strength > 0,
                 "thompson.prior_strength", "> 0", ts.prior_strength)
        for key in ("completion_weight", "like_weight"):
            value = getattr(ts, key)
            _require(math.isfinite(value) and value >= 0, f"thompson.{key}", ">= 0", value)
        sizes = list(tp.sizes)
        _require(len(sizes) > 0 and all(s > 0 for s in sizes), "traffic_pools.sizes",
                 "a non-empty list of positive sizes", sizes)
        for key in ("completion_lift", "like_lift"):
            value = getattr(tp, key)
            _require(math.isfinite(value) and value >= 0, f"traffic_pools.{key}", ">= 0", value)
