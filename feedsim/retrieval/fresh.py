"""Stage 1 of 5 (retrieval): the fresh pool, recent uploads with few impressions (exploration).

New videos have no engagement for the learned sources to find, so some candidate slots go to
uploads of the last `max_age_days` that the log has shown fewer than `max_impressions` times.
Each language keeps a pool, least-shown first; every request draws its own random slice of the
pool (from the source's seeded generator), so exposure spreads across the new catalogue.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs import ImpressionBatch, VideoCounters
from feedsim.retrieval.base import Candidates, Source, language_pools, topk_rows
from feedsim.retrieval.config import FreshConfig


class FreshSource(Source):
    name = "fresh"

    def __init__(self, view, counters: VideoCounters, cfg: FreshConfig,
                 rng: np.random.Generator, source_id: int = 0):
        super().__init__(source_id)
        self.view, self.counters, self.cfg, self.rng = view, counters, cfg, rng

    def scores(self) -> np.ndarray:
        """Fewer impressions first, newer breaks ties; -inf when not fresh. (V,)"""
        v, n = self.view.videos, self.view.videos.n
        shown = self.counters.total["impressions"][:n]
        fresh = (v.upload_day >= self.view.day - self.cfg.max_age_days) & ~v.moderated \
            & (shown < self.cfg.max_impressions)
        return np.where(fresh, -shown + 0.01 * v.upload_day, -np.inf)

    def _fit(self, log: ImpressionBatch) -> None:
        n_lang = int(max(self.view.user_language.max(), self.view.videos.language.max())) + 1
        self.pools, _ = language_pools(self.scores(), np.asarray(self.view.videos.language),
                                       n_lang, self.cfg.pool)

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        lang = np.asarray(self.view.user_language[user_ids], np.int64)
        ids = self.pools[lang]                                                     # (B, P)
        keys = np.where(ids >= 0, self.rng.random(ids.shape), -np.inf)             # (B, P)
        best, vids = topk_rows(keys, ids, k)
        return Candidates.from_topk(vids, best, self.source_id)
