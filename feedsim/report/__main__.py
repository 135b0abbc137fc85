"""`python -m feedsim.report RUN_DIR [RUN_DIR ...]`: (re)write each run's report.html.

Works on the directory of a run (`python -m feedsim`), an A/B experiment
(`python -m feedsim.experiment`) or a sweep (a directory holding sweep_summary.parquet).
"""
from __future__ import annotations

import argparse
import sys

from feedsim.report.html import write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedsim.report", description=__doc__)
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    args = parser.parse_args(argv)
    status = 0
    for run_dir in args.run_dirs:
        try:
            print(f"wrote {write_report(run_dir)}")
        except (FileNotFoundError, ValueError) as exc:
            print(f"feedsim.report: error: {exc}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
