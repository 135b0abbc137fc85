"""Teaching: helpers shared by the lessons in docs/lessons, and a runner for all of them.

The lessons are plain Python scripts with `# %%` cells (runnable top to bottom, in any editor
with cell support, and by pytest). They share two small set-ups kept here so each lesson reads
as its idea, not its plumbing. `python -m feedsim.report.lessons [NAME ...]` runs every lesson
(or those whose file name contains NAME) and reports how long each took.
"""
from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

import numpy as np

LESSONS_DIR = Path(__file__).resolve().parents[2] / "docs" / "lessons"


def logged_world(policy: str = "popular", days: int = 3, seed: int = 0, *overrides: str):
    """(cfg, sim): a tiny world after `days` days of `policy`, its logs kept in memory."""
    from feedsim.config.compose import load_config
    from feedsim.loop import Simulation
    cfg = load_config(["world=tiny", "loop.progress=false", f"policy={policy}", f"seed={seed}",
                       "loop.regret_sample=0", *overrides])
    sim = Simulation(cfg)
    for _ in range(days):
        sim.step_day()
    return cfg, sim


def candidate_matrix(sim, n_users: int, n_cands: int, rng: np.random.Generator):
    """Random same-language, unmoderated candidates: users (B,), videos (B, C)."""
    v, users = sim.world.videos, rng.choice(sim.world.users.n, n_users, replace=False)
    cands = np.empty((n_users, n_cands), np.int64)
    for i, u in enumerate(users):                       # a teaching loop over a few users
        ok = np.flatnonzero((v.language == sim.world.users.language[u]) & ~v.moderated)
        cands[i] = rng.choice(ok, n_cands, replace=ok.size < n_cands)
    return users, cands


def lesson_files(names: list[str] | None = None) -> list[Path]:
    files = sorted(LESSONS_DIR.glob("lesson_*.py"))
    return [f for f in files if not names or any(n in f.name for n in names)]


def main(argv: list[str] | None = None) -> int:
    for path in lesson_files(sys.argv[1:] if argv is None else argv):
        print(f"\n######## {path.name}")
        start = time.perf_counter()
        runpy.run_path(str(path), run_name="__main__")
        print(f"######## {path.name}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
