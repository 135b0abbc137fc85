"""Schema of the `rerank` config group (filled in by the re-ranking stage)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RerankConfig:
    """Re-ranking steps applied in order, and exploration."""
    steps: list[str] = field(default_factory=list)
