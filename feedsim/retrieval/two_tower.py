"""Stage 1 of 5 (retrieval): the two-tower source, trained with in-batch softmax and logQ.

Each positive impression (a valid play, weighted by watch seconds and actions, or by watch
ratio with `positive_weight=ratio`) is a training example; the other positives of the batch
are its negatives. Popular videos appear as in-batch negatives in proportion to their share of
positives q_j, so the softmax learns to bury them; the logQ correction (Yi et al., RecSys 2019)
subtracts log q_j, with q_j the exact per-draw frequency of video j in the positive stream.
`logq=false` switches it off for teaching. The exposure correction adds log e_j (j's share of
impressions): the log counts what the logging policy chose to show, so without it the towers
learn "shown often" (popularity) rather than "engaging when shown". Large id tables are sparse
(SparseAdam), small ones and the MLPs dense (Adam).
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from feedsim.device import torch_threads
from feedsim.logs import ImpressionBatch
from feedsim.retrieval.base import Candidates, EmptyLogError, Source, positive_weights, recent_positives
from feedsim.retrieval.config import TwoTowerConfig
from feedsim.retrieval.index import Index
from feedsim.retrieval.tower_features import (Vocab, history_column, user_table, video_id_column,
                                              video_table)


SPARSE_MIN_ROWS = 1000                 # id tables at least this large train sparse


class Towers(nn.Module):
    """User and video towers mapping id features to unit vectors of size dim."""

    def __init__(self, vocab: Vocab, cfg: TwoTowerConfig):
        super().__init__()
        d, sp = cfg.dim, cfg.sparse
        # sparse gradients only pay off for large tables: a 6-row table is cheaper dense
        emb = lambda n: nn.Embedding(n + 1, d, padding_idx=n,                  # noqa: E731
                                     sparse=sp and n >= SPARSE_MIN_ROWS)
        self.user_id = emb(vocab.users)
        self.user_cols = nn.ModuleList([emb(n) for n in (vocab.markets, vocab.languages,
                                                          vocab.devices, vocab.age_buckets)])
        self.history = nn.EmbeddingBag(vocab.videos + 1, d, mode="mean",
                                       padding_idx=vocab.videos, sparse=sp)
        self.video_id = emb(vocab.videos)
        self.tags = nn.EmbeddingBag(vocab.tags + 1, d, mode="sum", padding_idx=vocab.tags,
                                    sparse=sp and vocab.tags >= SPARSE_MIN_ROWS)
        self.video_cols = nn.ModuleList([emb(n) for n in (vocab.sounds, vocab.creators,
                                                           vocab.duration_buckets, vocab.languages)])
        mlp = lambda n_in: nn.Sequential(nn.Linear(n_in * d, cfg.hidden), nn.ReLU(),  # noqa: E731
                                         nn.Linear(cfg.hidden, d))
        self.user_mlp, self.video_mlp = mlp(6), mlp(5)

    def user(self, uid: torch.Tensor, cols: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        """uid (B,), cols (B, 4), hist (B, H) -> (B, D) unit vectors."""
        parts = [self.user_id(uid), self.history(hist)]
        parts += [table(cols[:, i]) for i, table in enumerate(self.user_cols)]
        return F.normalize(self.user_mlp(torch.cat(parts, dim=1)), dim=1)      # (B, D)

    def video(self, vid: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """vid (N,) (padding = content only), content (N, 6) -> (N, D) unit vectors."""
        parts = [self.tags(content[:, :2])]
        parts += [table(content[:, 2 + i]) for i, table in enumerate(self.video_cols)]
        dense = self.video_mlp(torch.cat(parts, dim=1))                        # (N, D)
        return F.normalize(dense + self.video_id(vid), dim=1)


def init_params(model: nn.Module, gen: torch.Generator, std: float = 0.05) -> None:
    """Re-initialise every parameter from `gen` (the global RNG is never used)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = std if p.dim() < 2 or "mlp" not in name else (1.0 / p.shape[1]) ** 0.5
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
        for m in model.modules():
            if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.padding_idx is not None:
                m.weight[m.padding_idx].zero_()


def in_batch_loss(u: torch.Tensor, v: torch.Tensor, vid: torch.Tensor, log_q: torch.Tensor | None,
                  weight: torch.Tensor, temperature: float) -> torch.Tensor:
    """Weighted in-batch softmax: u, v (B, D); vid (B,) true ids; log_q (B,) or None."""
    logits = u @ v.T / temperature                                            # (B, B)
    if log_q is not None:
        logits = logits - log_q[None, :]
    dup = (vid[:, None] == vid[None, :]) & ~torch.eye(vid.shape[0], dtype=torch.bool,
                                                       device=vid.device)
    logits = logits.masked_fill(dup, float("-inf"))                          # same video elsewhere
    target = torch.arange(vid.shape[0], device=vid.device)
    loss = F.cross_entropy(logits, target, reduction="none")                 # (B,)
    return (loss * weight).sum() / weight.sum()


class UserVectors:
    """The two-tower's user vectors, computed once per user between two fits. (U, D) lazily.

    The user tower reads the user's static features and the history fixed at fit time, so a
    user's vector cannot change until the tower is refitted; `clear` is called when it is.
    Retrieval's queries and the fyp pre-rank's dot products both read it."""

    def __init__(self, n_users: int):
        self.n_users = n_users
        self.table: np.ndarray | None = None                                   # (U, D)
        self.known = np.zeros(n_users, dtype=bool)                             # (U,)

    def clear(self) -> None:
        self.known[:] = False

    def __call__(self, tower, users: np.ndarray) -> np.ndarray:
        """Vectors of users (B,) from `tower.user_vectors`, each computed once. (B, D)"""
        new = np.unique(users[~self.known[users]])
        if new.size:
            vectors = tower.user_vectors(new).detach().cpu().numpy()            # (N, D)
            if self.table is None or self.table.shape[1] != vectors.shape[1]:
                self.table = np.zeros((self.n_users, vectors.shape[1]), dtype=vectors.dtype)
            self.table[new] = vectors
            self.known[new] = True
        return self.table[users]


class TwoTowerSource(Source):
    name = "two_tower"

    def __init__(self, view, cfg: TwoTowerConfig, index: Index, gen: torch.Generator,
                 device: str = "cpu", source_id: int = 0):
        super().__init__(source_id)
        self.view, self.cfg, self.index, self.gen, self.device = view, cfg, index, gen, device
        self.train_stats: dict[str, float] = {}
        self.encoded = 0
        self.queries = UserVectors(view.n_users)       # the user tower's output, per fit

    def _fit(self, log: ImpressionBatch) -> None:
        weight = positive_weights(log, self.cfg.positive_weight)
        pos = np.flatnonzero(weight > 0)
        if pos.size == 0:
            raise EmptyLogError(f"retrieval source {self.name!r}: the log holds no positive "
                                "impressions (valid plays) to learn from")
        if self.cfg.max_samples > 0:
            pos = pos[-self.cfg.max_samples:]                # the log is oldest first
        self.vocab = Vocab.of(self.view, self.cfg)
        self.known = np.zeros(self.vocab.videos, bool)
        self.known[log.video_id[pos]] = True
        self.users = user_table(self.view, self.vocab).to(self.device)          # (U, 4)
        self.hist = history_column(recent_positives(log, self.vocab.users, self.cfg.history),
                                   self.vocab).to(self.device)                  # (U, H)
        self.model = Towers(self.vocab, self.cfg)
        self.queries.clear()
        init_params(self.model, self.gen)
        self.model.to(self.device)
        start = time.perf_counter()
        with torch_threads(self.cfg.torch_threads):
            n = self._train(log.user_id[pos].astype(np.int64), log.video_id[pos].astype(np.int64),
                            weight[pos], log.video_id[pos[0]:])
        self.train_stats = {"samples": float(n), "seconds": time.perf_counter() - start}
        self._encode_catalogue()

    def _optimisers(self) -> list[torch.optim.Optimizer]:
        """SparseAdam for the large id tables; Adam for the small tables (at the embedding
        learning rate) and the MLPs."""
        if not self.cfg.sparse:
            return [torch.optim.Adam(self.model.parameters(), lr=self.cfg.lr)]
        tables = [m for m in self.model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
        sparse = [m.weight for m in tables if m.sparse]
        small = [m.weight for m in tables if not m.sparse]
        ids = {id(p) for p in sparse + small}
        mlp = [p for p in self.model.parameters() if id(p) not in ids]
        return [torch.optim.SparseAdam(sparse, lr=self.cfg.sparse_lr),
                torch.optim.Adam([{"params": mlp}, {"params": small, "lr": self.cfg.sparse_lr}],
                                 lr=self.cfg.lr)]

    def _correction(self, videos: np.ndarray, shown: np.ndarray) -> np.ndarray:
        """The logit offset subtracted for each positive's video. (N,)

        logQ: log q_j, the exact per-draw frequency of j among the positives (the in-batch
        negatives are drawn from it). Exposure: plus log e_j, the share of impressions that
        showed j over the same span, so the towers learn engagement per exposure instead of
        re-learning what the logging policy chose to show (popular videos were shown more).
        """
        n = self.vocab.videos
        offset = np.zeros(videos.size)
        if self.cfg.logq:
            offset += np.log(np.bincount(videos, minlength=n)[videos] / videos.size)
        if self.cfg.exposure_correction:
            exposure = np.bincount(shown[shown < n], minlength=n) / max(shown.size, 1)
            offset -= np.log(np.maximum(exposure[videos], 1e-12))
        return offset

    def _train(self, users: np.ndarray, videos: np.ndarray, weight: np.ndarray,
               shown: np.ndarray) -> int:
        """Epochs of shuffled mini-batches over the positives; returns samples seen."""
        dev = self.device
        u_all, v_all = torch.as_tensor(users, device=dev), torch.as_tensor(videos, device=dev)
        w_all = torch.as_tensor(weight, dtype=torch.float32, device=dev)
        logq_all = torch.as_tensor(self._correction(videos, np.asarray(shown, np.int64)),
                                   dtype=torch.float32, device=dev)
        content = video_table(self.view, self.vocab, np.arange(self.vocab.videos)).to(dev)
        opts, bs, seen = self._optimisers(), self.cfg.batch_size, 0
        self.model.train()
        for _ in range(self.cfg.epochs):                          # a loop over epochs and batches
            perm = torch.randperm(users.size, generator=self.gen).to(dev)
            for start in range(0, users.size - 1, bs):
                idx = perm[start:start + bs]                                   # (B,)
                loss = self._step_loss(u_all[idx], v_all[idx], w_all[idx], logq_all[idx], content)
                for opt in opts:
                    opt.zero_grad()
                loss.backward()
                for opt in opts:
                    opt.step()
                seen += idx.shape[0]
        return seen

    def _step_loss(self, u, v, w, log_q, content) -> torch.Tensor:
        hist = self.hist[u]                                                    # (B, H)
        hist = torch.where(hist == v[:, None], self.vocab.videos, hist)        # no target leak
        drop = torch.rand(v.shape, generator=self.gen).to(v.device) < self.cfg.id_dropout
        vid = torch.where(drop, self.vocab.videos, v)
        uvec = self.model.user(u, self.users[u], hist)                          # (B, D)
        vvec = self.model.video(vid, content[v])                                # (B, D)
        return in_batch_loss(uvec, vvec, v, log_q, w, self.cfg.temperature)

    @torch.no_grad()
    def video_vectors(self, ids: np.ndarray) -> torch.Tensor:
        """Embeddings of videos `ids` (any, including uploads after the fit). (N, D)"""
        if self.model.training:          # eval() walks every submodule: once per fit
            self.model.eval()
        out = []
        for start in range(0, ids.size, self.cfg.encode_batch):       # a loop over chunks
            chunk = ids[start:start + self.cfg.encode_batch]
            vid = video_id_column(chunk, self.known, self.vocab).to(self.device)
            content = video_table(self.view, self.vocab, chunk).to(self.device)
            out.append(self.model.video(vid, content))
        return torch.cat(out) if out else torch.zeros((0, self.cfg.dim), device=self.device)

    @torch.no_grad()
    def user_vectors(self, user_ids: np.ndarray) -> torch.Tensor:
        if self.model.training:          # eval() walks every submodule: once per fit
            self.model.eval()
        u = torch.as_tensor(user_ids, device=self.device)
        return self.model.user(u, self.users[u], self.hist[u])                  # (B, D)

    def cached_user_vectors(self, user_ids: np.ndarray) -> np.ndarray:
        """user_vectors, each user's computed once per fit. (B, D) float32"""
        return self.queries(self, user_ids)

    def _encode_catalogue(self) -> None:
        self.encoded = self.view.videos.n
        vectors = self.video_vectors(np.arange(self.encoded))                   # (V, D)
        self.catalogue = vectors.detach().cpu().numpy()
        self.index.build(vectors)

    def catalogue_vectors(self) -> np.ndarray:
        """Encoded vectors of the whole catalogue, re-encoded after uploads. (V, D) float32"""
        if self.view.videos.n > self.encoded:
            self._encode_catalogue()
        return self.catalogue

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        if self.view.videos.n > self.encoded:          # new uploads since the fit: content only
            self._encode_catalogue()
        scores, ids = self.index.search(self.cached_user_vectors(user_ids), k)
        return Candidates.from_topk(ids, scores, self.source_id)
