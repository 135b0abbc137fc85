"""Stages 2 and 3 of 5: the `Ranker` facade, fitted from logs, scoring candidate matrices.

`fit(log)` builds as-of-serving-time features for every logged row, trains the configured
multi-task model on the last `train.days` days (validating on the latest), records offline
metrics on that validation day (`offline/<task>/<metric>`), and rebuilds the daily user
history used at serving. `score(...)` takes a (B, C) candidate matrix for a batch of requests
and returns each task's prediction (B, C), the fused score (B, C) and each fusion term (B, C).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from feedsim.logs.schema import ImpressionBatch
from feedsim.metrics.offline import binary_report, error_by_duration, xauc
from feedsim.ranking.config import RankingConfig
from feedsim.ranking.features import (REQUEST_DENSE, REQUEST_FIELDS, FeatureEncoder, RowInputs,
                                      serving_rows, training_rows)
from feedsim.ranking.fusion import Fusion
from feedsim.ranking.heads import Heads
from feedsim.ranking.history import UserHistory
from feedsim.ranking.item_cache import ItemCache
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.tasks import WatchTarget, labels
from feedsim.device import torch_threads
from feedsim.ranking.train import EVAL_BATCH, FitResult, Tensors, fit

VAL_SHARE_ONE_DAY = 0.2
# Rows per forward at CPU serving. Each layer's output is a fresh tensor; at 4 k rows the
# largest (tasks x rows x 32 float32) is 4 MB, which the allocator reuses and the caches
# hold, where 64 k-row chunks took new pages from the kernel on every call (1.9x the CPU
# time of a 3 000-request batch).
SERVE_ROWS = 4096


@dataclass
class RankScores:
    preds: dict[str, np.ndarray]          # task -> (B, C)
    score: np.ndarray                     # (B, C) fused
    contributions: dict[str, np.ndarray]  # task -> (B, C) fusion terms


def split_rows(log: ImpressionBatch, days: int, max_rows: int,
               max_val_rows: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training rows (the `days` newest days but the last) and validation rows
    (the latest day; the latest VAL_SHARE_ONE_DAY of it when the log holds a single day).
    With `max_val_rows`, validation keeps every row of a fixed subset of users, about that
    many rows: a day grows with the world while training rows are capped, and per-user
    metrics (GAUC) need each kept user's whole day."""
    last = int(log.day.max())
    val = log.day == last
    train = (log.day > last - days) & ~val
    if not train.any():
        cut = np.quantile(log.request_id[val], 1 - VAL_SHARE_ONE_DAY)
        train, val = val & (log.request_id < cut), val & (log.request_id >= cut)
    train_idx = np.flatnonzero(train)
    if max_rows and train_idx.size > max_rows:
        train_idx = train_idx[-max_rows:]                                 # the newest rows
    val_idx = np.flatnonzero(val)
    if max_val_rows and val_idx.size > max_val_rows:
        val_idx = val_idx[user_subset(log.user_id[val_idx], max_val_rows)]
    return train_idx, val_idx


def user_subset(user_ids: np.ndarray, max_rows: int) -> np.ndarray:
    """Rows (bool mask) of the users first in a fixed hash order, until about `max_rows` rows
    (at least one user). The order is Knuth's multiplicative hash mod 2^32, a bijection, so it
    is the same every day and for every seed."""
    key = user_ids.astype(np.uint64) * np.uint64(2654435761) % np.uint64(2**32)
    users, counts = np.unique(key, return_counts=True)                   # in hash order
    kept = users[np.cumsum(counts) - counts < max_rows]
    return np.isin(key, kept)


class Ranker:
    """Multi-task ranker + value model. Components get typed arguments, never the root config."""

    def __init__(self, cfg: RankingConfig, view, device: str = "cpu", seed: int = 0):
        self.cfg, self.view, self.device, self.seed = cfg, view, device, seed
        self.fusion = Fusion(cfg.fusion, list(cfg.heads))
        self.model = None
        self.encoder: FeatureEncoder | None = None
        self.heads: Heads | None = None
        self.history: UserHistory | None = None
        self.result: FitResult | None = None
        self._frozen: tuple[int, dict[str, np.ndarray]] | None = None   # (day, counters)
        self.item_cache = ItemCache(cfg.item_cache_mb)     # CPU serving (item_cache.py)

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def _tensors(self, rows: RowInputs, targets: np.ndarray, position: np.ndarray,
                 per_request: int = 1) -> Tensors:
        cat, dense = self.encoder.encode(rows, per_request)
        dev = self.device
        return Tensors(torch.from_numpy(cat).to(dev), torch.from_numpy(dense).to(dev),
                       torch.from_numpy(position.astype(np.int64)).to(dev),
                       torch.from_numpy(targets).to(dev))

    def _targets(self, log: ImpressionBatch, idx: np.ndarray) -> np.ndarray:
        y = labels(log.select(idx))
        w, d = log.watch_s[idx], log.duration_s[idx]
        finite = np.isfinite(w) & np.isfinite(d)                # a damaged row stays visible:
        y["watch"] = np.where(finite, self.heads.watch.target(np.nan_to_num(w), d), np.nan)
        return np.stack([y[t] for t in self.cfg.heads], axis=1).astype(np.float32)   # (n, T)

    def fit(self, log: ImpressionBatch | None, daily_decay: float) -> dict[str, float]:
        """Train on the log (oldest first); returns offline metrics of the validation day."""
        with torch_threads(self.cfg.train.threads):
            return self._fit(log, daily_decay)

    def _fit(self, log: ImpressionBatch | None, daily_decay: float) -> dict[str, float]:
        n = 0 if log is None else len(log)
        if n < self.cfg.train.min_rows:
            raise ValueError(f"Ranker.fit: the log holds {n} rows, fewer than "
                             f"ranking.train.min_rows={self.cfg.train.min_rows}; nothing to fit")
        cfg = self.cfg
        rows = training_rows(log, self.view, daily_decay, cfg.counter_freshness)
        train_idx, val_idx = split_rows(log, cfg.train.days, cfg.train.max_rows,
                                        cfg.train.max_val_rows)
        finite = np.isfinite(log.watch_s) & np.isfinite(log.duration_s)
        ok = train_idx[finite[train_idx]]
        watch = WatchTarget.fit(cfg.watch_target, log.watch_s[ok], log.duration_s[ok],
                                cfg.duration_buckets)
        self.heads = Heads(list(cfg.heads), watch, list(cfg.esmm))
        self.encoder = FeatureEncoder(self.view, cfg.id_embeddings)
        train = self._tensors(rows.take(train_idx), self._targets(log, train_idx),
                              log.position[train_idx])
        val = self._tensors(rows.take(val_idx), self._targets(log, val_idx),
                            log.position[val_idx])
        self.model = build_model(cfg.model, self._spec(), torch.Generator().manual_seed(self.seed))
        self.item_cache.invalidate()
        self.model.init_output_bias(self._base_logits(train.targets))
        self.model.to(self.device)
        gen = torch.Generator().manual_seed(self.seed + 1)
        self.result = fit(self.model, self.heads, train, val, cfg.train, gen)
        self.history = UserHistory(self.view, log)
        return self.offline_metrics(log, val_idx, val)

    def _base_logits(self, targets: torch.Tensor) -> torch.Tensor:
        """Logit of each binary task's base rate (chained tasks: of the conditional rate). (T,)"""
        rate = targets.nan_to_num(0.0).mean(0).clamp(1e-4, 1 - 1e-4)          # (T,)
        idx = self.heads.index
        for t in self.heads.esmm:
            rate[idx[t]] = (rate[idx[t]] / rate[idx["long_view"]]).clamp(1e-4, 1 - 1e-4)
        logits = torch.log(rate / (1 - rate))
        if "watch" in idx:
            logits[idx["watch"]] = {"regression": 1.0, "weighted_logistic": 0.0}.get(
                self.cfg.watch_target, 0.0)
        return logits

    def _spec(self) -> ModelSpec:
        c = self.cfg
        return ModelSpec(self.encoder.vocab, len(self.encoder.sizes), self.encoder.n_dense,
                         len(c.heads), c.embedding_dim, tuple(c.hidden), c.tower_hidden,
                         c.n_experts, c.task_experts, c.ple_levels,
                         c.train.sparse_embeddings, c.position_tower,
                         REQUEST_FIELDS, REQUEST_DENSE)

    @torch.inference_mode()
    def _predict_tensors(self, data: Tensors, per_request: int = 1) -> dict[str, np.ndarray]:
        """Serving-mode predictions (no position tower) for encoded rows, task -> (N,).
        `per_request` = C: the rows are blocks of C candidates of one request each."""
        chunk = max(EVAL_BATCH // per_request, 1) * per_request          # whole requests
        return self._collect(self.model(data.cat[start:start + chunk],
                                        data.dense[start:start + chunk], per_request=per_request)
                             for start in range(0, len(data.cat), chunk))

    def _collect(self, chunks) -> dict[str, np.ndarray]:
        """Each head's predictions, task -> (N,), from the logits (n, T) of successive chunks."""
        out: dict[str, list[np.ndarray]] = {t: [] for t in self.cfg.heads}
        for logits in chunks:
            for t, p in self.heads.predict(logits).items():
                out[t].append(p.float().cpu().numpy())
        return {t: np.concatenate(v) for t, v in out.items()}

    def predict(self, rows: RowInputs, per_request: int = 1,
                split: bool = True) -> dict[str, np.ndarray]:
        """Serving-mode predictions for encoded-ready rows, task -> (N,). `per_request` = C:
        the rows are blocks of C candidates of one request, whose request-level features are
        built once; `split`: the model also computes their part once (models/base.py)."""
        n = rows.user.shape[0]
        data = self._tensors(rows, np.zeros((n, 1), np.float32), np.zeros(n), per_request)
        return self._predict_tensors(data, per_request if split else 1)

    def offline_metrics(self, log: ImpressionBatch, idx: np.ndarray,
                        data: Tensors) -> dict[str, float]:
        preds = self._predict_tensors(data)
        y = labels(log.select(idx))
        users = log.user_id[idx]
        out: dict[str, float] = {}
        for t in self.cfg.heads:
            if t == "watch":
                target = self.heads.watch.target(log.watch_s[idx], log.duration_s[idx])
                rng = np.random.Generator(np.random.PCG64(self.seed))
                metrics = {"xauc": xauc(log.watch_s[idx], preds[t], rng),
                           **error_by_duration(target, preds[t] / (self.heads.watch.scale if
                                               self.cfg.watch_target != "d2q" else 1.0),
                                               log.duration_s[idx])}
            else:
                metrics = binary_report(y[t], preds[t], users)
            out.update({f"offline/{t}/{k}": v for k, v in metrics.items()})
        out["offline/train_samples_per_s"] = self.result.samples_per_s
        out["offline/skipped_batches"] = float(self.result.skipped_batches)
        return out

    def _cached_predict(self, rows: RowInputs, per_request: int,
                        day: int) -> dict[str, np.ndarray] | None:
        """predict() with the candidates' item part looked up in the day's item table
        (item_cache.py), task -> (N,); None when the table does not fit its cap."""
        table = self.item_cache.table_for(self.model, self.encoder, day, self.view.videos.n)
        if table is None:
            return None
        request_cat, dense = self.encoder.encode_requests(rows, per_request)
        dev = self.device
        return self.predict_items(torch.from_numpy(request_cat).to(dev),
                                  torch.from_numpy(dense).to(dev),
                                  torch.from_numpy(rows.video).to(dev), table, per_request)

    @torch.inference_mode()
    def predict_items(self, request_cat: torch.Tensor, dense: torch.Tensor,
                      videos: torch.Tensor, table: torch.Tensor,
                      per_request: int) -> dict[str, np.ndarray]:
        """Predictions of rows in blocks of `per_request` candidates, task -> (N,), from
        request fields (B, 6), dense columns (N, 32), the candidates' videos (N,) and an item
        table (V, W) (`model.item_table`), SERVE_ROWS rows per forward."""
        step = max(SERVE_ROWS // per_request, 1)                                # requests
        rows = (slice(first * per_request, (first + step) * per_request)
                for first in range(0, len(request_cat), step))
        return self._collect(
            self.model(request_cat[r.start // per_request:r.stop // per_request], dense[r],
                       per_request=per_request, item=table.index_select(0, videos[r]))
            for r in rows)                                                      # (n, T) each

    def _serving_counts(self, live: dict[str, np.ndarray], day: int) -> dict[str, np.ndarray]:
        """The video counters the ranker reads: the live ones, or (counter_freshness=daily)
        a copy frozen at the day's first scored request, before any of the day is logged."""
        if self.cfg.counter_freshness == "live":
            return live
        if self._frozen is None or self._frozen[0] != day:
            self._frozen = (day, {name: col.copy() for name, col in live.items()})
        return self._frozen[1]

    def score(self, user_ids: np.ndarray, candidates: np.ndarray, hour: np.ndarray,
              session_index: np.ndarray, day: int,
              video_counts: dict[str, np.ndarray]) -> RankScores:
        """Per-task predictions, fused score and fusion terms of a (B, C) candidate matrix."""
        if not self.fitted:
            raise RuntimeError("Ranker.score: the ranker has not been fitted")
        b, c = candidates.shape
        rows = serving_rows(self.view, self._serving_counts(video_counts, day), self.history,
                            user_ids, candidates, hour, session_index, day)     # B*C rows
        with torch_threads(self.cfg.train.threads):
            split = torch.device(self.device).type == "cpu"                     # flops-bound
            preds = self._cached_predict(rows, c, day) if split else None
            if preds is None:
                preds = self.predict(rows, c, split)
            preds = {t: p.reshape(b, c) for t, p in preds.items()}
        score, terms = self.fusion(preds)
        return RankScores(preds, score, terms)
