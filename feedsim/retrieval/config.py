"""Schema of the `retrieval` config group: which sources, their quotas, their knobs, the index.

Stage 1 of 5 (retrieval). One nested dataclass per source, named like its module
(`two_tower` -> feedsim/retrieval/two_tower.py), so a misspelt key fails at compose time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALL_SOURCES = ("two_tower", "mf", "item2item", "follow", "trending", "fresh", "popular")


@dataclass
class TwoTowerConfig:
    """In-batch softmax two-tower model (feedsim/retrieval/two_tower.py)."""
    dim: int = 64
    hidden: int = 128
    epochs: int = 1                  # per daily retrain
    max_samples: int = 100_000       # newest positive impressions trained on per fit (0 = all)
    batch_size: int = 1024
    lr: float = 0.01                # dense parameters (Adam)
    sparse_lr: float = 0.03         # embedding tables (SparseAdam when sparse=true)
    sparse: bool = True
    temperature: float = 0.05
    logq: bool = True               # the sampling-bias correction (Yi et al. 2019)
    positive_weight: str = "seconds"  # seconds | ratio: how a positive's watch counts
    exposure_correction: bool = True  # learn engagement per exposure, not per past exposure
    history: int = 20               # recent engaged videos in the user tower
    id_dropout: float = 0.3         # share of samples trained without the video id (cold start)
    duration_buckets: int = 8
    account_age_buckets: int = 6
    encode_batch: int = 65536
    torch_threads: int = 1          # intra-op threads while training (0: leave torch's setting);
    # the batches are small, and oversubscribed cores make more threads much slower


@dataclass
class MFConfig:
    """Matrix factorisation with `implicit` on a users x videos matrix (feedsim/retrieval/mf.py)."""
    algorithm: str = "als"          # als | bpr
    factors: int = 64
    iterations: int = 15
    regularization: float = 0.05
    alpha: float = 10.0             # confidence = 1 + alpha * engagement weight (ALS)
    learning_rate: float = 0.05     # BPR only
    threads: int = 0                # implicit's own threads; 0 = all cores
    blas_threads: int = 1           # BLAS threads pinned around fits (threadpoolctl)


@dataclass
class Item2ItemConfig:
    """Co-engagement neighbours of the user's recent positives (feedsim/retrieval/item2item.py)."""
    history: int = 20               # recent positives per user that seed retrieval
    cooc_history: int = 50          # recent positives per user counted in co-engagement
    neighbours: int = 50
    shrink: float = 5.0             # cosine shrinkage for rare pairs


@dataclass
class FollowConfig:
    """Recent uploads of followed creators (feedsim/retrieval/follow.py)."""
    max_age_days: int = 7
    per_creator: int = 10
    max_creators: int = 64


@dataclass
class TrendingConfig:
    """Rising engagement of videos, sounds and hashtags (feedsim/retrieval/trending.py)."""
    pool: int = 2000
    sound_weight: float = 0.5
    tag_weight: float = 0.25
    max_age_days: int = 14


@dataclass
class FreshConfig:
    """Recent uploads with few impressions, for exploration (feedsim/retrieval/fresh.py)."""
    max_age_days: int = 2
    max_impressions: int = 20
    pool: int = 3000


@dataclass
class IndexConfig:
    """Nearest-neighbour search (feedsim/retrieval/index.py)."""
    kind: str = "exact"             # exact | faiss_hnsw
    query_batch: int = 1024
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 800


@dataclass
class RetrievalConfig:
    """Candidate retrieval: sources, quotas, filters and the index."""
    total_candidates: int = 500
    sources: list[str] = field(default_factory=lambda: [
        "two_tower", "mf", "item2item", "follow", "trending", "fresh"])
    quotas: dict[str, float] = field(default_factory=lambda: {
        "two_tower": 0.35, "mf": 0.2, "item2item": 0.15, "follow": 0.05, "trending": 0.1,
        "fresh": 0.1, "popular": 0.05})
    overfetch: float = 2.0          # each source returns overfetch x its quota, to survive filters
    filter_by: str = "language"     # language | market | none
    train_days: int = 3             # days of log each fit reads
    eval_k: int = 500
    eval_users: int = 16            # users sampled per day for the run's retrieval figures
    # against the truth (when evaluation code attached one; 0 = off)
    two_tower: TwoTowerConfig = field(default_factory=TwoTowerConfig)
    mf: MFConfig = field(default_factory=MFConfig)
    item2item: Item2ItemConfig = field(default_factory=Item2ItemConfig)
    follow: FollowConfig = field(default_factory=FollowConfig)
    trending: TrendingConfig = field(default_factory=TrendingConfig)
    fresh: FreshConfig = field(default_factory=FreshConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
