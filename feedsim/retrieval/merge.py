"""Stage 1 of 5 (retrieval): merging the sources into one candidate set per request.

Each source gets a share of the `total` slots from its quota (largest-remainder rounding) and
returns `overfetch` times that many, best first. Candidates are interleaved by normalised rank
(rank / quota, so each source fills its share at its own pace), repeated videos keep their
best-placed copy and its source tag, and the filters run once, after the merge: the user's
language or market, moderation and the seen history. The first `total` survivors are the set.
"""
from __future__ import annotations

import numpy as np

from feedsim.jit import njit
from feedsim.logs import SeenHistory
from feedsim.retrieval.base import NO_VIDEO, Candidates, RetrievalError

FILTERS = ("language", "market", "none")


def quota_sizes(names: list[str], quotas: dict[str, float], total: int) -> list[int]:
    """Slots per source summing to `total`, proportional to the quotas of `names`."""
    w = np.array([float(quotas.get(n, 0.0)) for n in names])
    if (w < 0).any():
        raise RetrievalError(f"retrieval.quotas: negative quota in {dict(zip(names, w))}")
    if w.sum() <= 0:
        raise RetrievalError(f"retrieval.quotas: the quotas of the selected sources {names} sum "
                             "to zero; give at least one source a positive quota")
    exact = total * w / w.sum()
    sizes = np.floor(exact).astype(int)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: total - sizes.sum()]] += 1
    return sizes.tolist()


class CandidateFilter:
    """Which candidates may be offered: right language or market, not moderated, not seen."""

    def __init__(self, view, seen: SeenHistory | None, filter_by: str = "language"):
        if filter_by not in FILTERS:
            raise RetrievalError(f"retrieval.filter_by: unknown filter {filter_by!r}; "
                                 f"one of {'|'.join(FILTERS)}")
        self.view, self.seen, self.filter_by = view, seen, filter_by

    def __call__(self, user_ids: np.ndarray, video_ids: np.ndarray) -> np.ndarray:
        """(B,) users, (B, C) videos -> (B, C) bool"""
        v = self.view.videos
        ok = (video_ids >= 0) & (video_ids < v.n)
        safe = np.where(ok, video_ids, 0)
        ok &= ~v.moderated[safe]
        if self.filter_by == "language":
            ok &= v.language[safe] == self.view.user_language[user_ids][:, None]
        elif self.filter_by == "market":
            market = self.view.creator_market[v.creator[safe]]
            ok &= market == self.view.user_market[user_ids][:, None]
        if self.seen is not None:
            ok &= ~self.seen.contains(user_ids, safe)
        return ok


def interleave_scores(part: Candidates, quota: int) -> np.ndarray:
    """Merged score of each candidate: 1 - (rank + 0.5) / quota, -inf for padding. (B, C)"""
    rank = np.arange(part.shape[1], dtype=np.float32)
    merged = 1.0 - (rank + 0.5) / max(quota, 1)
    return np.where(part.video_ids >= 0, merged[None, :], -np.inf).astype(np.float32)


def merge(user_ids: np.ndarray, parts: list[Candidates], sizes: list[int], total: int,
          keep: CandidateFilter) -> Candidates:
    """One (B, total) candidate set from the sources' parts, filtered once.

    The filters depend on the (user, video) pair only, so they run on the concatenated parts
    before any ordering; a video's copies pass or fail together, and the first copy in merged
    order of those that pass is its first copy overall. One compiled pass per row then orders
    by merged score (a stable sort: ties keep the parts' order) and keeps the first `total`
    first copies."""
    ids = np.concatenate([p.video_ids for p in parts], axis=1)                  # (B, M)
    merged = np.concatenate([interleave_scores(p, q) for p, q in zip(parts, sizes)], axis=1)
    source = np.concatenate([p.source for p in parts], axis=1)
    ok = keep(user_ids, ids) & np.isfinite(merged)                              # (B, M)
    out_ids = np.full((ids.shape[0], total), NO_VIDEO, dtype=np.int64)
    out_scores = np.full((ids.shape[0], total), -np.inf, dtype=np.float32)
    out_source = np.full((ids.shape[0], total), -1, dtype=np.int16)
    _merge_rows(ids.astype(np.int64), merged, source.astype(np.int16), ok,
                out_ids, out_scores, out_source)
    return Candidates(out_ids, out_scores, out_source)


@njit
def _merge_rows(ids, merged, source, ok, out_ids, out_scores, out_source):
    """Per row: columns by merged score, descending and stable; the first copy of each
    passing video fills the next output slot until the row is full."""
    m, total = ids.shape[1], out_ids.shape[1]
    size = 1 << max(int(np.ceil(np.log2(max(m, 1)))) + 1, 4)      # open addressing, <= 1/2
    table = np.empty(size, dtype=np.int64)                         # full
    for b in range(ids.shape[0]):
        table[:] = -1
        order = np.argsort(-merged[b], kind="mergesort")
        n = 0
        for j in order:
            if n == total:
                break
            if not ok[b, j]:
                continue
            vid = ids[b, j]
            slot = vid & (size - 1)                                # ids are spread already
            while table[slot] != -1 and table[slot] != vid:
                slot = (slot + 1) & (size - 1)
            if table[slot] == vid:
                continue                                           # a later copy
            table[slot] = vid
            out_ids[b, n], out_scores[b, n], out_source[b, n] = vid, merged[b, j], source[b, j]
            n += 1
