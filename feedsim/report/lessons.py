"""Teaching: helpers shared by the lessons in docs/lessons, and a runner for all of them.

The lessons are plain Python scripts with `# %%` cells (runnable top to bottom, in any editor
with cell support, and by pytest). They share two small set-ups kept here so each lesson reads
as its idea, not its plumbing. `python -m feedsim.report.lessons [NAME ...] [--html DIR]` runs
every lesson (or those whose file name contains NAME), reports how long each took and, with
--html, exports each to DIR/<lesson>.html with an index.html (`make lessons` writes
outputs/lessons/); the export itself is feedsim/report/notebook.py.
"""
from __future__ import annotations

import argparse
import html
import sys
import time
from pathlib import Path

import numpy as np

from feedsim.report.notebook import export_lesson, run_cells

LESSONS_DIR = Path(__file__).resolve().parents[2] / "docs" / "lessons"


def logged_world(policy: str = "popular", days: int = 3, seed: int = 0, *overrides: str,
                 world: str = "tiny", regret: bool = False):
    """(cfg, sim): a `world` preset after `days` days of `policy`, its logs kept in memory.
    Regret against the oracle is measured only with `regret` (it costs oracle pages)."""
    from feedsim.config.compose import load_config
    from feedsim.loop import Simulation
    cfg = load_config([f"world={world}", "loop.progress=false", f"policy={policy}",
                       f"seed={seed}", *([] if regret else ["loop.regret_sample=0"]), *overrides])
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


def write_index(out_dir: Path, pages: list[tuple[Path, float]]) -> Path:
    """out_dir/index.html: one link per exported lesson, with its run time."""
    from feedsim.report.explain_render import page_shell
    rows = "".join(f"<li><a href=\"{html.escape(p.name)}\">{html.escape(p.stem)}</a> "
                   f"({seconds:.0f} s)</li>" for p, seconds in pages)
    path = Path(out_dir) / "index.html"
    path.write_text(page_shell("feedsim lessons", f"<ul>{rows}</ul>"), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedsim.report.lessons")
    parser.add_argument("names", nargs="*", metavar="NAME", help="run lessons whose file "
                        "name contains NAME (default: all)")
    parser.add_argument("--html", metavar="DIR", help="export each lesson to DIR/<lesson>.html")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    files = lesson_files(args.names)
    if not files:
        print(f"feedsim.report.lessons: error: no lesson matches {args.names}", file=sys.stderr)
        return 2
    pages = []
    for path in files:
        print(f"\n######## {path.name}")
        start = time.perf_counter()
        if args.html:
            pages.append((export_lesson(path, Path(args.html)), time.perf_counter() - start))
        else:
            run_cells(path)
        print(f"######## {path.name}: {time.perf_counter() - start:.1f} s")
    if args.html:
        print(f"wrote {write_index(Path(args.html), pages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
