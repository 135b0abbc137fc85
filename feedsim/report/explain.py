"""Teaching: trace one page request through the For You pipeline, stage by stage.

The explainer re-simulates a run from its seed up to the chosen day (the loop is deterministic,
so the world, logs and models are exactly those of the run), then lets the day play and catches
the chosen request of the chosen user as it is served. For that request it records:

1. retrieval: how many candidates each source contributed, and each source's own top videos
   with its native scores;
2. ranking: the top candidates with every task's prediction, each fusion term and the fused
   score (in the linear form the terms sum to the score);
3. re-ranking: every move (slot, the video moved out, the video that took its place, reason);
4. the page: what the simulated user actually did and what the ground truth expected.

Only the sandbox reads the truth (`sim.behavior.truth`); the platform code is called exactly as
`FypPolicy.serve` calls it, so the traced page is the page the run served.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from feedsim.config.schema import Config
from feedsim.loop.runner import Simulation
from feedsim.policy.base import Page, Requests
from feedsim.policy.fyp import FypPolicy

TRUTH_COLUMNS = ("watch_s", "p_hook", "like", "comment", "share", "follow", "hate", "value")
ACTIONS = ("like", "comment", "share", "follow", "hate")


class ExplainError(ValueError):
    """The requested user, day or request does not exist in this run."""


@dataclass
class ExplainTrace:
    """Everything the explain page shows about one request (tables are pandas frames)."""
    meta: dict
    funnel: dict[str, int]
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)     # one row per source
    source_top: pd.DataFrame = field(default_factory=pd.DataFrame)  # source, rank, video, score
    ranked: pd.DataFrame = field(default_factory=pd.DataFrame)      # top candidates by fused
    moves: pd.DataFrame = field(default_factory=pd.DataFrame)       # re-ranking moves
    page: pd.DataFrame = field(default_factory=pd.DataFrame)        # served slots
    tasks: tuple[str, ...] = ()
    fusion_form: str = ""


def _rng_states(policy: FypPolicy) -> list[tuple[np.random.Generator, dict]]:
    """The numpy generators a per-source retrieval may draw from, with their states."""
    gens = [v for s in policy.retriever.sources for v in vars(s).values()
            if isinstance(v, np.random.Generator)]
    return [(g, g.bit_generator.state) for g in gens]


def source_table(policy: FypPolicy, user: int, merged_source: np.ndarray,
                 kept_source: np.ndarray, page_source: np.ndarray, k: int):
    """Per-source counts at each stage and each learned source's own top k with its scores."""
    names = policy.source_names
    rows, tops = [], []
    saved = _rng_states(policy)
    for i, name in enumerate(names):
        rows.append({"source": name, "in_candidates": int((merged_source == i).sum()),
                     "after_prerank": int((kept_source == i).sum()),
                     "on_page": int((page_source == i).sum())})
        if name in policy.retriever.source_names and policy.retriever.fitted:
            tops += _own_top(policy, name, user, k)
    for g, state in saved:                   # per-source look-ups must not change the run
        g.bit_generator.state = state
    table = pd.DataFrame(rows)
    return table[table[["in_candidates", "on_page"]].sum(axis=1) > 0], pd.DataFrame(tops)


def _own_top(policy: FypPolicy, name: str, user: int, k: int) -> list[dict]:
    """A source's own best k eligible videos for the user, with its native scores."""
    users = np.array([user], dtype=np.int64)
    own = policy.retriever.source(name).retrieve(users, 10 * k)
    ok = policy.retriever.keep(users, own.video_ids) & (own.video_ids >= 0)
    picked = np.flatnonzero(ok[0])[:k]
    return [{"source": name, "rank": int(r), "video": int(own.video_ids[0, r]),
             "native_score": float(own.scores[0, r])} for r in picked]


class _Capture:
    """Serves a batch exactly as FypPolicy.serve does, keeping one row's intermediates."""

    def __init__(self, sim: Simulation, policy: FypPolicy, top: int):
        self.sim, self.policy, self.top = sim, policy, top
        self.parts: dict = {}

    def serve(self, requests: Requests, i: int) -> Page:
        """FypPolicy's own serve, keeping row i's intermediates (and the re-rank trace)."""
        self.policy.reranker.tracing = True
        try:
            served, b = self.policy.serve_with_parts(requests)
        finally:
            self.policy.reranker.tracing = False
        users, result, page = requests.user_ids, b["result"], b["page"]
        self.parts = dict(ids=b["ids"][i], source=b["source"][i], kept=b["kept"][i],
                          kept_src=b["kept_src"][i], fused=b["fused"][i],
                          preds={t: q[i] for t, q in b["preds"].items()},
                          terms={t: q[i] for t, q in b["terms"].items()},
                          moves=result.trace.for_row(i), explored=result.explored[i],
                          page=served.video_ids[i], page_src=served.source[i],
                          prop=served.propensity[i], page_score=page.score[i],
                          user=int(users[i]), request_id=int(requests.request_ids[i]),
                          hour=int(requests.hour[i]),
                          session_index=int(requests.session_index[i]), day=requests.day)
        self.parts["truth"] = self.sim.behavior.truth(users[i:i + 1],
                                                      served.video_ids[i:i + 1])
        self.parts["ranked_truth"] = self.sim.behavior.truth(users[i:i + 1], np.maximum(
            b["kept"][i:i + 1], 0))
        return served


class _Tracer:
    """Wraps one arm's serve for a day; catches the n-th request of the chosen user."""

    def __init__(self, sim: Simulation, user: int | None, request: int, top: int):
        arm = 0 if user is None else int(sim.day_loop.arm_of_user[user])
        self.sim, self.user, self.request = sim, user, request
        self.policy = sim.arms[arm].policy
        self.arm = sim.arms[arm].name
        self.seen, self.capture = 0, _Capture(sim, self.policy, top)

    def __call__(self, requests: Requests) -> Page:
        original = type(self.policy).serve.__get__(self.policy)
        if self.capture.parts:
            return original(requests)
        if self.user is None:
            self.user = int(requests.user_ids[0])
        rows = np.flatnonzero(requests.user_ids == self.user)
        if rows.size == 0:
            return original(requests)
        if self.seen < self.request:
            self.seen += 1
            return original(requests)
        return self.capture.serve(requests, int(rows[0]))


def simulate_to(cfg: Config, day: int) -> Simulation:
    """A fresh in-memory simulation advanced through days 0 .. day-1 (nothing written)."""
    sim = Simulation(cfg)
    for _ in range(day):
        sim.step_day()
    return sim


def explain(cfg: Config, day: int, user: int | None = None, request: int = 0, top: int = 10,
            sim: Simulation | None = None) -> ExplainTrace:
    """Trace `user`'s `request`-th page request (0-based) of `day`. user None: the first user
    served that day. `sim`, when given, must stand at the start of `day`."""
    sim = sim or simulate_to(cfg, day)
    if sim.world.day != day:
        raise ExplainError(f"the simulation stands at day {sim.world.day}, not {day}")
    if user is not None and not 0 <= user < sim.world.users.n:
        raise ExplainError(f"user={user}: the world has users 0..{sim.world.users.n - 1}")
    tracer = _Tracer(sim, user, request, top)
    if not isinstance(tracer.policy, FypPolicy):
        raise ExplainError(f"explain traces the For You policy (policy=fyp); this run's arm "
                           f"{tracer.arm!r} uses {type(tracer.policy).__name__}")
    tracer.policy.serve = tracer
    try:
        result = sim.step_day()
    finally:
        del tracer.policy.serve
    if not tracer.capture.parts:
        raise ExplainError(f"user {tracer.user} made {tracer.seen} page requests on day {day} "
                           f"(asked for request={request}); try another user, day or request")
    from feedsim.report.explain_tables import build_trace
    return build_trace(sim, tracer, result.log)
