"""Up-front memory estimate: a world too large for the machine is refused before allocation.

The estimate counts the big arrays (per-user latent and behavioural state, the seen window,
the catalogue after all uploads, the follow graph, the impression logs held in memory: up to
`loop.log_memory_days` days of them) and the learned models' id tables (two-tower, matrix
factorisation, ranking embeddings), each with two optimiser moments, and the ranker's
per-video item table (up to its cap).

Per impression, a log holds 51 bytes of columns, and 83 with a ranker's predictions beside
them (measured on the tiny world, `ImpressionBatch` arrays over rows); the default worlds
serve 20 to 28 plays per user a day (about 35 % of users active, 60 to 80 plays each). The
estimate takes 30 plays and rounds the bytes up. The day being run costs about 140 bytes per
impression at its end (the estimate takes 160), measured at 200 k and 1 M users: its step
logs, their concatenation and the end-of-day metrics. While a day runs, the completed days
held for training (`loop.log_memory_days`) stay in memory beside it. A 1 M x 1 M world under
the popular baseline, holding one completed day, built in 5.4 GB and peaked at 7.9, 8.7 and
9.2 GB over three days (the estimate says 8.2, 9.9 and 9.9). Before these were measured the
estimate counted one day of logs at 72 bytes and said 5.8 GB for any run of it.
"""
from __future__ import annotations

from feedsim.config.schema import Config

BYTES_PER_IMPRESSION = 56        # logged columns of one impression held in memory
PREDICTION_BYTES = 32            # a ranker's predictions logged beside them
INTERPRETER_BYTES = 0.4e9        # Python with numpy, torch and numba loaded, before any array
IN_FLIGHT_BYTES = 160            # per impression of the day being run: its step logs, the day's
#                                  concatenated log and the end-of-day metrics' temporaries
PLAYS_PER_USER_DAY = 30.0


def estimate_bytes(cfg: Config) -> int:
    """Approximate peak resident bytes of a run with this config."""
    w, b, loop = cfg.world, cfg.behavior, cfg.loop
    per_user = 4 * (2 * w.n_topics + w.style_dim + b.creator_buckets + loop.seen_window + 24)
    final_videos = w.n_videos + loop.days * w.n_creators * w.uploads_per_creator_day * 1.5
    per_video = 4 * 18
    follows = 8 * w.n_users * w.initial_follows_median * 2.0
    ranked = cfg.policy.name in ("fyp", "ranked")
    earlier_days = min(loop.days - 1, loop.log_memory_days)   # completed days held while a day runs
    impressions = w.n_users * PLAYS_PER_USER_DAY * (
        IN_FLIGHT_BYTES + earlier_days * BYTES_PER_IMPRESSION
        + (earlier_days + 1) * PREDICTION_BYTES * ranked)
    width = cfg.retrieval.two_tower.dim + cfg.retrieval.mf.factors + cfg.ranking.embedding_dim
    learned = cfg.policy.name in ("fyp", "retrieval", "ranked")
    models = 4 * 3 * (w.n_users + final_videos) * width * learned  # weights + 2 Adam moments
    return int(INTERPRETER_BYTES + w.n_users * per_user + final_videos * per_video + follows
               + impressions + models
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
