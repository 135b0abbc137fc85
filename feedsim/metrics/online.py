"""Daily platform metrics: what a short-video platform watches on its dashboards.

Computed per day and per arm from the day's impression log plus the session bookkeeping of the
day loop: DAU, impressions, watch time per DAU, session length, completion, skip and action
rates, D1 retention, catalogue coverage, creator exposure Gini, page topic diversity, and the
sandbox-only truth metrics (mean true value and utility per impression).
"""
from __future__ import annotations

import numpy as np

from feedsim.logs.counters import VALID_PLAY_S
from feedsim.logs.schema import ImpressionBatch

LONG_VIEW_S = 18.0
SKIP_S = 3.0


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = all on one)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = v.shape[0]
    if n == 0 or v.sum() <= 0:
        return 0.0
    index = np.arange(1, n + 1)
    return float((2 * index - n - 1) @ v / (n * v.sum()))


def rates(log: ImpressionBatch) -> dict[str, float]:
    """Per-impression rates with the KuaiRand definitions (valid play, long view, actions)."""
    n = max(len(log), 1)
    whole = log.watch_s >= log.duration_s
    out = {
        "valid_play_rate": np.mean((log.watch_s > VALID_PLAY_S) | whole) if len(log) else 0.0,
        "long_view_rate": np.mean((log.watch_s >= LONG_VIEW_S) | whole) if len(log) else 0.0,
        "completion_rate": whole.sum() / n,
        "skip_rate": ((log.watch_s < SKIP_S) & ~whole).sum() / n,
    }
    for action in ("like", "comment", "share", "follow", "hate"):
        out[f"{action}_rate"] = getattr(log, action).sum() / n
    return {k: float(v) for k, v in out.items()}


def day_metrics(log: ImpressionBatch, active: np.ndarray, active_before: np.ndarray | None,
                sessions: int, n_videos: int, creator_of: np.ndarray,
                creators_active: np.ndarray, page_stats: dict[str, float]) -> dict[str, float]:
    """All daily metrics of one arm. `active`/`active_before`: (U_arm,) bool masks."""
    dau = int(active.sum())
    m = {
        "dau": float(dau),
        "impressions": float(len(log)),
        "sessions": float(sessions),
        "watch_s_per_dau": float(log.watch_s.sum() / max(dau, 1)),
        "plays_per_dau": float(len(log) / max(dau, 1)),
        "session_videos": float(len(log) / max(sessions, 1)),
        "session_s": float(log.watch_s.sum() / max(sessions, 1)),
        "coverage": float(np.unique(log.video_id).shape[0] / max(n_videos, 1)),
    }
    m.update(rates(log))
    if active_before is not None and active_before.any():
        m["d1_retention"] = float((active & active_before).sum() / active_before.sum())
    exposure = np.bincount(creator_of[log.video_id], minlength=creators_active.shape[0])
    m["creator_gini"] = gini(exposure[creators_active])
    m.update(page_stats)
    return m
