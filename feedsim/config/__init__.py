"""Typed configuration: the dataclass schemas behind every Hydra config group."""
from feedsim.config.schema import (
    BehaviorConfig,
    Config,
    LoopConfig,
    PolicyConfig,
    WorldConfig,
    register_schemas,
)
from feedsim.config.validate import ConfigError, validate_config

__all__ = [
    "BehaviorConfig", "Config", "ConfigError", "LoopConfig", "PolicyConfig",
    "WorldConfig", "register_schemas", "validate_config",
]
