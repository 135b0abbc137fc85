"""Up-front memory estimate: a world too large for the machine is refused before allocation.

The estimate counts the big arrays (per-user latent and behavioural state, the seen window,
the catalogue after all uploads, the follow graph, one day of impressions in memory) and the
learned models' id tables (two-tower, matrix factorisation, ranking embeddings), each with two
optimiser moments, and the ranker's per-video item table (up to its cap).
"""
from __future__ import annotations

from feedsim.config.schema import Config

BYTES_PER_IMPRESSION = 72        # logged columns held in memory until the day's file is written
PLAYS_PER_DAU = 60.0
ACTIVE_SHARE = 0.65


def estimate_bytes(cfg: Config) -> int:
    """Approximate peak resident bytes of a run with this config."""
    w, b, loop = cfg.world, cfg.behavior, cfg.loop
    per_user = 4 * (2 * w.n_topics + w.style_dim + b.creator_buckets + loop.seen_window + 24)
    final_videos = w.n_videos + loop.days * w.n_creators * w.uploads_per_creator_day * 1.5
    per_video = 4 * 18
    follows = 8 * w.n_users * w.initial_follows_median * 2.0
    impressions = w.n_users * ACTIVE_SHARE * PLAYS_PER_DAU * BYTES_PER_IMPRESSION
    width = cfg.retrieval.two_tower.dim + cfg.retrieval.mf.factors + cfg.ranking.embedding_dim
    learned = cfg.policy.name in ("fyp", "retrieval", "ranked")
    models = 4 * 3 * (w.n_users + final_videos) * width * learned  # weights + 2 Adam moments
    return int(w.n_users * per_user + final_videos * per_video + follows + impressions + models
               + item_table_bytes(cfg, final_videos) * learned)


def item_table_bytes(cfg: Config, n_videos: float) -> float:
    """The ranker's per-video item table (ranking/item_cache.py), up to its cap: the first
    layers' widths side by side, for the widest model (one MLP per task). None is built for
    PLE, or on a GPU (`device=cuda`; `auto` counts as the host, the larger case)."""
    r = cfg.ranking
    if r.model == "ple" or cfg.device == "cuda":
        return 0.0
    width = max(len(r.heads), r.n_experts) * r.hidden[0] + len(r.heads) * r.n_experts
    return min(4.0 * n_videos * width, r.item_cache_mb * 2**20)


def check_fits(cfg: Config) -> None:
    """Raise ConfigError when the estimate exceeds world.max_memory_gb."""
    from feedsim.config.validate import ConfigError

    need_gb = estimate_bytes(cfg) / 1e9
    if need_gb > cfg.world.max_memory_gb:
        raise ConfigError(
            f"world: needs about {need_gb:.1f} GB for {cfg.world.n_users:,} users and "
            f"{cfg.world.n_videos:,} videos, over world.max_memory_gb={cfg.world.max_memory_gb:g}"
        )
