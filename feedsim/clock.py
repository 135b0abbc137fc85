"""Wall time per stage: where a simulated day's seconds go.

The day loop and the For You policy each keep a `StageClock` and time their stages with it
(`with clock("rank"): ...`). The clock is read by the benchmark (feedsim/bench_e2e.py), which
reports each stage's share of a day, and by anyone profiling a run; it never enters the logs or
the daily metrics, which must stay identical from run to run.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class StageClock:
    """Seconds per named stage, summed over calls since the last `reset`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def reset(self) -> None:
        self.seconds = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
