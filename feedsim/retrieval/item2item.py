"""Stage 1 of 5 (retrieval): item-to-item co-engagement ("people who liked this also liked").

From the log, each user's recent positives form one row of a binary users x videos matrix X;
X^T X counts, for every pair of videos, the users who engaged with both. Shrunk cosine turns the
counts into similarities and each video keeps its best neighbours. A user's candidates are the
neighbours of their own recent positives, more recent seeds weighing more, summed per video.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from feedsim.logs import ImpressionBatch
from feedsim.retrieval.base import (NO_VIDEO, Candidates, EmptyLogError, Source, recent_positives,
                                    topk_rows)
from feedsim.retrieval.config import Item2ItemConfig


def engagement_matrix(history: np.ndarray, n_videos: int) -> sp.csr_matrix:
    """Binary users x videos matrix of the histories (U, H), -1 padding dropped. (U, V)"""
    rows, cols = np.nonzero(history >= 0)
    data = np.ones(rows.size, dtype=np.float32)
    m = sp.csr_matrix((data, (rows, history[rows, cols])), shape=(history.shape[0], n_videos))
    m.data[:] = 1.0                                      # a video twice in a history counts once
    return m


def neighbour_table(x: sp.csr_matrix, n: int, shrink: float) -> tuple[np.ndarray, np.ndarray]:
    """Each video's n most co-engaged videos by shrunk cosine. (V+1, n) ids and scores.

    The last row is padding (no neighbours), so seed -1 can index it.
    """
    n_videos = x.shape[1]
    co = (x.T @ x).tocoo()                                                    # (V, V)
    counts = np.asarray(x.sum(axis=0)).ravel()                                # (V,)
    off = co.row != co.col
    row, col, c = co.row[off], co.col[off], co.data[off]
    sim = c / (np.sqrt(counts[row] * counts[col]) + shrink)
    order = np.lexsort((-sim, row))
    row, col, sim = row[order], col[order], sim[order]
    rank = np.arange(row.size) - np.searchsorted(row, row, side="left")
    keep = rank < n
    ids = np.full((n_videos + 1, n), NO_VIDEO, dtype=np.int64)
    scores = np.zeros((n_videos + 1, n), dtype=np.float32)
    ids[row[keep], rank[keep]] = col[keep]
    scores[row[keep], rank[keep]] = sim[keep]
    return ids, scores


def sum_per_row(ids: np.ndarray, scores: np.ndarray, n_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge duplicate ids within each row by summing their scores; (B, M) -> (B, M) padded."""
    b, m = ids.shape
    key = (np.arange(b, dtype=np.int64)[:, None] * (n_ids + 1) + ids + 1).ravel()
    order = np.argsort(key, kind="stable")
    key, val = key[order], scores.ravel()[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    uniq, total = key[starts], np.add.reduceat(val, starts)
    row, vid = uniq // (n_ids + 1), uniq % (n_ids + 1) - 1
    real = vid >= 0
    row, vid, total = row[real], vid[real], total[real]
    col = np.arange(row.size) - np.searchsorted(row, row, side="left")
    out_ids = np.full((b, m), NO_VIDEO, dtype=np.int64)
    out_scores = np.full((b, m), -np.inf, dtype=np.float64)
    out_ids[row, col], out_scores[row, col] = vid, total
    return out_ids, out_scores


class Item2ItemSource(Source):
    name = "item2item"

    def __init__(self, view, cfg: Item2ItemConfig, source_id: int = 0):
        super().__init__(source_id)
        self.view, self.cfg = view, cfg

    def _fit(self, log: ImpressionBatch) -> None:
        n_users, n_videos = self.view.n_users, self.view.videos.n
        cooc = recent_positives(log, n_users, self.cfg.cooc_history)             # (U, H')
        if not (cooc >= 0).any():
            raise EmptyLogError(f"retrieval source {self.name!r}: the log holds no positive "
                                "impressions (valid plays) to learn from")
        x = engagement_matrix(cooc, n_videos)
        self.n_videos = n_videos
        self.nb_ids, self.nb_scores = neighbour_table(x, self.cfg.neighbours, self.cfg.shrink)
        seeds = cooc[:, : self.cfg.history]                                      # (U, H)
        self.seeds = np.where(seeds >= 0, seeds, n_videos)                       # pad row

    def _retrieve(self, user_ids: np.ndarray, k: int) -> Candidates:
        seeds = self.seeds[user_ids]                                             # (B, H)
        recency = 1.0 / (1.0 + 0.1 * np.arange(seeds.shape[1]))                  # (H,)
        ids = self.nb_ids[seeds]                                                 # (B, H, N)
        scores = self.nb_scores[seeds] * recency[None, :, None]
        b = user_ids.shape[0]
        ids, summed = sum_per_row(ids.reshape(b, -1), scores.reshape(b, -1), self.n_videos)
        best, vids = topk_rows(summed, ids, k)
        return Candidates.from_topk(vids, best, self.source_id)
