"""Schema of the `retrieval` config group (filled in by the retrieval stage)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RetrievalConfig:
    """Candidate retrieval: sources, quotas and the index."""
    total_candidates: int = 500
