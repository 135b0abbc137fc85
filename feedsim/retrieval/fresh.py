"""Stage 1 of 5 (retrieval): the fresh pool, recent uploads with few impressions (exploration).

New videos have no engagement for the learned sources to find, so some candidate slots go to
uploads of the last `max_age_days` that the log has shown fewer than `max_impressions` times.
Each language keeps a pool, least-shown first; every request draws its own random ordered
sample of the pool (a partial shuffle, from the source's seeded generator), so exposure spreads
across the new catalogue.
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit
from feedsim.logs import ImpressionBatch, VideoCounters
from feedsim.retrieval.base import NO_VIDEO, Candidates, Source, language_pools
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
                                       n_lang, self.cfg.pool)                    # (L, P)
        self.sizes = (self.pools >= 0).sum(axis=1)                                # (L,)

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        lang = np.asarray(self.view.user_language[user_ids], np.int64)
        k = min(k, self.pools.shape[1])
        vids = np.full((lang.size, k), NO_VIDEO, dtype=np.int64)
        _draw_rows(self.pools, self.sizes, lang, self.rng.random((lang.size, k)), vids)
        rank = np.broadcast_to(-np.arange(k, dtype=np.float64), vids.shape)      # best first
        return Candidates.from_topk(vids, np.where(vids >= 0, rank, -np.inf), self.source_id)


@njit
def _draw_rows(pools, sizes, lang, uniforms, out):
    """Row b: a uniformly random ordered sample without replacement of its language's pool,
    by a partial Fisher-Yates shuffle (one uniform per drawn slot) of a copy of the pool.
    pools (L, P) ids, sizes (L,) valid ids per pool, uniforms (B, k), out (B, k) -1 filled."""
    scratch = np.empty(pools.shape[1], dtype=np.int64)
    for b in range(lang.shape[0]):
        n = sizes[lang[b]]
        scratch[:n] = pools[lang[b], :n]
        for i in range(min(out.shape[1], n)):
            j = min(i + int(uniforms[b, i] * (n - i)), n - 1)            # uniform on [i, n)
            scratch[i], scratch[j] = scratch[j], scratch[i]
            out[b, i] = scratch[i]
