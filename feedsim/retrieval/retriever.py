"""Stage 1 of 5 (retrieval): the `Retriever`, all configured sources behind one call.

`fit` trains every source on the last `train_days` of the impression log; `retrieve` asks each
source for its quota (times `overfetch`) for a whole batch of requests and merges them into one
(B, total_candidates) `Candidates`, filtered once. The source tag of every candidate indexes
`source_names`.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs import ImpressionBatch
from feedsim.retrieval.base import Candidates, EmptyLogError, NotFittedError, RetrievalError, Source
from feedsim.retrieval.config import RetrievalConfig
from feedsim.retrieval.factory import build_sources
from feedsim.retrieval.merge import CandidateFilter, merge, quota_sizes


class Retriever:
    """Fit and query the configured sources; merge their candidates."""

    def __init__(self, cfg: RetrievalConfig, ctx, seed: int, device: str = "cpu",
                 names: list[str] | None = None):
        self.cfg, self.ctx = cfg, ctx
        self.sources: list[Source] = build_sources(cfg, ctx.view, ctx.counters, seed, device, names)
        self.sizes = quota_sizes(self.source_names, dict(cfg.quotas), cfg.total_candidates)
        self.keep = CandidateFilter(ctx.view, ctx.seen, cfg.filter_by)
        self.seed = seed
        self.truth = None            # set by evaluation code only (evaluate.attach_truth)

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise RetrievalError(f"retrieval: no source {name!r} here; sources are {self.source_names}")

    def fit(self, log: ImpressionBatch | None = None) -> "Retriever":
        """Fit every source on `log` (default: the context's last `train_days` of logs)."""
        if log is None:
            log = self.ctx.training_log(self.cfg.train_days)
        if log is None or len(log) == 0:
            raise EmptyLogError("retrieval: cannot fit on an empty impression log "
                                "(no days logged yet?)")
        for s in self.sources:                                   # a loop over a few sources
            s.fit(log)
        return self

    @property
    def fitted(self) -> bool:
        return all(s.fitted for s in self.sources)

    def retrieve(self, user_ids: np.ndarray) -> Candidates:
        """Merged candidates for users (B,): (B, total_candidates), best first."""
        if not self.fitted:
            raise NotFittedError("retrieval: retrieve() called before fit()")
        user_ids = np.asarray(user_ids, dtype=np.int64)
        parts = [s.retrieve(user_ids, int(np.ceil(q * self.cfg.overfetch)))
                 for s, q in zip(self.sources, self.sizes)]
        return merge(user_ids, parts, self.sizes, self.cfg.total_candidates, self.keep)

    def day_metrics(self) -> dict[str, float]:
        """The day's figures against the truth on `eval_users` sampled requests ({} when no
        truth is attached or the sources are not fitted)."""
        from feedsim.retrieval.evaluate import day_metrics
        return day_metrics(self, self.ctx.view.day, self.cfg.eval_users, self.cfg.eval_k)

    def retrieve_source(self, name: str, user_ids: np.ndarray, k: int,
                        filtered: bool = True) -> Candidates:
        """One source's own top k (after the merge filters when `filtered`), for evaluation."""
        source = self.source(name)
        part = source.retrieve(np.asarray(user_ids, np.int64), int(k * self.cfg.overfetch)
                               if filtered else k)
        if not filtered:
            return part
        return merge(np.asarray(user_ids, np.int64), [part], [k], k, self.keep)
