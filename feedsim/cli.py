"""The command line: `python -m feedsim` / `feedsim`, a Hydra app over the day loop.

Composes the config (schemas catch misspelt or ill-typed keys), validates values before
anything is written, then runs the simulation into the Hydra run directory and prints the
metrics table and where the outputs are. Any invalid input ends with one line on stderr
naming the key or file, exit status 2, and nothing written.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from feedsim.config import Config, ConfigError, register_schemas, validate_config
from feedsim.device import DeviceError, resolve_device
from feedsim.logs.schema import LogSchemaError
from feedsim.loop import RunDirError, run
from feedsim.loop.checkpoint import CheckpointError, check_resume
from feedsim.ranking.config import RankingConfigError
from feedsim.rerank.config import RerankConfigError
from feedsim.retrieval.base import DivergedError

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
USER_ERRORS = (ConfigError, RunDirError, LogSchemaError, DeviceError, CheckpointError,
               RankingConfigError, RerankConfigError, DivergedError)
log = logging.getLogger("feedsim")


def fail(message: str) -> None:
    print(f"feedsim: error: {message}", file=sys.stderr)
    sys.exit(2)


def to_config(dcfg: DictConfig) -> Config:
    """The typed Config of a composed DictConfig (hydra's own node removed)."""
    return OmegaConf.to_object(dcfg)


def prepare_run_dir(out_dir: Path, cfg: Config, dcfg: DictConfig) -> None:
    """Write the resolved config and attach the run log, once the config is known good."""
    (out_dir / "config.yaml").write_text(OmegaConf.to_yaml(dcfg, resolve=True))
    handler = logging.FileHandler(out_dir / "run.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", "%H:%M:%S"))
    logging.getLogger().addHandler(handler)


def print_table(frame, out_dir: Path) -> None:
    table = frame.pivot_table(index="metric", columns=["arm", "day"], values="value")
    with __import__("pandas").option_context("display.width", 160, "display.max_columns", 12,
                                             "display.float_format", "{:,.4g}".format):
        print(table.to_string())
    print(f"\noutputs: {out_dir}  (config.yaml, metrics.parquet, impressions/, summary.json)")


def _discard_if_empty(out_dir: Path) -> None:
    try:
        out_dir.rmdir()        # only succeeds when hydra created it empty for this run
    except OSError:
        pass


def check_outputs(out_dir: Path, cfg: Config) -> None:
    """A new run needs a directory free of runs; a resume needs a sound, matching checkpoint."""
    if cfg.resume:
        check_resume(out_dir, cfg)
    else:
        from feedsim.loop.runner import check_run_dir
        check_run_dir(out_dir, cfg.overwrite)


register_schemas()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def app(dcfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        cfg = to_config(dcfg)
        validate_config(cfg)
        resolve_device(cfg.device)
        check_outputs(out_dir, cfg)
    except USER_ERRORS as exc:
        _discard_if_empty(out_dir)
        fail(str(exc))
    prepare_run_dir(out_dir, cfg, dcfg)
    try:
        frame = run(cfg, out_dir)
    except USER_ERRORS as exc:
        fail(str(exc))
    print_table(frame, out_dir)


def compose_error(argv: list[str]) -> str | None:
    """One line describing why these overrides do not compose, or None when they do.

    Hydra's own report spans several lines; a single run (not -m, not --help/--cfg) is checked
    here first so a misspelt key or a missing preset gets one line naming it.
    """
    if any(a.startswith("-") for a in argv):
        return None
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = [a for a in argv if not a.startswith(("hydra.", "hydra/", "+hydra"))]
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        parts = [str(exc)] + ([str(exc.__cause__)] if exc.__cause__ else [])
        lines = [ln.strip() for part in parts for ln in part.split("Config search path")[0]
                 .splitlines() if ln.strip()]
        return " ".join(ln for ln in lines if not ln.startswith(("full_key", "object_type",
                                                                  "reference_type")))
    return None


def main() -> None:
    message = compose_error(sys.argv[1:])
    if message:
        fail(message)
    app()


if __name__ == "__main__":
    main()
