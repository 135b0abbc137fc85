"""Stage 1 of 5 (retrieval): the popularity source, the yardstick learned sources must beat.

The popular baseline's ranking (decayed engagement from the platform's counters, a
follower-and-freshness prior underneath), kept per language: every user of a language is
offered the head of that language's list. It is off in the default source list and serves as
the popularity baseline of the offline evaluation.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs import ImpressionBatch, VideoCounters
from feedsim.retrieval.base import Candidates, Source, language_pools
from feedsim.retrieval.trending import engagement


class PopularSource(Source):
    name = "popular"

    def __init__(self, view, counters: VideoCounters, pool: int, source_id: int = 0):
        super().__init__(source_id)
        self.view, self.counters, self.pool = view, counters, pool

    def scores(self) -> np.ndarray:
        v = self.view.videos
        prior = np.log1p(self.view.creator_followers[v.creator]) - 0.1 * (self.view.day - v.upload_day)
        score = engagement(self.counters.recent, v.n) + 1e-3 * prior
        return np.where(v.moderated, -np.inf, score)

    def _fit(self, log: ImpressionBatch) -> None:
        n_lang = int(max(self.view.user_language.max(), self.view.videos.language.max())) + 1
        self.pools, self.pool_scores = language_pools(
            self.scores(), np.asarray(self.view.videos.language), n_lang, self.pool)

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        lang = np.asarray(self.view.user_language[user_ids], np.int64)
        return Candidates.from_topk(self.pools[lang, :k], self.pool_scores[lang, :k],
                                    self.source_id)
