"""Stage 1 of 5 (retrieval): the following source, recent uploads of the creators a user follows.

At fit time each creator's newest uploads (within `max_age_days`, not moderated) form one row of
a (creators, per_creator) table. A user's candidates are the rows of the creators they follow,
read from the follow graph's CSR for the whole batch at once, newest first.
"""
from __future__ import annotations

import numpy as np

from feedsim.logs import ImpressionBatch
from feedsim.retrieval.base import NO_VIDEO, Candidates, Source, topk_rows
from feedsim.retrieval.config import FollowConfig


def uploads_per_creator(creator: np.ndarray, upload_day: np.ndarray, keep: np.ndarray,
                        n_creators: int, m: int) -> np.ndarray:
    """The m newest kept videos of each creator, newest first. (C+1, m), last row padding"""
    ids = np.flatnonzero(keep)
    order = np.lexsort((-ids, -upload_day[ids], creator[ids]))
    ids = ids[order]
    who = creator[ids].astype(np.int64)
    rank = np.arange(ids.size) - np.searchsorted(who, who, side="left")
    table = np.full((n_creators + 1, m), NO_VIDEO, dtype=np.int64)
    first = rank < m
    table[who[first], rank[first]] = ids[first]
    return table


def padded_rows(offsets: np.ndarray, values: np.ndarray, width: int, pad: int) -> np.ndarray:
    """A CSR (offsets (B+1,), values) as a dense (B, width) array, truncated, `pad` filled."""
    counts = np.diff(offsets)
    row = np.repeat(np.arange(counts.size), counts)
    col = np.arange(values.size) - offsets[row]
    out = np.full((counts.size, width), pad, dtype=np.int64)
    keep = col < width
    out[row[keep], col[keep]] = values[keep]
    return out


class FollowSource(Source):
    name = "follow"

    def __init__(self, view, cfg: FollowConfig, source_id: int = 0):
        super().__init__(source_id)
        self.view, self.cfg = view, cfg

    def _fit(self, log: ImpressionBatch) -> None:
        v = self.view.videos
        upload_day = np.asarray(v.upload_day, np.int64)
        keep = (upload_day >= self.view.day - self.cfg.max_age_days) & ~np.asarray(v.moderated)
        self.table = uploads_per_creator(np.asarray(v.creator), upload_day, keep,
                                         self.view.n_creators, self.cfg.per_creator)
        self.upload_day = upload_day

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        offsets, creators = self.view.follows.following(user_ids)
        followed = padded_rows(np.asarray(offsets, np.int64), np.asarray(creators, np.int64),
                               self.cfg.max_creators, self.view.n_creators)        # (B, F)
        ids = self.table[followed].reshape(user_ids.shape[0], -1)                  # (B, F*M)
        safe = np.maximum(ids, 0)
        fresh = self.upload_day[safe] - 1e-7 * safe          # newest first, ties by id
        scores = np.where(ids >= 0, fresh.astype(np.float64), -np.inf)
        best, vids = topk_rows(scores, ids, k)
        return Candidates.from_topk(vids, best, self.source_id)
