"""Schema of the `ranking` config group (filled in by the ranking stage)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RankingConfig:
    """Multi-task ranking model, its training and the value model."""
    model: str = "mmoe"
