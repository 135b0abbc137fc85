"""Schema of the `ranking` config group: the multi-task model, its training and the value model.

Stages 2 and 3 of 5 (ranking and fusion). One nested dataclass per concern, so a misspelt key
fails at compose time; `__post_init__` checks names and numbers that Hydra's typing cannot
(an unknown model or head, a NaN fusion weight), so those fail at compose time too, naming
the key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

MODELS = ("single_task", "shared_bottom", "mmoe", "ple")
HEADS = ("watch", "long_view", "like", "comment", "share", "follow", "skip", "hate")
WATCH_TARGETS = ("regression", "weighted_logistic", "d2q")
FUSION_FORMS = ("linear", "multiplicative")
TRANSFORMS = ("identity", "log1p")
COUNTER_FRESHNESS = ("live", "daily")


class RankingConfigError(ValueError):
    """A ranking setting that names something unknown or holds a meaningless number."""


def _require(ok: bool, key: str, allowed: str, value) -> None:
    if not ok:
        raise RankingConfigError(f"ranking.{key}: must be {allowed} (got {value!r})")


@dataclass
class TrainConfig:
    """Mini-batch training from the last `days` of logs, validated on the latest day."""
    days: int = 3
    max_rows: int = 80_000          # newest rows kept per fit (0 = all)
    max_val_rows: int = 40_000      # validation rows: all rows of a fixed subset of the latest
    #                                 day's users, about this many (0 = the whole day)
    batch_size: int = 1024
    epochs: int = 2
    patience: int = 1                # epochs without validation improvement before stopping
    lr: float = 0.003
    sparse_lr: float = 0.01
    sparse_embeddings: bool = True   # nn.Embedding(sparse=True) + SparseAdam for the id tables
    weight_decay: float = 0.0
    threads: int = 2                 # torch intra-op threads while fitting/scoring (0 = as is)
    checkpoint_dir: str = ""         # "" = keep the best state in memory only
    min_rows: int = 200              # fewer logged rows than this: refuse to fit


@dataclass
class FusionConfig:
    """The value model: linear sum_k w_k f_k(p_k) or multiplicative prod_k (p_k + b_k)^w_k."""
    form: str = "linear"
    weights: dict[str, float] = field(default_factory=lambda: {
        "watch": 1.0, "long_view": 0.5, "like": 3.0, "comment": 4.0, "share": 6.0,
        "follow": 8.0, "skip": -0.5})
    biases: dict[str, float] = field(default_factory=lambda: {
        "watch": 0.05, "long_view": 0.05, "like": 0.01, "comment": 0.005, "share": 0.002,
        "follow": 0.002, "skip": 1.0})
    transforms: dict[str, str] = field(default_factory=dict)    # task -> identity | log1p

    def check(self, heads: list[str]) -> None:
        _require(self.form in FUSION_FORMS, "fusion.form", "|".join(FUSION_FORMS), self.form)
        for table in ("weights", "biases"):
            for task, value in getattr(self, table).items():
                _require(task in HEADS, f"fusion.{table}", f"keyed by heads {HEADS}", task)
                _require(math.isfinite(value), f"fusion.{table}.{task}", "a finite number", value)
        for task, name in self.transforms.items():
            _require(name in TRANSFORMS, f"fusion.transforms.{task}", "|".join(TRANSFORMS), name)
        for task, b in self.biases.items():
            _require(self.form != "multiplicative" or b >= 0, f"fusion.biases.{task}", ">= 0", b)


@dataclass
class StreamingConfig:
    """Intra-day (Monolith-style) ranker updates from the newest impressions (streaming.py)."""
    enabled: bool = False
    every_requests: int = 3000      # served page requests between two updates
    window: int = 20_000            # newest impressions each update trains on
    min_count: int = 5              # impressions before a user/video id gets its own row
    expire_days: float = 7.0        # an id unseen this long goes back to the default row
    context_days: int = 1           # completed days of logs behind the as-of features
    epochs: int = 1
    batch_size: int = 512
    lr: float = 0.001
    sparse_lr: float = 0.01

    def __post_init__(self) -> None:
        for key in ("every_requests", "window", "min_count", "epochs", "batch_size"):
            _require(getattr(self, key) > 0, f"streaming.{key}", "a positive integer",
                     getattr(self, key))
        _require(self.context_days >= 0, "streaming.context_days", ">= 0", self.context_days)
        for key in ("expire_days", "lr", "sparse_lr"):
            value = getattr(self, key)
            _require(math.isfinite(value) and value > 0, f"streaming.{key}", "> 0", value)


@dataclass
class RankingConfig:
    """Multi-task ranking model, its training and the value model."""
    model: str = "mmoe"
    heads: list[str] = field(default_factory=lambda: [
        "watch", "long_view", "like", "comment", "share", "follow", "skip"])
    watch_target: str = "d2q"        # regression | weighted_logistic | d2q
    duration_buckets: int = 40       # d2q quantile buckets of duration
    esmm: list[str] = field(default_factory=list)   # heads chained as p(long_view) x p(.|lv)
    position_tower: bool = True      # training-only position-bias logit, dropped at serving
    embedding_dim: int = 16
    id_embeddings: bool = True       # user and video id tables (else metadata only)
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    tower_hidden: int = 16
    n_experts: int = 4               # MMoE experts; PLE shared experts
    task_experts: int = 1            # PLE experts per task
    ple_levels: int = 2
    candidates: int = 200            # per request, for the `ranked` policy
    counter_freshness: str = "live"  # video counters at serving: live | daily (a batch
    #                                  pipeline's snapshot of the day's start)
    item_cache_mb: float = 1024.0    # CPU serving: cap of the per-video item table of the
    #                                  first layers (ranking/item_cache.py); 0 = off
    train: TrainConfig = field(default_factory=TrainConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    streaming: StreamingConfig = field(default_factory=StreamingConfig)

    def __post_init__(self) -> None:
        _require(self.model in MODELS, "model", "one of " + "|".join(MODELS), self.model)
        unknown = [h for h in self.heads if h not in HEADS]
        _require(not unknown and len(self.heads) > 0, "heads", f"non-empty, from {HEADS}",
                 unknown or self.heads)
        _require(self.counter_freshness in COUNTER_FRESHNESS, "counter_freshness",
                 "|".join(COUNTER_FRESHNESS), self.counter_freshness)
        _require(self.watch_target in WATCH_TARGETS, "watch_target", "|".join(WATCH_TARGETS),
                 self.watch_target)
        bad = [h for h in self.esmm if h not in self.heads or h in ("watch", "long_view")]
        _require(not bad and (not self.esmm or "long_view" in self.heads), "esmm",
                 "binary heads other than long_view, with long_view among the heads", bad)
        _require(len(self.hidden) > 0 and all(int(h) > 0 for h in self.hidden), "hidden",
                 "a non-empty list of positive layer widths", list(self.hidden))
        for key in ("embedding_dim", "tower_hidden", "n_experts", "task_experts", "ple_levels",
                    "candidates", "duration_buckets"):
            _require(getattr(self, key) > 0, key, "a positive integer", getattr(self, key))
        _require(self.train.days > 0 and self.train.batch_size > 0 and self.train.epochs > 0,
                 "train", "positive days, batch_size and epochs", self.train)
        _require(math.isfinite(self.train.lr) and self.train.lr > 0, "train.lr", "> 0",
                 self.train.lr)
        _require(math.isfinite(self.item_cache_mb) and self.item_cache_mb >= 0, "item_cache_mb",
                 "a size in MiB >= 0 (0 = off)", self.item_cache_mb)
        for key in ("max_rows", "max_val_rows"):
            _require(getattr(self.train, key) >= 0, f"train.{key}", ">= 0 (0 = no cap)",
                     getattr(self.train, key))
        self.fusion.check(list(self.heads))
