"""Stage 2 of 5 (ranking): the item side of the ranker's first layers, computed once a day.

The widest layers of a ranking model are the first ones, those that read the whole input row
(MMoE: the experts' first layer and the gates). A row's input is the request's columns (the
user's fields and aggregates, the hour, the session depth), the candidate's categorical fields
and the candidate's dense columns. The request's share is computed once per request
(models/base.py, `RequestSplit`). The candidate's categorical fields (video id, creator,
sound, hashtags, language, duration bucket and age bucket) depend only on the video and the
day, so their share, bias included, is one row per video that day: `ItemCache` computes it for
the whole catalogue at the day's first scored request, and each candidate then only multiplies
its dense columns (the live counters, the user x video crosses) and adds its row.

This is how serving systems cache the item side of a ranker. It is exact up to float rounding
(sums in a different order). It is rebuilt whenever the model changes: a daily fit, or an
intra-day streaming update (`invalidate`). Its memory, (videos x width) float32, is capped by
`ranking.item_cache_mb`; above the cap, or for a model with no such layers (PLE), the ranker
scores the split rows as before.
"""
from __future__ import annotations

import weakref

import numpy as np
import torch


class ItemCache:
    """Rows of `model.item_table` for every video of the catalogue, for one model and day."""

    def __init__(self, max_mb: float):
        self.max_bytes = int(max_mb * 2**20)
        self.table: torch.Tensor | None = None          # (V, W) float32
        self.key: tuple[int, int] | None = None         # (day, videos covered)
        self.model = None                               # weak reference to its model
        self.builds = 0                                 # tables built so far (for tests)

    def invalidate(self) -> None:
        """Forget the table: the model's weights changed."""
        self.table, self.key, self.model = None, None, None

    def __getstate__(self) -> dict:
        """Checkpoints leave the table out: it is rebuilt, identically, when next needed."""
        return {**self.__dict__, "table": None, "key": None, "model": None}

    def fits(self, model, n_videos: int) -> bool:
        """Whether a table for `n_videos` videos stays under the cap (and the model has one)."""
        width = sum(layer.weight.shape[0] * layer.weight.shape[2]
                    for layer in model.input_layers())
        return model.splits_requests and 0 < width * n_videos * 4 <= self.max_bytes

    def table_for(self, model, encoder, day: int, n_videos: int) -> torch.Tensor | None:
        """The (V, W) table of `model` on `day` (built at its first use), or None when no
        table fits the cap. Row v is video v's item part."""
        if not self.fits(model, n_videos):
            self.invalidate()                  # a table of an earlier day must not linger
            return None
        key = (int(day), int(n_videos))
        if self.key != key or self.model is None or self.model() is not model:
            self.invalidate()
            self.table = self._build(model, encoder, n_videos, day)
            self.key, self.model = key, weakref.ref(model)
        return self.table

    def _build(self, model, encoder, n_videos: int, day: int) -> torch.Tensor:
        device = next(model.parameters()).device
        cat = encoder.item_categorical(np.arange(n_videos), day)                 # (V, F_c)
        self.builds += 1
        return model.item_table(torch.from_numpy(cat).to(device))                # (V, W)
