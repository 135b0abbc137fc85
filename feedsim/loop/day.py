"""One simulated day: users arrive, sessions run as page requests, outcomes are logged.

The only Python loop is over time steps. At each step every user currently in a session sends
one page request; each arm's policy serves its users' requests in one batch; the behaviour
model responds for the whole batch; the viewed slots become impressions that update the
platform's counters and seen history at once (so later requests of the day see them). Users
who leave start their next session of the day or are done.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from feedsim.behavior.affinity import page_repeats
from feedsim.clock import StageClock
from feedsim.config.schema import LoopConfig
from feedsim.logs.schema import ImpressionBatch
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests

# Session start hours follow a daily rhythm with an evening peak (probabilities over 24 h).
HOUR_WEIGHTS = np.array([3, 2, 1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 5, 5, 6, 7, 8, 9, 10, 10, 8, 5],
                        dtype=np.float64)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()


@dataclass
class Arm:
    name: str
    policy: FeedPolicy


@dataclass
class DayResult:
    log: ImpressionBatch          # every impression of the day, all arms
    active: np.ndarray            # (U,) bool users active today
    sessions: np.ndarray          # (U,) int64 sessions each user had
    page_stats: np.ndarray        # (n_arms, 8) sums: pages, distinct topics, value, utility,
    #                               views, regret against the oracle, requests sampled for it,
    #                               the oracle's page value on them


class DayLoop:
    def __init__(self, world, behavior, ctx: PlatformContext, arms: list[Arm],
                 arm_of_user: np.ndarray, cfg: LoopConfig, rng: np.random.Generator,
                 track_truth: bool = True):
        self.world, self.behavior, self.ctx = world, behavior, ctx
        self.arms, self.arm_of_user = arms, arm_of_user          # (U,) int16 arm index
        self.cfg, self.rng, self.track_truth = cfg, rng, track_truth
        self.next_request_id = 0
        self.regret_oracle: FeedPolicy | None = None     # set by the run when regret is measured
        self.regret_rng = rng
        self.clock = StageClock()                   # seconds per stage of the last day
        self.steps: list[tuple[int, float]] = []     # (requests, seconds) per step, last day

    def _regret(self, requests: Requests, value: np.ndarray, stats: np.ndarray) -> None:
        """Oracle page value minus served page value (`value`: (B, K) true value of each
        served slot), on a sample of this step's requests."""
        if self.regret_oracle is None or not self.track_truth:
            return
        pick = np.flatnonzero(self.regret_rng.random(requests.user_ids.shape[0])
                              < self.cfg.regret_sample)
        if pick.size == 0:
            return
        sub = Requests(requests.user_ids[pick], requests.request_ids[pick], requests.hour[pick],
                       requests.session_index[pick], requests.day)
        best = self.regret_oracle.serve(sub).video_ids
        oracle = self.behavior.truth(sub.user_ids, best).value.sum(1)         # (S,)
        gap = oracle - value[pick].sum(1)
        arm = self.arm_of_user[sub.user_ids]
        np.add.at(stats[:, 5], arm, gap)
        np.add.at(stats[:, 6], arm, 1.0)
        np.add.at(stats[:, 7], arm, oracle)

    def serve(self, requests: Requests) -> Page:
        """Split requests by arm, let each arm's policy serve, and reassemble the pages."""
        if len(self.arms) == 1:
            return self.arms[0].policy.serve(requests)
        b, k = requests.user_ids.shape[0], self.cfg.page_size
        video = np.empty((b, k), np.int64)
        source = np.empty((b, k), np.int16)
        prop = np.empty((b, k), np.float32)
        score = np.empty((b, k), np.float32)
        extras: dict[str, np.ndarray] = {}
        arm = self.arm_of_user[requests.user_ids]
        for a, spec in enumerate(self.arms):
            idx = np.flatnonzero(arm == a)
            if idx.size == 0:
                continue
            sub = Requests(requests.user_ids[idx], requests.request_ids[idx],
                           requests.hour[idx], requests.session_index[idx], requests.day)
            page = spec.policy.serve(sub)
            video[idx], source[idx], prop[idx], score[idx] = (
                page.video_ids, page.source, page.propensity, page.score)
            for name, col in page.extras.items():
                extras.setdefault(name, np.full((b, k), np.nan, np.float32))[idx] = col
        return Page(video, source, prop, score, extras)

    def _batch(self, day: int, requests: Requests, page: Page, out) -> ImpressionBatch:
        viewed = out.viewed
        rows = np.broadcast_to(np.arange(viewed.shape[0])[:, None], viewed.shape)[viewed]
        video = page.video_ids[viewed]
        slot = np.broadcast_to(np.arange(viewed.shape[1]), viewed.shape)[viewed]
        return ImpressionBatch(
            day=np.full(rows.shape, day, np.int32),
            request_id=requests.request_ids[rows],
            user_id=requests.user_ids[rows].astype(np.int32),
            video_id=video.astype(np.int32),
            position=slot.astype(np.int8),
            session_index=(requests.session_index[rows] + slot).astype(np.int32),
            hour=requests.hour[rows],
            watch_s=out.watch_s[viewed],
            duration_s=self.world.videos.duration_s[video],
            like=out.like[viewed], comment=out.comment[viewed], share=out.share[viewed],
            follow=out.follow[viewed], hate=out.hate[viewed],
            arm=self.arm_of_user[requests.user_ids[rows]].astype(np.int16),
            source=page.source[viewed],
            propensity=page.propensity[viewed],
            score=page.score[viewed],
            extras={name: col[viewed] for name, col in page.extras.items()},
        )

    def _true_value(self, users: np.ndarray, page: Page, drivers) -> np.ndarray:
        """Ground-truth value of each served slot (B, K); zeros when truth is not tracked.
        `drivers`: the page's truth drivers (Behavior.page_drivers)."""
        if not self.track_truth:
            return np.zeros(page.video_ids.shape)
        return self.behavior.truth(users, page.video_ids, drivers).value

    def _page_stats(self, users: np.ndarray, page: Page, out, value: np.ndarray,
                    stats: np.ndarray) -> None:
        """Add per-arm sums: pages, distinct topics, true value, utility, viewed slots."""
        topics = self.world.videos.topic[page.video_ids, 0]
        distinct = (page_repeats(topics) == 0).sum(axis=1)                       # (B,)
        arm = self.arm_of_user[users]
        value = np.where(out.viewed, value, 0.0).sum(axis=1)
        per_page = np.stack([np.ones(users.shape[0]), distinct, value,
                             out.utility.sum(axis=1), out.viewed.sum(axis=1)], axis=1)
        np.add.at(stats[:, :5], arm, per_page)

    def run(self, day: int) -> DayResult:
        self.clock.reset()
        self.steps = []
        active, sessions = self.behavior.begin_day()
        sessions_left = sessions.copy()
        in_session = active.copy()
        pages_in_session = np.zeros(active.shape[0], np.int64)
        hour = self.rng.choice(24, active.shape[0], p=HOUR_P).astype(np.int8)
        self.behavior.start_sessions(np.flatnonzero(active))
        batches, stats = [], np.zeros((len(self.arms), 8))
        while in_session.any():
            step_start = time.perf_counter()
            users = np.flatnonzero(in_session)
            requests = Requests(users, self.next_request_id + np.arange(users.size, dtype=np.int64),
                                hour[users], self.behavior.state.session_videos[users].copy(), day)
            self.next_request_id += users.size
            with self.clock("serve"):
                page = self.serve(requests)
            with self.clock("respond"):                # before the response moves user state
                drivers, truth_drivers = self.behavior.page_drivers(users, page.video_ids,
                                                                   self.track_truth)
            with self.clock("truth"):                  # sandbox measurement, not the platform
                value = self._true_value(users, page, truth_drivers)
                self._regret(requests, value, stats)
            with self.clock("respond"):
                out = self.behavior.respond(users, page.video_ids, drivers)
            with self.clock("log"):
                self._page_stats(users, page, out, value, stats)
                batch = self._batch(day, requests, page, out)
                self._observe(users, page, out, batch)
            batches.append(batch)
            pages_in_session[users] += 1
            ended = out.left | (pages_in_session[users] >= self.cfg.max_pages_per_session)
            self._end_sessions(users[ended], sessions_left, in_session, pages_in_session, hour)
            self.steps.append((users.size, time.perf_counter() - step_start))
        log = ImpressionBatch.concat(batches) if batches else None
        return DayResult(log, active, sessions, stats)

    def _observe(self, users, page: Page, out, batch: ImpressionBatch) -> None:
        self.ctx.counters.observe(batch)
        self.ctx.seen.add(users, page.video_ids, out.viewed)
        for a, spec in enumerate(self.arms):
            spec.policy.observe(batch if len(self.arms) == 1 else batch.select(batch.arm == a))

    def _end_sessions(self, leavers, sessions_left, in_session, pages_in_session, hour) -> None:
        sessions_left[leavers] -= 1
        again = leavers[sessions_left[leavers] > 0]
        in_session[leavers[sessions_left[leavers] <= 0]] = False
        pages_in_session[again] = 0
        hour[again] = self.rng.choice(24, again.size, p=HOUR_P).astype(np.int8)
        self.behavior.start_sessions(again)
