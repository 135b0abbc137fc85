"""Stage 1 of 5 (retrieval): offline evaluation of the sources against the ground truth.

For a sample of users, the oracle's top-K is the K eligible videos (the same filters as the
merge: language or market, moderation, seen) with the highest true value. Each source's own
top-K, and the merged set, are scored by recall@K and NDCG@K (binary relevance: in the oracle's
top-K), candidate coverage (distinct videos / catalogue) and mean log-popularity (mean
log(1 + all-time impressions) of the retrieved videos). The truth arrives as a callable
`truth(user_ids (B,), video_ids (B, K)) -> (B, K)` from evaluation code: retrieval never holds it.
During a run, sandbox code may `attach_truth` to a policy; its retriever then reports these
figures for `retrieval.eval_users` of the day's requesters in the policy's day metrics.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from feedsim.retrieval.base import Candidates, topk_rows
from feedsim.retrieval.merge import CandidateFilter

Truth = Callable[[np.ndarray, np.ndarray], np.ndarray]


def oracle_topk(truth: Truth, user_ids: np.ndarray, keep: CandidateFilter, n_videos: int,
                k: int, chunk: int = 8) -> np.ndarray:
    """The k eligible videos of highest true value per user. (B, k), -1 if fewer eligible"""
    out = []
    for start in range(0, user_ids.size, chunk):                 # a loop over user chunks
        users = user_ids[start:start + chunk]
        vids = np.broadcast_to(np.arange(n_videos, dtype=np.int64), (users.size, n_videos))
        value = np.asarray(truth(users, vids), dtype=np.float64)                 # (b, V)
        value = np.where(keep(users, vids), value, -np.inf)
        out.append(topk_rows(value, vids, k)[1])
    return np.concatenate(out)


def in_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each a[i, j] (>= 0) occurs in row b[i]. (B, K), (B, M) -> (B, K) bool"""
    rows = a.shape[0]
    span = np.int64(max(int(a.max(initial=0)), int(b.max(initial=0))) + 2)
    offsets = np.arange(rows, dtype=np.int64)[:, None] * span
    flat = (np.sort(b, axis=1) + 1 + offsets).ravel()
    query = (a + 1 + offsets).ravel()
    pos = np.searchsorted(flat, query).clip(0, flat.size - 1)
    return (flat[pos] == query).reshape(a.shape) & (a >= 0)


def recall_ndcg(retrieved: np.ndarray, relevant: np.ndarray) -> tuple[float, float]:
    """Mean recall@K and NDCG@K of ranked rows (B, K) against relevant sets (B, M)."""
    hit = in_rows(retrieved, relevant)                                           # (B, K)
    n_rel = np.maximum((relevant >= 0).sum(axis=1), 1)
    k = retrieved.shape[1]
    discount = 1.0 / np.log2(np.arange(k) + 2.0)                                 # (K,)
    dcg = (hit * discount).sum(axis=1)
    idcg = np.cumsum(discount)[np.minimum(n_rel, k) - 1]
    return float((hit.sum(axis=1) / np.minimum(n_rel, k)).mean()), float((dcg / idcg).mean())


def log_popularity(video_ids: np.ndarray, impressions: np.ndarray) -> float:
    """Mean log(1 + all-time impressions) over real candidates."""
    real = video_ids[(video_ids >= 0) & (video_ids < impressions.size)]
    return float(np.log1p(impressions[real]).mean()) if real.size else float("nan")


def score_candidates(name: str, cands: Candidates, relevant: np.ndarray,
                     impressions: np.ndarray, n_videos: int) -> dict[str, float]:
    recall, ndcg = recall_ndcg(cands.video_ids, relevant)
    distinct = np.unique(cands.video_ids[cands.video_ids >= 0]).size
    return {"source": name, "recall": recall, "ndcg": ndcg, "coverage": distinct / n_videos,
            "log_popularity": log_popularity(cands.video_ids, impressions),
            "filled": float((cands.video_ids >= 0).mean())}


def evaluate_retriever(retriever, user_ids: np.ndarray, truth: Truth, k: int,
                       sources: list[str] | None = None) -> list[dict[str, float]]:
    """Recall@k, NDCG@k, coverage and log-popularity of each source and of the merged set.

    One dict per source plus one with source "merged" (its first k candidates).
    """
    user_ids = np.asarray(user_ids, dtype=np.int64)
    view = retriever.ctx.view
    relevant = oracle_topk(truth, user_ids, retriever.keep, view.videos.n, k)      # (B, k)
    shown = retriever.ctx.counters.total["impressions"]
    rows = []
    for name in sources or retriever.source_names:              # a loop over a few sources
        cands = retriever.retrieve_source(name, user_ids, k)
        rows.append(score_candidates(name, cands, relevant, shown, view.videos.n))
    merged = retriever.retrieve(user_ids)
    merged = Candidates(merged.video_ids[:, :k], merged.scores[:, :k], merged.source[:, :k])
    rows.append(score_candidates("merged", merged, relevant, shown, view.videos.n))
    for row in rows:
        row["k"] = k
    return rows


class TrueValue:
    """The truth as evaluation code passes it: `expected(users, videos).value`. Picklable (a
    run's checkpoint pickles its policies) as long as `expected` is a bound method."""

    def __init__(self, expected):
        self.expected = expected

    def __call__(self, user_ids: np.ndarray, video_ids: np.ndarray) -> np.ndarray:
        return self.expected(user_ids, video_ids).value


def attach_truth(policy, truth: Truth) -> bool:
    """Let a policy's retriever report figures against `truth` in its day metrics (sandbox
    code calls this; the platform never reaches the truth by itself). False if no retriever."""
    retriever = getattr(policy, "retriever", None)
    if retriever is None:
        return False
    retriever.truth = truth
    return True


def day_metrics(retriever, day: int, users: int, k: int) -> dict[str, float]:
    """Recall, NDCG, coverage and log-popularity of each source and the merge, for `users`
    users sampled among today's requests. Names: `retrieval/<source>/<metric>`.

    The sources' random streams are restored afterwards, so serving is the same with or
    without the evaluation.
    """
    log = retriever.ctx.recent_logs.get(day)
    if retriever.truth is None or users <= 0 or log is None or not retriever.fitted:
        return {}
    pool = np.unique(log.user_id.astype(np.int64))
    rng = np.random.default_rng([retriever.seed, day])
    sample = np.sort(rng.choice(pool, min(users, pool.size), replace=False))
    states = [(s.rng, s.rng.bit_generator.state) for s in retriever.sources
              if isinstance(getattr(s, "rng", None), np.random.Generator)]
    rows = evaluate_retriever(retriever, sample, retriever.truth, k)
    for gen, state in states:                                    # a loop over one or two
        gen.bit_generator.state = state
    return {f"retrieval/{r['source']}/{m}": float(r[m]) for r in rows
            for m in ("recall", "ndcg", "coverage", "log_popularity")}
