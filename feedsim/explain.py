"""`python -m feedsim.explain`: why did this user see this page? (see feedsim/report/explain.py)

Arguments are Hydra-style `key=value` overrides. Four keys belong to the explainer, the rest
compose the config exactly as `python -m feedsim` would (or amend a finished run's config):

    python -m feedsim.explain world=tiny day=1                 # first request served on day 1
    python -m feedsim.explain world=tiny day=2 user=17 request=3 top=15
    python -m feedsim.explain run=outputs/2024-01-01/12-00-00 day=2 user=17 html=why.html

- `run=DIR`      re-simulate that run (its config.yaml) instead of composing a config;
- `day=N`        the day to explain (default 1: day 0 has no trained models yet);
- `user=U`       the user (default: the first user served that day);
- `request=R`    the user's R-th page request of that day, 0-based (default 0);
- `top=K`        ranked candidates to show (default 10);
- `html=PATH`    also write the trace as a self-contained HTML page.

The run is re-simulated in memory from its seed; nothing is written except the HTML page.
"""
from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import OmegaConf

from feedsim.config.schema import Config, register_schemas

KEYS = {"run": str, "day": int, "user": int, "request": int, "top": int, "html": str}
USAGE = ("usage: python -m feedsim.explain [run=DIR] [day=N] [user=U] [request=R] [top=K] "
         "[html=PATH] [config overrides...]")


def config_of_run(run_dir: Path, overrides: list[str]) -> Config:
    """The typed Config of a finished run (its config.yaml), with dotted overrides applied."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"run={run_dir}: no config.yaml there")
    register_schemas()
    merged = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(path),
                             OmegaConf.from_dotlist(overrides))
    return OmegaConf.to_object(merged)


def parse(argv: list[str]) -> tuple[dict, list[str]]:
    """Split explainer keys from config overrides."""
    mine, rest = {}, []
    for arg in argv:
        key, eq, value = arg.partition("=")
        if eq and key in KEYS:
            mine[key] = KEYS[key](value)
        elif arg in ("-h", "--help"):
            raise SystemExit(__doc__)
        else:
            rest.append(arg)
    return mine, rest


def main(argv: list[str] | None = None) -> int:
    from hydra.errors import HydraException

    from feedsim.config import ConfigError
    from feedsim.config.compose import load_config
    from feedsim.report.explain import ExplainError, explain
    from feedsim.report.explain_render import render_html, render_text
    try:
        opts, overrides = parse(sys.argv[1:] if argv is None else argv)
        overrides = [*overrides, "loop.progress=false"]
        cfg = (config_of_run(Path(opts["run"]), overrides) if "run" in opts
               else load_config(overrides))
        trace = explain(cfg, day=opts.get("day", 1), user=opts.get("user"),
                        request=opts.get("request", 0), top=opts.get("top", 10))
    except (ExplainError, ConfigError, HydraException, FileNotFoundError, ValueError) as exc:
        print(f"feedsim.explain: error: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    print(render_text(trace))
    if "html" in opts:
        Path(opts["html"]).write_text(render_html(trace))
        print(f"wrote {opts['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
