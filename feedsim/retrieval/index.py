"""Stage 1 of 5 (retrieval): nearest-neighbour search over video embeddings.

One interface, two implementations. `ExactIndex` is a batched matmul + top-k in torch, on any
device (on CPU the top-k of a batch is feedsim/retrieval/topk.py's compiled selection); it is
the default and the correctness oracle. `FaissHNSWIndex` is approximate (HNSW
graph, inner product) from the optional `ann` extra; faiss is imported only when it is built.
Scores are inner products; callers normalise vectors when they want cosine.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from feedsim.retrieval.base import DivergedError, RetrievalError
from feedsim.retrieval.config import IndexConfig
from feedsim.retrieval.topk import topk_exact


class Index(ABC):
    """Maximum-inner-product search: build over (N, D) vectors, search (B, D) queries."""

    @abstractmethod
    def build(self, vectors: np.ndarray | torch.Tensor) -> "Index":
        """Index the rows of vectors (N, D)."""

    @abstractmethod
    def search(self, queries: np.ndarray | torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best rows per query: (scores (B, k) float32, ids (B, k) int64, -1 if fewer)."""


# Up to this many queries, CPU search scores as (N, b) and takes the top-k down the columns:
# a matrix-vector product streams the catalogue once, where (b, N) runs about 1.5x slower at
# 2 to 5 queries (40 k x 64, 2 cores). The day's refills are mostly one to five users.
FEW_QUERIES = 16


class ExactIndex(Index):
    """Exact top-k by one matmul per query chunk."""

    def __init__(self, device: str = "cpu", query_batch: int = 1024):
        self.device, self.query_batch = device, query_batch
        self.vectors: torch.Tensor | None = None          # (N, D)

    def build(self, vectors) -> "ExactIndex":
        vectors = torch.as_tensor(vectors, dtype=torch.float32).to(self.device).contiguous()
        _require_finite(vectors, "vectors")
        self.vectors = vectors
        return self

    @torch.no_grad()
    def search_torch(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-k as device tensors (no host copy): (B, k) scores and ids."""
        if self.vectors is None:
            raise RetrievalError("index: search() called before build()")
        if queries.device.type == "cpu":      # two top-k paths there (one on a GPU): see topk.py
            _require_finite(queries, "queries")
        k_eff = min(k, self.vectors.shape[0])
        if k_eff == 0:                                       # an empty catalogue, or k = 0
            empty = torch.zeros((queries.shape[0], 0), device=self.device)
            return empty, empty.long()
        out_s, out_i = [], []
        for start in range(0, queries.shape[0], self.query_batch):     # a loop over chunks
            q = queries[start:start + self.query_batch].to(self.device, torch.float32)
            if q.shape[0] <= FEW_QUERIES and self.vectors.device.type == "cpu":
                top = torch.topk(self.vectors @ q.T, k_eff, dim=0)      # (N, b) -> (k, b)
                out_s.append(top.values.T)
                out_i.append(top.indices.T)
                continue
            if self.vectors.device.type == "cpu":                       # compiled, threaded
                values, cols = topk_exact((q @ self.vectors.T).numpy(), k_eff)   # (b, k)
                out_s.append(torch.from_numpy(values))
                out_i.append(torch.from_numpy(cols))
                continue
            top = torch.topk(q @ self.vectors.T, k_eff, dim=1)          # (b, N) -> (b, k)
            out_s.append(top.values)
            out_i.append(top.indices)
        return torch.cat(out_s), torch.cat(out_i)

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.search_torch(torch.as_tensor(queries), k)
        return pad_k(scores.cpu().numpy(), ids.cpu().numpy().astype(np.int64), k)


class FaissHNSWIndex(Index):
    """Approximate search with a faiss HNSW graph (inner-product metric, CPU)."""

    def __init__(self, m: int = 32, ef_construction: int = 200, ef_search: int = 800):
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self.index = None

    def build(self, vectors) -> "FaissHNSWIndex":
        faiss = import_faiss()
        x = np.ascontiguousarray(torch.as_tensor(vectors).cpu().numpy(), dtype=np.float32)
        self.index = faiss.IndexHNSWFlat(x.shape[1], self.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.ef_construction
        self.index.add(x)
        return self

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.index is None:
            raise RetrievalError("index: search() called before build()")
        self.index.hnsw.efSearch = max(self.ef_search, k)
        q = np.ascontiguousarray(torch.as_tensor(queries).cpu().numpy(), dtype=np.float32)
        scores, ids = self.index.search(q, k)
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids.astype(np.int64)


def import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise RetrievalError("retrieval.index.kind=faiss_hnsw needs faiss: "
                             "pip install 'feedsim[ann]' (faiss-cpu)") from exc
    return faiss


def _require_finite(x: torch.Tensor, what: str) -> None:
    """A NaN or inf in vectors or queries would rank differently on the CPU's two top-k paths,
    and means the model that made them diverged: DivergedError, one line. The check is a
    couple of microseconds for a query batch on CPU (numpy, no temporaries kept)."""
    rows = x.detach().cpu().numpy() if x.device.type != "cpu" else x.detach().numpy()
    if np.isfinite(rows).all():
        return
    bad = int((~np.isfinite(rows)).any(axis=-1).sum())
    raise DivergedError(f"index: {bad} of the {rows.shape[0]} {what} hold NaN or inf "
                        "(the model that produced them diverged)")


def pad_k(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (B, k') results to k columns with -inf / -1."""
    short = k - ids.shape[1]
    if short > 0:
        scores = np.pad(scores, ((0, 0), (0, short)), constant_values=-np.inf)
        ids = np.pad(ids, ((0, 0), (0, short)), constant_values=-1)
    return scores.astype(np.float32), ids


def make_index(cfg: IndexConfig, device: str = "cpu") -> Index:
    """The configured index: `exact` (torch, on `device`) or `faiss_hnsw`."""
    if cfg.kind == "exact":
        return ExactIndex(device, cfg.query_batch)
    if cfg.kind == "faiss_hnsw":
        return FaissHNSWIndex(cfg.hnsw_m, cfg.ef_construction, cfg.ef_search)
    raise RetrievalError(f"retrieval.index.kind: unknown index {cfg.kind!r}; one of exact|faiss_hnsw")
