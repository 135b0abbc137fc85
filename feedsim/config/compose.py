"""Compose a typed Config outside the CLI (tests, notebooks, benchmarks), with Hydra overrides."""
from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from feedsim.config.schema import Config, register_schemas

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def load_config(overrides: list[str] | None = None) -> Config:
    """The Config that `python -m feedsim <overrides>` would run, as a typed dataclass."""
    register_schemas()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        dcfg = compose(config_name="config", overrides=list(overrides or []))
    return OmegaConf.to_object(dcfg)
