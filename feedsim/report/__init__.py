"""Teaching and reporting: the explain trace of one request and the HTML report of a run.

- `feedsim.report.explain`: re-simulate a run to a day and trace one request through retrieval,
  ranking, fusion and re-ranking to the page, next to what the user did and the ground truth;
- `feedsim.report.html`: `write_report(run_dir)` renders a run's (or experiment's) report.html,
  self-contained and offline, with the figures of `feedsim.report.plots`.

Both are sandbox-side: they may read the world's truth, unlike the platform packages.
"""
