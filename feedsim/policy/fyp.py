"""The For You feed: retrieval, pre-rank, multi-task ranking, the value model and re-ranking.

Stage by stage, for a whole batch of requests at once:
1. retrieval gathers `retrieval.total_candidates` (500) from its sources, filtered once;
2. a cheap pre-rank (the two-tower's dot product, or the merged retrieval order when there is
   no two-tower) keeps the best `policy.prerank`;
3. the multi-task ranker predicts every task for those, and the value model fuses them;
4. re-ranking builds the page (diversity, creator and sound rules, exploration) and gives each
   slot its propensity.
Each day the models retrain on a window of recent logs (`policy.retrain_every_days`). Before
there are logs (day 0), candidates come from popular, fresh and random, as on a real platform.

`policy.retrieval_cache` trades freshness for speed: `request` retrieves for every page;
`session` keeps a user's retrieved candidates for the rest of the session; `day` keeps them for
the day until fewer than `policy.refill_below` unseen candidates remain. Cached candidates are
re-ranked minus what was seen since, with up-to-date ranker features. `policy.live_sources`
adds real-time sources refreshed during the day on top of the cache (live.py).
"""
from __future__ import annotations

import logging

import numpy as np

from feedsim.clock import StageClock
from feedsim.config.schema import Config
from feedsim.policy.base import FeedPolicy, Page, PlatformContext, Requests
from feedsim.policy.cold import COLD_SOURCES, ColdCandidates
from feedsim.policy.live import LiveSources
from feedsim.policy.prerank import dot_scores, prerank_columns
from feedsim.policy.random import fill_random
from feedsim.ranking.ranker import Ranker
from feedsim.ranking.streaming import StreamingUpdater
from feedsim.rerank.pipeline import Reranker
from feedsim.retrieval.base import RetrievalError
from feedsim.retrieval.retriever import Retriever

log = logging.getLogger("feedsim")
HISTORY_DAYS = 7


class CandidateCache:
    """Per-user retrieved candidates, valid until the user's session ends or the day does.

    Beside each candidate it keeps the pre-rank score, computed once when the row is stored:
    the user and video towers do not change within a day, so neither does their dot product."""

    def __init__(self, n_users: int, width: int):
        self.ids = np.full((n_users, width), -1, dtype=np.int32)           # (U, C)
        self.score = np.zeros((n_users, width), dtype=np.float32)
        self.source = np.zeros((n_users, width), dtype=np.int16)
        self.prescore = np.zeros((n_users, width), dtype=np.float32)
        self.valid = np.zeros(n_users, dtype=bool)
        self.stocked = np.zeros(n_users, dtype=np.int64)    # candidates at the last refill

    def clear(self) -> None:
        self.valid[:] = False

    def stale(self, users: np.ndarray, session_index: np.ndarray, per_session: bool) -> np.ndarray:
        """Users whose cache must be refilled: nothing cached, or a new session. (B,) bool"""
        return ~self.valid[users] | (per_session & (session_index == 0))

    def drain(self, users: np.ndarray, unseen: np.ndarray, refill_below: int) -> None:
        """Invalidate users with fewer than `refill_below` unseen candidates left.

        A heavy user late in the day has seen most of what retrieval can find, and a refill
        brings back a short list. Such a user refills once half of that list is used, not at
        every request: fetching the same short list again each page costs a whole retrieval.
        """
        threshold = np.maximum(np.minimum(refill_below, self.stocked[users] // 2), 1)
        self.valid[users[unseen < threshold]] = False

    def store(self, users: np.ndarray, ids: np.ndarray, score: np.ndarray,
              source: np.ndarray, prescore: np.ndarray) -> None:
        self.ids[users], self.score[users], self.source[users] = ids, score, source
        self.prescore[users] = prescore
        self.valid[users] = True
        self.stocked[users] = (ids >= 0).sum(axis=1)

    def get(self, users: np.ndarray):
        """(ids (B, C) int64, merged score, source, pre-rank score) of cached users."""
        return (self.ids[users].astype(np.int64), self.score[users], self.source[users],
                self.prescore[users])


class FypPolicy(FeedPolicy):
    def __init__(self, ctx: PlatformContext, rng: np.random.Generator, root: Config,
                 device: str, seeds: dict[str, int]):
        super().__init__(ctx, rng)
        self.cfg = root.policy
        self.retriever = Retriever(root.retrieval, ctx, seeds["retrieval"], device)
        self.ranker = Ranker(root.ranking, ctx.view, device, seeds["ranking"])
        streaming = root.ranking.streaming          # intra-day updates, None when off
        self.streaming = StreamingUpdater(streaming, self.ranker, ctx, seeds["ranking"]) \
            if streaming.enabled else None
        self.reranker = Reranker(root.rerank, ctx.page_size, tracing=False)   # explain turns it on
        self.cold = ColdCandidates(ctx, root.policy.popular_pool)
        self.source_names = self.retriever.source_names + tuple(
            f"cold_{name}" for name in COLD_SOURCES)
        self.metrics: dict[str, float] = {}
        self.last_trained = -10**9
        self.cache = CandidateCache(ctx.view.n_users, root.retrieval.total_candidates) \
            if root.policy.retrieval_cache != "request" else None
        self.clock = StageClock()                           # seconds per stage (feedsim.clock)
        self.live = LiveSources(self.retriever, list(root.policy.live_sources),
                                root.policy.live_candidates, root.policy.live_refresh_requests) \
            if root.policy.live_sources else None

    # ------------------------------------------------------------------ daily cadence
    def begin_day(self, day: int) -> None:
        self.clock.reset()
        with self.clock("train"):
            self._begin_day(day)

    def _begin_day(self, day: int) -> None:
        self.cold.refresh()
        if self.live is not None:
            self.live.begin_day()
        self.reranker.begin_day(self.ctx)
        self.metrics = {}
        if self.cache is not None:
            self.cache.clear()
        if day - self.last_trained < self.cfg.retrain_every_days:
            return
        history = self.ctx.training_log(HISTORY_DAYS)
        if history is None or len(history) == 0:
            return
        try:
            self.retriever.fit()
        except RetrievalError as exc:                      # too little data for a source yet
            log.info("fyp day %d: retrieval not trained (%s)", day, exc)
        if len(history) >= self.ranker.cfg.train.min_rows:
            self.metrics = self.ranker.fit(history, self.ctx.counters.daily_decay)
        self.last_trained = day

    def day_metrics(self) -> dict[str, float]:
        return dict(self.metrics) | (self.streaming.day_metrics() if self.streaming else {}) \
            | self.retriever.day_metrics() | (self.live.day_metrics() if self.live else {})

    def observe(self, batch) -> None:
        if self.streaming is not None:          # intra-day ranker updates (streaming.py)
            self.streaming.observe(batch)

    # ------------------------------------------------------------------ serving
    def candidates(self, requests: Requests):
        """(ids (B, C), merged score (B, C), source (B, C) into source_names)."""
        return self._candidates(requests)[:3]

    def _candidates(self, requests: Requests):
        """candidates() and the pre-rank score (B, C) where the day cache holds it, else None."""
        users = requests.user_ids
        if self.retriever.fitted and self.cache is None:
            c = self.retriever.retrieve(users)
            return self._live(users, c.video_ids, c.scores, c.source, None)
        if self.retriever.fitted:
            per_session = self.cfg.retrieval_cache == "session"
            stale = self.cache.stale(users, requests.session_index, per_session)
            if stale.any():
                c = self.retriever.retrieve(users[stale])
                self.cache.store(users[stale], c.video_ids, c.scores, c.source,
                                 self.prerank_scores(users[stale], c.video_ids, c.scores))
            ids, score, source, prescore = self._live(users, *self.cache.get(users))
            seen = self.ctx.seen.contains(users, np.maximum(ids, 0))
            width = self.cache.ids.shape[1]                      # live columns do not count
            self.cache.drain(users, ((ids[:, :width] >= 0) & ~seen[:, :width]).sum(axis=1),
                             self.cfg.refill_below)
            return (np.where(seen, -1, ids), np.where(seen, -np.inf, score), source,
                    np.where(seen, -np.inf, prescore))
        ids, source = self.cold.draw(self.rng, users, self.ranker.cfg.candidates)
        order = -np.arange(ids.shape[1], dtype=np.float32)[None, :].repeat(ids.shape[0], 0)
        return ids, order, (source + len(self.retriever.source_names)).astype(np.int16), None

    def _live(self, users, ids, score, source, prescore):
        """The candidates with the live sources' columns appended (unchanged without any)."""
        if self.live is None:
            return ids, score, source, prescore
        return self.live.extend(users, ids, score, source, prescore, self.prerank_scores)

    def prerank_scores(self, users: np.ndarray, ids: np.ndarray, score: np.ndarray) -> np.ndarray:
        """The pre-rank score (B, C): the two-tower dot product, else the merged score."""
        vectors = self._catalogue_vectors()
        if vectors is None:
            return np.where(ids >= 0, score, -np.inf)
        user = self.retriever.source("two_tower").cached_user_vectors(users)      # (B, D)
        return dot_scores(vectors, user, ids)

    def prerank(self, users: np.ndarray, ids: np.ndarray, score: np.ndarray,
                source: np.ndarray | None = None, prescore: np.ndarray | None = None):
        """Keep the best `policy.prerank` candidates, at least `policy.prerank_per_source` of
        each retrieval source (so a dot-product pre-rank cannot silence the other sources).
        `prescore` (B, C) is the pre-rank score when already known (the day cache keeps it).

        Returns (columns (B, P), embeddings (B, P, D) or None)."""
        if prescore is None:
            prescore = self.prerank_scores(users, ids, score)
        prescore = np.where(ids >= 0, prescore, -np.inf)
        cols = prerank_columns(prescore, source, self.cfg.prerank_per_source,
                               self.cfg.prerank)                                  # (B, P)
        vectors = self._catalogue_vectors()
        if vectors is None:
            return cols, None
        kept = np.maximum(np.take_along_axis(ids, cols, axis=1), 0)
        return cols, np.take(vectors, kept, axis=0)                               # (B, P, D)

    def _catalogue_vectors(self) -> np.ndarray | None:
        if "two_tower" not in self.retriever.source_names:
            return None
        tower = self.retriever.source("two_tower")
        return tower.catalogue_vectors() if tower.fitted else None

    def serve(self, requests: Requests) -> Page:
        return self.serve_with_parts(requests)[0]

    def serve_with_parts(self, requests: Requests) -> tuple[Page, dict]:
        """The page, and the batch's intermediates for explanations (feedsim.report.explain):
        candidates, the pre-ranked ones, ranker predictions and fusion terms, the re-rank
        result and the page before and after the random fill. Arrays are (B, ...)."""
        if self.streaming is not None:
            self.streaming.ready(requests.day)
        if self.live is not None:
            self.live.tick(requests.user_ids.shape[0])
        users = requests.user_ids
        with self.clock("retrieve"):
            ids, merged, source, prescore = self._candidates(requests)
        with self.clock("prerank"):
            cols, emb = self.prerank(users, ids, merged, source, prescore)
            kept, kept_src = (np.take_along_axis(a, cols, axis=1) for a in (ids, source))
        preds, terms, fused = {}, {}, np.take_along_axis(merged, cols, axis=1)
        if self.ranker.fitted:
            with self.clock("rank"):
                scores = self.ranker.score(users, np.maximum(kept, 0), requests.hour,
                                           requests.session_index, requests.day,
                                           self.ctx.counters.recent)
            preds, terms, fused = scores.preds, scores.contributions, scores.score
        fused = np.where(kept >= 0, fused, -np.inf).astype(np.float32)
        with self.clock("rerank"):
            slate = self.reranker.slate(self.ctx, users, kept, fused, kept_src, emb)
            result = self.reranker.rerank(slate, self.rng)
        safe = np.maximum(result.columns, 0)
        extras = {f"pred_{t}": np.where(result.columns >= 0, np.take_along_axis(p, safe, 1),
                                        np.nan).astype(np.float32) for t, p in preds.items()}
        page = result.page(extras)
        picked, src, prop = page.video_ids.copy(), page.source.copy(), page.propensity.copy()
        fill_random(self.ctx, self.rng, requests, picked, src, prop,
                    random_source=self.source_names.index("cold_random"))
        parts = dict(ids=ids, source=source, kept=kept, kept_src=kept_src, fused=fused,
                     preds=preds, terms=terms, result=result, page=page)
        return Page(picked, src, prop, page.score, page.extras), parts
