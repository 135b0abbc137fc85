"""Stage 1 of 5 (retrieval): the observable inputs of the two towers, as integer id tables.

User tower: user id, market, language, device, account-age bucket and the user's recent
positives. Video tower: video id (only for videos the log has shown engaging someone), hashtags,
sound, creator, duration bucket and language: everything a video has the moment it is
uploaded, which is what makes cold start work. Every table uses its size as the padding index.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from feedsim.retrieval.config import TwoTowerConfig

if TYPE_CHECKING:                                   # typing only: the view is passed in
    from feedsim.world.observable import PlatformView


@dataclass(frozen=True)
class Vocab:
    """Table sizes, fixed at the first fit (padding index = size)."""
    users: int
    videos: int
    markets: int
    languages: int
    devices: int
    age_buckets: int
    tags: int
    sounds: int
    creators: int
    duration_buckets: int

    @staticmethod
    def of(view: PlatformView, cfg: TwoTowerConfig, n_languages: int = 32) -> "Vocab":
        return Vocab(view.n_users, view.videos.n, len(view.markets), n_languages,
                     int(view.user_device.max()) + 1, cfg.account_age_buckets, view.n_tags,
                     view.n_sounds, view.n_creators, cfg.duration_buckets)


def log_buckets(x: np.ndarray, n: int, lo: float, hi: float) -> np.ndarray:
    """Log-spaced bucket of each value in [lo, hi], 0..n-1. (N,) int64"""
    edges = np.geomspace(lo, hi, n + 1)[1:-1]
    return np.searchsorted(edges, x).astype(np.int64)


def user_table(view: PlatformView, vocab: Vocab) -> torch.Tensor:
    """Static user columns: market, language, device, account-age bucket. (U, 4) int64"""
    age = log_buckets(np.asarray(view.user_account_age_days, np.float64) + 1,
                      vocab.age_buckets, 1, 3000)
    lang = np.minimum(np.asarray(view.user_language, np.int64), vocab.languages - 1)
    cols = [np.asarray(view.user_market, np.int64), lang,
            np.asarray(view.user_device, np.int64), age]
    return torch.as_tensor(np.stack(cols, axis=1))


def video_table(view: PlatformView, vocab: Vocab, ids: np.ndarray) -> torch.Tensor:
    """Content columns of videos `ids`: tag0, tag1, sound, creator, duration bucket, language.

    (N, 6) int64, missing hashtags mapped to the padding index.
    """
    v = view.videos
    tags = np.asarray(v.tags[ids], np.int64)                                   # (N, 2)
    tags = np.where(tags < 0, vocab.tags, tags)
    dur = log_buckets(np.asarray(v.duration_s[ids], np.float64), vocab.duration_buckets, 3, 300)
    lang = np.minimum(np.asarray(v.language[ids], np.int64), vocab.languages - 1)
    cols = [tags[:, 0], tags[:, 1], np.asarray(v.sound[ids], np.int64),
            np.asarray(v.creator[ids], np.int64), dur, lang]
    return torch.as_tensor(np.stack(cols, axis=1))


def video_id_column(ids: np.ndarray, known: np.ndarray, vocab: Vocab) -> torch.Tensor:
    """The id-embedding row of each video: itself if known to the log, padding otherwise. (N,)"""
    inside = ids < known.shape[0]
    is_known = np.zeros(ids.shape, bool)
    is_known[inside] = known[ids[inside]]
    return torch.as_tensor(np.where(is_known, ids, vocab.videos).astype(np.int64))


def history_column(history: np.ndarray, vocab: Vocab) -> torch.Tensor:
    """Recent positives with -1 (and videos newer than the table) as padding. (U, H) int64"""
    pad = (history < 0) | (history >= vocab.videos)
    return torch.as_tensor(np.where(pad, vocab.videos, history).astype(np.int64))
