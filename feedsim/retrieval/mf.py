"""Stage 1 of 5 (retrieval): matrix factorisation with `implicit` (ALS by default, BPR option).

The log becomes one users x videos confidence matrix (rows are users, columns videos, always:
implicit >= 0.5 takes `user_items`), with confidence 1 + alpha x engagement weight for ALS and
the binary positives for BPR. BLAS threads are pinned around the fit (implicit warns, and slows
down badly, when OpenBLAS runs its own thread pool inside its workers). implicit's CUDA path is
used when it was built with CUDA and the device is cuda. Retrieval is a dot product through the
shared index; users and videos absent from the log get nothing from this source.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from feedsim.logs import ImpressionBatch
from feedsim.retrieval.base import (Candidates, EmptyLogError, RetrievalError, Source,
                                    positive_weights)
from feedsim.retrieval.config import MFConfig
from feedsim.retrieval.index import Index


def confidence_matrix(log: ImpressionBatch, n_users: int, n_videos: int,
                      alpha: float) -> sp.csr_matrix:
    """users x videos: 1 + alpha x summed engagement weight, positives only. (U, V) csr"""
    w = positive_weights(log)
    pos = w > 0
    m = sp.csr_matrix((w[pos], (log.user_id[pos].astype(np.int64),
                                log.video_id[pos].astype(np.int64))),
                      shape=(n_users, n_videos), dtype=np.float32)
    m.sum_duplicates()
    m.data = 1.0 + alpha * m.data
    return m


def has_implicit_cuda() -> bool:
    try:
        import implicit.gpu
    except ImportError:                      # pragma: no cover - implicit always ships it
        return False
    return bool(implicit.gpu.HAS_CUDA)


def make_model(cfg: MFConfig, seed: int, use_gpu: bool):
    """The implicit model of `cfg.algorithm`, on GPU when asked and available."""
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking

    if cfg.algorithm == "als":
        return AlternatingLeastSquares(factors=cfg.factors, regularization=cfg.regularization,
                                       iterations=cfg.iterations, use_gpu=use_gpu,
                                       num_threads=cfg.threads, random_state=seed)
    if cfg.algorithm == "bpr":
        # hogwild SGD is only reproducible on one thread
        return BayesianPersonalizedRanking(factors=cfg.factors, learning_rate=cfg.learning_rate,
                                           regularization=cfg.regularization,
                                           iterations=cfg.iterations, use_gpu=use_gpu,
                                           num_threads=1, random_state=seed)
    raise RetrievalError(f"retrieval.mf.algorithm: unknown algorithm {cfg.algorithm!r}; one of als|bpr")


class MFSource(Source):
    name = "mf"

    def __init__(self, view, cfg: MFConfig, index: Index, seed: int, device: str = "cpu",
                 source_id: int = 0):
        super().__init__(source_id)
        self.view, self.cfg, self.index, self.seed = view, cfg, index, seed
        self.use_gpu = device == "cuda" and has_implicit_cuda()
        self.train_stats: dict[str, float] = {}

    def _fit(self, log: ImpressionBatch) -> None:
        alpha = self.cfg.alpha if self.cfg.algorithm == "als" else 0.0
        m = confidence_matrix(log, self.view.n_users, self.view.videos.n, alpha)  # (U, V)
        if m.nnz == 0:
            raise EmptyLogError(f"retrieval source {self.name!r}: the log holds no positive "
                                "impressions (valid plays) to learn from")
        if self.cfg.algorithm == "bpr":
            m.data[:] = 1.0
        with threadpool_limits(limits=self.cfg.blas_threads, user_api="blas"):
            model = make_model(self.cfg, self.seed, self.use_gpu)     # checks the BLAS config
            start = time.perf_counter()
            model.fit(m, show_progress=False)
            seconds = time.perf_counter() - start
        if self.use_gpu:
            model = model.to_cpu()
        self.user_factors = np.asarray(model.user_factors, np.float32)   # (U, F)
        item = np.asarray(model.item_factors, np.float32)                 # (V, F)
        self.known_users = np.diff(m.indptr) > 0                          # (U,)
        known_items = np.asarray(m.getnnz(axis=0)) > 0
        self.item_ids = np.flatnonzero(known_items)                       # index row -> video
        self.index.build(item[self.item_ids])
        self.train_stats = {"samples": float(m.nnz * self.cfg.iterations), "seconds": seconds}

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        scores, rows = self.index.search(self.user_factors[user_ids], k)   # (B, k)
        vids = np.where(rows >= 0, self.item_ids[np.maximum(rows, 0)], -1)
        vids = np.where(self.known_users[user_ids][:, None], vids, -1)
        return Candidates.from_topk(vids, scores, self.source_id)
