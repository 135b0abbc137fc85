"""Stage 4 of 5 (re-ranking): the configured chain of steps, from a slate to a page.

`Reranker` builds the steps named in `RerankConfig.steps`, in that order, and applies them to
each batch of slates. The For You policy calls it once per batch of requests:

    reranker = Reranker(cfg.rerank, page_size=ctx.page_size)
    reranker.begin_day(ctx)                                    # each day, before serving
    slate = reranker.slate(ctx, user_ids, candidates, score, source, embeddings)
    result = reranker.rerank(slate, rng)                       # RerankResult
    page = result.page()                                       # feedsim.policy.base.Page

Slots stay -1 only when a request has fewer valid candidates than the page size; the caller
fills those (e.g. `feedsim.policy.random.fill_random`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.policy.base import Page
from feedsim.rerank.base import RerankState, Slate, Step, Trace
from feedsim.rerank.config import RerankConfig
from feedsim.rerank.dpp import DPPStep
from feedsim.rerank.exploration import EpsilonStep
from feedsim.rerank.filters import LocaleFilter, ModerationFilter, SeenFilter
from feedsim.rerank.mmr import MMRStep
from feedsim.rerank.pools import TrafficPoolStep
from feedsim.rerank.rules import CreatorCap, NoSameCreator, NoSameSound, Rule, constrained_fill
from feedsim.rerank.slate import make_slate, similarity_features
from feedsim.rerank.thompson import ThompsonStep

STEPS = {
    "moderation": lambda cfg: ModerationFilter(),
    "seen": lambda cfg: SeenFilter(),
    "locale": lambda cfg: LocaleFilter(cfg.locale),
    "dpp": lambda cfg: DPPStep(cfg.dpp),
    "mmr": lambda cfg: MMRStep(cfg.mmr),
    "no_same_creator": lambda cfg: NoSameCreator(),
    "no_same_sound": lambda cfg: NoSameSound(),
    "creator_cap": lambda cfg: CreatorCap(cfg.creator_cap),
    "traffic_pools": lambda cfg: TrafficPoolStep(cfg.traffic_pools),
    "thompson": lambda cfg: ThompsonStep(cfg.thompson),
    "epsilon": lambda cfg: EpsilonStep(cfg.epsilon),
}


@dataclass(frozen=True)
class RerankResult:
    """The served pages and how they came about."""
    video_ids: np.ndarray    # (B, K) int64, -1 where a request ran out of candidates
    columns: np.ndarray      # (B, K) int64 column of each slot in the slate, -1 likewise
    source: np.ndarray       # (B, K) int16 retrieval source of each slot
    score: np.ndarray        # (B, K) float32 fused relevance, NaN on empty slots
    propensity: np.ndarray   # (B, K) float32 in (0, 1]
    explored: np.ndarray     # (B, K) bool: placed by an exploration step
    trace: Trace

    def page(self, extras: dict[str, np.ndarray] | None = None) -> Page:
        """As the policy interface's Page; `explored` is logged as an extra column."""
        more = {"explored": self.explored.astype(np.float32), **(extras or {})}
        return Page(self.video_ids, self.source, self.propensity, self.score, more)


class Reranker:
    """The steps of `cfg.steps`, in order. Construction validates the config again."""

    def __init__(self, cfg: RerankConfig, page_size: int, tracing: bool = True):
        cfg.__post_init__()                      # a config edited after composition is rechecked
        self.cfg, self.k = cfg, page_size
        self.tracing = tracing                   # keep the moves for explanations (the trace)
        self.steps: list[Step] = [STEPS[name](cfg) for name in cfg.steps]
        rule = [isinstance(s, Rule) for s in self.steps] + [False]
        self.fill_after = [rule[i] and not rule[i + 1] for i in range(len(self.steps))]

    def step(self, name: str) -> Step:
        """The configured step called `name` (e.g. to read `traffic_pools`' ladder)."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"rerank step {name!r} is not in rerank.steps {self.cfg.steps}")

    def begin_day(self, ctx) -> None:
        for step in self.steps:
            step.begin_day(ctx)

    def slate(self, ctx, user_ids: np.ndarray, candidates: np.ndarray, score: np.ndarray,
              source: np.ndarray, embeddings: np.ndarray | None = None) -> Slate:
        """A Slate for these requests, with the history length this config needs."""
        return make_slate(ctx, user_ids, candidates, score, source, embeddings, self.cfg.history)

    def features(self, slate: Slate) -> np.ndarray:
        return similarity_features(slate, self.cfg.sound_buckets, self.cfg.creator_buckets)

    def rerank(self, slate: Slate, rng: np.random.Generator) -> RerankResult:
        state = RerankState(slate, self.k, rng, self.features, self.tracing)
        for step, fill in zip(self.steps, self.fill_after):
            step.apply(state)
            if fill:                             # the end of a run of rule steps
                constrained_fill(state)
        return _result(state)


def _result(state: RerankState) -> RerankResult:
    cols = state.fix_page()
    s, filled = state.slate, cols >= 0
    safe = np.maximum(cols, 0)
    score = np.where(filled, np.take_along_axis(s.score, safe, axis=1), np.nan)
    source = np.where(filled, np.take_along_axis(s.source, safe, axis=1), 0)
    return RerankResult(
        video_ids=state.videos(cols), columns=cols.copy(), source=source.astype(np.int16),
        score=score.astype(np.float32), propensity=state.propensity.astype(np.float32),
        explored=state.explored & filled, trace=state.trace())
