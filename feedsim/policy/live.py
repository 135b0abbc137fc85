"""Stage 1 of 5, in real time: candidate sources refreshed during the day.

With the day cache (`policy.retrieval_cache=day`, see fyp.py) a user's ~500 candidates are
retrieved once and re-ranked all day. That is cheap, but a trend that takes off at noon cannot
reach anyone before tomorrow's retrieval, however fast the ranker learns: a streaming ranker
(ranking/streaming.py, the Monolith idea) can only rank what retrieval hands it. A real platform
pairs its streaming model updates with real-time candidate sources, and so does this module.

`LiveSources` re-fits the sources named in `policy.live_sources` from the platform's live
counters every `policy.live_refresh_requests` requests, and appends each one's
`policy.live_candidates` best for the user to every request's cached candidates (minus those
already there). Only sources whose fit reads nothing but the live counters can be refreshed
this way: today `trending` (its rising-engagement pools per language).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from feedsim.retrieval.retriever import Retriever

LIVE_CAPABLE = ("trending",)          # sources whose refit reads only the live counters


class LiveSources:
    """Real-time sources: refreshed every N requests, appended to each request's candidates."""

    def __init__(self, retriever: Retriever, names: list[str], per_request: int,
                 refresh_every: int):
        self.retriever, self.names = retriever, list(names)
        self.per_request, self.refresh_every = per_request, refresh_every
        self.since_refresh = 0
        self.refreshes = 0

    def begin_day(self) -> None:
        self.since_refresh, self.refreshes = 0, 0

    def tick(self, n_requests: int) -> None:
        """Count requests; refit the live sources when `refresh_every` have passed."""
        self.since_refresh += n_requests
        if self.since_refresh < self.refresh_every:
            return
        for name in self.names:
            source = self.retriever.source(name)
            if source.fitted:
                source.refresh()
        self.since_refresh, self.refreshes = 0, self.refreshes + 1

    def extend(self, users: np.ndarray, ids: np.ndarray, score: np.ndarray,
               source: np.ndarray, prescore: np.ndarray | None,
               prescore_of: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]):
        """The candidate arrays (B, C) with each live source's best (B, k) appended as columns
        (B, C + L*k); live videos already among the row's candidates become -1 pads."""
        parts = [(ids, score, source, prescore)]
        for name in self.names:
            src = self.retriever.source(name)
            if not src.fitted:
                continue
            live = src.retrieve(users, self.per_request)                         # (B, k)
            live_ids = live.video_ids.copy()
            known = np.concatenate([p[0] for p in parts], axis=1)                # (B, C')
            dup = (live_ids[:, :, None] == known[:, None, :]).any(axis=2)        # (B, k)
            live_ids[dup] = -1
            live_score = np.where(live_ids >= 0, live.scores, -np.inf).astype(np.float32)
            live_pre = None if prescore is None else \
                prescore_of(users, live_ids, live_score).astype(np.float32)
            parts.append((live_ids, live_score, live.source, live_pre))
        if len(parts) == 1:
            return ids, score, source, prescore
        cat = [np.concatenate([p[i] for p in parts], axis=1) for i in range(3)]
        pre = None if prescore is None else np.concatenate([p[3] for p in parts], axis=1)
        return cat[0], cat[1], cat[2], pre

    def day_metrics(self) -> dict[str, float]:
        return {"live/refreshes": float(self.refreshes)}
