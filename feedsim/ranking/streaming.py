"""Stage 2 of 5 (ranking), intra-day: streaming updates of the ranker (ByteDance's Monolith idea).

The daily retrain fits a fresh ranker on the last days of logs; between two retrains the world
moves (a sound starts trending at noon). With `ranking.streaming.enabled`, the For You policy
hands every logged batch to a `StreamingUpdater`, and every `every_requests` served page
requests the ranker takes `epochs` passes over the `window` newest impressions of the day,
through the same training step as the daily fit (`train.fit`), with a small learning rate.
Only impressions already served and responded to are ever seen.

Id embeddings follow Monolith's admission and expiry. A user or video id owns its embedding row
only once it has at least `min_count` impressions; below that it shares its field's default row
(the row the encoder already reserves for ids outside the vocabulary): training rows of such
ids are routed to the default row, and their own rows are held equal to it for serving. An id
unseen for more than `expire_days` is freed: its count restarts at zero and its row returns to
the default. Time is the day plus the share of the day's requests served so far (estimated
from yesterday's total), so `expire_days` may be fractional.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from feedsim.device import torch_threads
from feedsim.logs.schema import ImpressionBatch
from feedsim.ranking.config import StreamingConfig
from feedsim.ranking.features import FIELDS, training_rows
from feedsim.ranking.train import fit

ID_FIELDS = ("user", "video")           # fields under admission and expiry


class IdTable:
    """Impression count and last-seen time of every id of one field; grows with the field."""

    def __init__(self, n: int):
        self.count = np.zeros(n, dtype=np.int64)           # (N,)
        self.last_seen = np.full(n, -np.inf)               # (N,) clock of the last impression

    def grow(self, n: int) -> None:
        if n > self.count.shape[0]:
            extra = n - self.count.shape[0]
            self.count = np.concatenate([self.count, np.zeros(extra, np.int64)])
            self.last_seen = np.concatenate([self.last_seen, np.full(extra, -np.inf)])

    def observe(self, ids: np.ndarray, clock: float) -> None:
        self.grow(int(ids.max(initial=-1)) + 1)
        self.count += np.bincount(ids, minlength=self.count.shape[0])
        self.last_seen[np.unique(ids)] = clock

    def expire(self, clock: float, expire_days: float) -> int:
        """Free ids unseen for more than `expire_days`; returns how many were freed."""
        freed = (self.count > 0) & (clock - self.last_seen > expire_days)
        self.count[freed] = 0
        return int(freed.sum())

    def admitted(self, min_count: int) -> np.ndarray:
        return self.count >= min_count                     # (N,) bool


class StreamingUpdater:
    """Intra-day updates of one `Ranker`, fed by the policy's `observe`."""

    def __init__(self, cfg: StreamingConfig, ranker, ctx, seed: int):
        self.cfg, self.ranker, self.ctx, self.seed = cfg, ranker, ctx, seed
        self.ids = {"user": IdTable(ctx.view.n_users), "video": IdTable(ctx.view.videos.n)}
        self.today: list[ImpressionBatch] = []
        self.day = -1
        self.requests_today = self.requests_yesterday = self.since_update = 0
        self.updates = 0                                   # over the run: seeds each update
        self.stats = {"updates": 0, "rows": 0, "freed": 0}
        self._prepared = None                              # the model admission was applied to

    # ------------------------------------------------------------------ clock and bookkeeping
    def clock(self) -> float:
        """Today plus the share of the day served so far (from yesterday's request total)."""
        share = self.requests_today / self.requests_yesterday if self.requests_yesterday else 0.0
        return self.day + min(share, 0.999)

    def _new_day(self, day: int) -> None:
        self.requests_yesterday = self.requests_today if self.day >= 0 else 0
        self.day, self.today = day, []
        self.requests_today = self.since_update = 0
        self.stats = {"updates": 0, "rows": 0, "freed": 0}

    def ready(self, day: int) -> None:
        """Before serving: roll the day over and apply admission to a newly fitted model."""
        if day != self.day:
            self._new_day(day)
        if self.ranker.fitted and self.ranker.model is not self._prepared:
            self._expire()
            self._tie_unadmitted(fresh=True)
            self._prepared = self.ranker.model

    def observe(self, batch: ImpressionBatch) -> None:
        """Count a logged batch; update the ranker when `every_requests` requests have passed."""
        if len(batch) == 0:
            return
        self.ready(int(batch.day[0]))
        requests = int(np.unique(batch.request_id).shape[0])
        self.requests_today += requests
        self.since_update += requests
        clock = self.clock()
        self.ids["user"].observe(batch.user_id.astype(np.int64), clock)
        self.ids["video"].observe(batch.video_id.astype(np.int64), clock)
        self.today.append(batch)
        if self.since_update >= self.cfg.every_requests and self.ranker.fitted:
            self.update()

    def day_metrics(self) -> dict[str, float]:
        admitted = self.ids["video"].admitted(self.cfg.min_count)
        return {f"streaming/{k}": float(v) for k, v in self.stats.items()} | {
            "streaming/admitted_videos": float(admitted.sum())}

    # ------------------------------------------------------------------ the embedding table
    def _rows(self, name: str) -> tuple[int, int]:
        """(first row of the field in the shared table, its default row)."""
        enc = self.ranker.encoder
        offset = int(enc.offsets[FIELDS.index(name)])
        return offset, offset + enc.sizes[name] - 1

    def _unadmitted(self, name: str) -> np.ndarray:
        """Ids of the field, inside the model's vocabulary, without their own row. (M,)"""
        vocab = self.ranker.encoder.sizes[name] - 1
        table = self.ids[name]
        table.grow(vocab)
        return np.flatnonzero(~table.admitted(self.cfg.min_count)[:vocab])

    @torch.no_grad()
    def _tie_unadmitted(self, fresh: bool = False) -> None:
        """Hold every unadmitted id's row equal to its field's default row. On a freshly fitted
        model (which trained every id's own row, none the default), the default row starts as
        the mean of the rows the daily fit trained for the ids now below `min_count`."""
        weight = self.ranker.model.embedding.weight
        for name in ID_FIELDS:
            offset, default = self._rows(name)
            ids = self._unadmitted(name)
            rows = torch.from_numpy(offset + ids).to(weight.device)
            seen = rows[torch.from_numpy(self.ids[name].count[ids] > 0).to(weight.device)]
            if fresh and seen.numel():
                weight[default] = weight[seen].mean(0)
            weight[rows] = weight[default].clone()
        self.ranker.item_cache.invalidate()          # the weights changed: so does its table

    def _expire(self) -> None:
        self.stats["freed"] += sum(t.expire(self.clock(), self.cfg.expire_days)
                                   for t in self.ids.values())

    def _route_to_default(self, cat: torch.Tensor) -> torch.Tensor:
        """Training indices (N, F) with unadmitted ids moved to their field's default row."""
        cat = cat.clone()
        for name in ID_FIELDS:
            offset, default = self._rows(name)
            col = FIELDS.index(name)
            ids = (cat[:, col] - offset).cpu().numpy()
            table = self.ids[name]
            table.grow(int(ids.max(initial=-1)) + 1)
            own = table.admitted(self.cfg.min_count)[ids] & (ids + offset < default)
            cat[:, col] = torch.where(torch.from_numpy(own).to(cat.device), cat[:, col], default)
        return cat

    # ------------------------------------------------------------------ one update
    def _training_log(self) -> tuple[ImpressionBatch, np.ndarray]:
        """Context days + today so far, and the indices of the `window` newest rows."""
        today = ImpressionBatch.concat(self.today)
        self.today = [today]
        parts = [today]
        if self.cfg.context_days:
            context = self.ctx.training_log(self.cfg.context_days)
            if context is not None and len(context):
                parts = [context, today]
        log = ImpressionBatch.concat(parts) if len(parts) > 1 else today
        n_new = min(self.cfg.window, len(today))
        return log, np.arange(len(log) - n_new, len(log))

    def update(self) -> None:
        """One streaming update of the ranker from the newest impressions."""
        self.since_update = 0
        self._expire()
        r = self.ranker
        log, idx = self._training_log()
        rows = training_rows(log, r.view, self.ctx.counters.daily_decay,
                             r.cfg.counter_freshness).take(idx)
        data = r._tensors(rows, r._targets(log, idx), log.position[idx])
        data.cat = self._route_to_default(data.cat)
        train_cfg = replace(r.cfg.train, epochs=self.cfg.epochs, patience=self.cfg.epochs,
                            batch_size=self.cfg.batch_size, lr=self.cfg.lr,
                            sparse_lr=self.cfg.sparse_lr, checkpoint_dir="")
        seed = int(np.random.SeedSequence([self.seed, self.updates]).generate_state(1)[0])
        with torch_threads(r.cfg.train.threads):
            fit(r.model, r.heads, data, data, train_cfg, torch.Generator().manual_seed(seed))
        self._tie_unadmitted()
        self.updates += 1
        self.stats["updates"] += 1
        self.stats["rows"] += len(idx)
