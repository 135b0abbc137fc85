"""Stage 4 of 5 (re-ranking): building a `Slate` from fusion's output, and its similarity space.

`make_slate` gathers, once per batch, every observable column the re-ranking steps read:
metadata from the `PlatformView`, per-video counters, the seen filter, and the creators and
sounds of each user's last served videos (from the seen-history ring), so that adjacency rules
hold across page boundaries. `similarity_features` turns the slate's embeddings (or, when fusion
has none, a metadata fallback: one-hot hashtags, hashed sound and hashed creator) into unit
features whose dot products are the similarities DPP and MMR use.
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Slate

HASH = np.uint64(0x9E3779B97F4A7C15)   # Fibonacci hashing multiplier


def _gather(column: np.ndarray, ids: np.ndarray, fill=-1) -> np.ndarray:
    """column[ids] where 0 <= ids < len(column), else `fill`. ids (B, C) -> (B, C)"""
    ok = (ids >= 0) & (ids < column.shape[0])
    return np.where(ok, column[np.where(ok, ids, 0)], fill)


def _recent(ctx, user_ids: np.ndarray, history: int) -> np.ndarray:
    """The last `history` videos served to each user, oldest first, -1 for none. (B, H)"""
    seen = ctx.seen
    if history == 0:
        return np.empty((user_ids.shape[0], 0), dtype=np.int64)
    back = np.arange(history, 0, -1)                                   # H..1
    slots = (seen.ptr[user_ids][:, None] - back) % seen.window         # (B, H)
    vids = seen.ring[user_ids[:, None], slots]
    return np.where(seen.ptr[user_ids][:, None] >= back, vids, -1)


def make_slate(ctx, user_ids: np.ndarray, candidates: np.ndarray, score: np.ndarray,
               source: np.ndarray, embeddings: np.ndarray | None = None,
               history: int = 2) -> Slate:
    """A Slate from a PlatformContext and fusion's output (B, C); -1 candidates are padding."""
    v, cnt = ctx.view.videos, ctx.counters.total
    cand = np.asarray(candidates, dtype=np.int64)
    cand = np.where(cand < v.n, cand, -1)                              # unknown ids are padding
    safe = np.maximum(cand, 0)
    creator = _gather(v.creator, cand)
    recent = _recent(ctx, user_ids, history)
    return Slate(
        user_ids=np.asarray(user_ids, dtype=np.int64), candidates=cand,
        score=np.asarray(score, dtype=np.float32), source=np.asarray(source, dtype=np.int16),
        embeddings=embeddings, creator=creator, sound=_gather(v.sound, cand),
        tags=np.where(cand[..., None] >= 0, v.tags[safe], -1).astype(np.int64),
        language=_gather(v.language, cand), market=_gather(ctx.view.creator_market, creator),
        age_days=ctx.view.day - _gather(v.upload_day, cand, fill=-10**6),
        moderated=_gather(v.moderated, cand, fill=True).astype(bool),
        seen=ctx.seen.contains(user_ids, safe) & (cand >= 0),
        impressions=_gather(cnt["impressions"], cand, 0.0),
        completions=_gather(cnt["completions"], cand, 0.0),
        likes=_gather(cnt["like"], cand, 0.0),
        user_language=ctx.view.user_language[user_ids].astype(np.int64),
        user_market=ctx.view.user_market[user_ids].astype(np.int64),
        recent_creator=_gather(v.creator, recent), recent_sound=_gather(v.sound, recent),
        n_tags=int(ctx.view.n_tags))


def _hashed(ids: np.ndarray, buckets: int) -> np.ndarray:
    """Bucket of each id by multiplicative hashing. (B, C) -> (B, C) int64"""
    h = (np.maximum(ids, 0).astype(np.uint64) * HASH) >> np.uint64(40)
    return (h % np.uint64(buckets)).astype(np.int64)


def metadata_embeddings(slate: Slate, sound_buckets: int, creator_buckets: int) -> np.ndarray:
    """Fallback embeddings: one-hot hashtags | hashed sound | hashed creator. (B, C, T+S+R)"""
    b, c = slate.shape
    d = slate.n_tags + sound_buckets + creator_buckets
    out = np.zeros((b, c, d), dtype=np.float32)
    bi, ci = np.indices((b, c))
    for j in range(slate.tags.shape[2]):                  # two hashtag columns
        has = slate.tags[:, :, j] >= 0
        out[bi[has], ci[has], slate.tags[:, :, j][has]] = 1.0
    real = slate.candidates >= 0
    sound_col = slate.n_tags + _hashed(slate.sound, sound_buckets)
    creator_col = slate.n_tags + sound_buckets + _hashed(slate.creator, creator_buckets)
    out[bi[real], ci[real], sound_col[real]] = 1.0
    out[bi[real], ci[real], creator_col[real]] = 1.0
    return out


def similarity_features(slate: Slate, sound_buckets: int = 16,
                        creator_buckets: int = 16) -> np.ndarray:
    """Features F with F_i . F_j = (1 + cos(e_i, e_j)) / 2 in [0, 1]. (B, C, D+1) float32

    The shift to [0, 1] (Chen et al. 2018, section 5) keeps the kernel positive semidefinite
    and similarities non-negative: F = [e / |e|, 1] / sqrt(2). A zero embedding gets F.F = 1/2.
    """
    emb = slate.embeddings
    if emb is None:
        emb = metadata_embeddings(slate, sound_buckets, creator_buckets)
    emb = np.asarray(emb, dtype=np.float32)                               # (B, C, D)
    norm = np.sqrt(np.einsum("bcd,bcd->bc", emb, emb))[:, :, None]        # (B, C, 1)
    scale = np.float32(np.sqrt(0.5)) / np.where(norm > 0, norm, np.float32(1.0))
    ones = np.full(emb.shape[:2] + (1,), np.sqrt(0.5), dtype=np.float32)
    return np.concatenate([emb * scale, ones], axis=2)                    # (B, C, D+1)
