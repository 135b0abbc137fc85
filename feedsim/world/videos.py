"""The catalogue: every short video, its observable metadata and its latent qualities.

Observable: creator, hashtags (derived noisily from the true topics, 1.18 per video on average
as in KuaiRec), sound, duration (lognormal body around 9.6 s with a heavy tail up to 315 s, as
in CALIBRATION), language, upload day and the moderation label. Latent: the true topic mixture
(near the creator's focus), a style id (a sub-genre, usually the creator's), and two qualities: the hook, which drives the first
seconds, and the satisfaction, which drives whether watching was worth it. Clickbait creators
make videos with a strong hook and a poor satisfaction.

The catalogue grows every day; arrays live in a buffer with spare capacity, and `n` is the
number of videos uploaded so far. Video ids are dense row indices.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from feedsim.config.schema import WorldConfig
from feedsim.world.creators import Creators

NO_TAG = -1


@dataclass
class VideoBatch:
    """Columns of a batch of new videos, the same fields as the Catalogue's arrays."""
    creator: np.ndarray     # (N,) int32
    topic: np.ndarray       # (N, 2) int16 latent main and second topic
    topic_weight: np.ndarray  # (N,) float32 latent weight of the main topic
    style: np.ndarray       # (N,) int16 latent style id
    hook: np.ndarray        # (N,) float32 latent
    satisfaction: np.ndarray  # (N,) float32 latent
    tags: np.ndarray        # (N, 2) int16 observable hashtags, NO_TAG for none
    sound: np.ndarray       # (N,) int32 observable
    duration_s: np.ndarray  # (N,) float32 observable
    language: np.ndarray    # (N,) int8 observable
    upload_day: np.ndarray  # (N,) int32 observable
    moderated: np.ndarray   # (N,) bool observable: violates policy, must never be served


class Catalogue:
    """Growable column store of all videos. Read arrays through the properties."""

    def __init__(self, first: VideoBatch):
        self._cols = {f.name: getattr(first, f.name) for f in fields(VideoBatch)}
        self.n = int(first.creator.shape[0])

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("_cols")
        if cols is None or name not in cols:
            raise AttributeError(name)
        return cols[name][: self.n]

    def append(self, batch: VideoBatch) -> np.ndarray:
        """Add a batch of uploads; returns their new video ids (N,) int64."""
        extra = int(batch.creator.shape[0])
        self._reserve(self.n + extra)
        for name, col in self._cols.items():
            col[self.n:self.n + extra] = getattr(batch, name)
        ids = np.arange(self.n, self.n + extra, dtype=np.int64)
        self.n += extra
        return ids

    def _reserve(self, size: int) -> None:
        capacity = self._cols["creator"].shape[0]
        if size <= capacity:
            return
        new_capacity = max(size, int(capacity * 1.5) + 1)
        for name, col in self._cols.items():
            grown = np.empty((new_capacity,) + col.shape[1:], dtype=col.dtype)
            grown[: self.n] = col[: self.n]
            self._cols[name] = grown


def _durations(rng: np.random.Generator, n: int, cfg: WorldConfig) -> np.ndarray:
    body = rng.lognormal(np.log(cfg.duration_median_s), cfg.duration_sigma, n)
    tail = rng.random(n) < cfg.duration_tail_share
    start = cfg.duration_median_s * 1.8
    body[tail] = start * (1.0 - rng.random(int(tail.sum()))) ** (-1.0 / cfg.duration_tail_alpha)
    return body.clip(2.0, cfg.duration_max_s).astype(np.float32)


def _tags(rng: np.random.Generator, topic: np.ndarray, n_topics: int) -> np.ndarray:
    """Hashtags: mostly the main topic, sometimes a wrong one; 18 % carry a second tag."""
    n = topic.shape[0]
    first = np.where(rng.random(n) < 0.85, topic[:, 0], rng.integers(0, n_topics, n))
    second = np.where(rng.random(n) < 0.18, topic[:, 1], NO_TAG)
    second = np.where(second == first, NO_TAG, second)
    return np.stack([first, second], axis=1).astype(np.int16)


def make_videos(cfg: WorldConfig, rng: np.random.Generator, creators: Creators,
                creator_ids: np.ndarray, sounds: np.ndarray, day: int) -> VideoBatch:
    """Draw videos for the given uploading creators (one per entry), using `sounds` (N,)."""
    n = int(creator_ids.shape[0])
    switch = rng.random(n) < 0.15                       # an occasional off-focus video
    main = np.where(switch, rng.integers(0, cfg.n_topics, n), creators.focus[creator_ids, 0])
    topic = np.stack([main, creators.focus[creator_ids, 1]], axis=1).astype(np.int16)
    skill = creators.skill[creator_ids]
    bait = creators.clickbait[creator_ids]
    style = np.where(rng.random(n) < 0.8, creators.style[creator_ids],
                     rng.integers(0, cfg.style_dim, n))
    return VideoBatch(
        creator=creator_ids.astype(np.int32),
        topic=topic,
        topic_weight=(creators.focus_weight[creator_ids] * rng.uniform(0.8, 1.0, n)).astype(np.float32),
        style=style.astype(np.int16),
        hook=(skill + rng.normal(0, 0.7, n) + 1.2 * bait).astype(np.float32),
        satisfaction=(skill + rng.normal(0, 0.7, n) - 1.6 * bait).astype(np.float32),
        tags=_tags(rng, topic, cfg.n_topics),
        sound=sounds.astype(np.int32),
        duration_s=_durations(rng, n, cfg),
        language=creators.language[creator_ids].copy(),
        upload_day=np.full(n, day, dtype=np.int32),
        moderated=rng.random(n) < cfg.moderation_rate,
    )
