"""The experiment group: what an A/B preset says, and how it becomes one typed Config per arm.

An experiment preset (`configs/experiment/<name>.yaml`, `# @package _global_`) sets the shared
base (world, loop, seed) with ordinary keys and names its arms under `experiment.arms`, each a
list of Hydra overrides applied on top of that base: `treatment: [policy=popular]`. Arms are
therefore config overrides of anything the pipeline reads, so variants of any policy (a fusion
weight, a ranker model, a re-ranking knob, a future `fyp` knob) need no code here.

The root schema is extended with `experiment: ExperimentConfig` for composition only; each arm
is handed to the simulator as a plain `Config`. Every failure is one `ExperimentError` line.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from feedsim.config.schema import Config, register_schemas
from feedsim.config.validate import ConfigError, validate_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
DESIGNS = ("user_split", "paired")
SHARED_IN_SPLIT = ("seed", "world", "behavior", "loop")   # one world: arms may not change these


class ExperimentError(ValueError):
    """An experiment that cannot be run as asked; the message is one line naming the cause."""


@dataclass
class ExperimentConfig:
    """The `experiment` node of a preset."""
    name: str = ""
    design: str = "user_split"        # user_split | paired
    arms: dict[str, list[str]] = field(default_factory=dict)   # arm -> overrides; first = control
    control: str = ""                 # "" = the first arm
    aa: bool = False                  # an A/A test: arms may have identical configs
    metrics: list[str] = field(default_factory=list)           # [] = every per-user metric
    bootstrap: int = 1000             # bootstrap replicates over users
    alpha: float = 0.05               # 1 - confidence level; significance threshold


@dataclass
class ExperimentRootConfig(Config):
    """The root Config plus the experiment node (composition only)."""
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)


@dataclass
class ExperimentPlan:
    """Everything needed to run one experiment: the base config and one Config per arm."""
    spec: ExperimentConfig
    base: Config
    arms: list[tuple[str, Config]]

    @property
    def control(self) -> str:
        return self.spec.control or self.arms[0][0]


def use_experiment_schema() -> None:
    """Make `config_schema` the extended root so `+experiment=<preset>` composes. Storing the
    schemas costs about a second, so it is skipped while the extended root is still there
    (`load_config` puts the plain root back)."""
    node = ConfigStore.instance().repo.get("config_schema.yaml")
    if node is not None and OmegaConf.get_type(node.node) is ExperimentRootConfig:
        return
    register_schemas()
    ConfigStore.instance().store(name="config_schema", node=ExperimentRootConfig)


def presets() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def one_line(exc: BaseException) -> str:
    """Hydra's multi-line composition report folded into one line."""
    parts = [str(exc)] + ([str(exc.__cause__)] if exc.__cause__ else [])
    lines = [ln.strip() for part in parts for ln in part.split("Config search path")[0]
             .splitlines() if ln.strip()]
    return " ".join(ln for ln in lines
                    if not ln.startswith(("full_key", "object_type", "reference_type")))


def compose_root(overrides: list[str]) -> ExperimentRootConfig:
    """The typed root config of `overrides` (which include `+experiment=<preset>`)."""
    use_experiment_schema()
    try:
        if GlobalHydra.instance().is_initialized():        # inside the Hydra app
            dcfg = compose(config_name="config", overrides=list(overrides))
        else:
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                dcfg = compose(config_name="config", overrides=list(overrides))
        return OmegaConf.to_object(dcfg)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise ExperimentError(one_line(exc)) from None


def plain(root: Config) -> Config:
    """The Config part of an ExperimentRootConfig (what the simulator takes)."""
    return Config(**{f.name: getattr(root, f.name) for f in fields(Config)})


def experiment_overrides(argv: list[str]) -> list[str]:
    """Command-line words as compose overrides: `experiment=x` -> `+experiment=x`, no hydra.*"""
    out = [("+" + a) if a.startswith("experiment=") else a for a in argv]
    return [a for a in out if not a.lstrip("+~").startswith(("hydra.", "hydra/"))]


def _preset_name(overrides: list[str]) -> str:
    names = [a.split("=", 1)[1] for a in overrides if a.startswith("+experiment=")]
    if not names:
        raise ExperimentError("no experiment preset given: pass experiment=NAME, one of "
                              + ", ".join(presets()))
    if names[-1] not in presets():
        raise ExperimentError(f"experiment={names[-1]}: no such preset in configs/experiment "
                              f"(one of {', '.join(presets())})")
    return names[-1]


def _check_spec(spec: ExperimentConfig) -> None:
    if spec.design not in DESIGNS:
        raise ExperimentError(f"experiment.design: must be one of {'|'.join(DESIGNS)} "
                              f"(got {spec.design!r})")
    if len(spec.arms) < 2:
        raise ExperimentError(f"experiment.arms: an experiment needs at least 2 arms "
                              f"(got {len(spec.arms)}: {', '.join(spec.arms) or 'none'})")
    if spec.control and spec.control not in spec.arms:
        raise ExperimentError(f"experiment.control: {spec.control!r} is not an arm "
                              f"({', '.join(spec.arms)})")
    if not 0.0 < spec.alpha < 1.0 or spec.bootstrap < 100:
        raise ExperimentError("experiment.alpha must be in (0, 1) and experiment.bootstrap "
                              f">= 100 (got {spec.alpha}, {spec.bootstrap})")
    from feedsim.experiment.stats import METRICS           # late: stats imports nothing of ours
    unknown = [m for m in spec.metrics if m not in METRICS]
    if unknown:
        raise ExperimentError(f"experiment.metrics: unknown {unknown}; one of {', '.join(METRICS)}")


def _arm_config(name: str, overrides: list[str], arm_overrides: list[str]) -> Config:
    try:
        cfg = plain(compose_root(overrides + list(arm_overrides)))
        validate_config(cfg)
    except (ExperimentError, ConfigError, ValueError) as exc:
        raise ExperimentError(f"arm {name}: {exc}") from None
    return cfg


def _check_arms(spec: ExperimentConfig, base: Config, arms: list[tuple[str, Config]]) -> None:
    for i, (a, cfg_a) in enumerate(arms):
        for b, cfg_b in arms[i + 1:]:
            if cfg_a == cfg_b and not spec.aa:
                raise ExperimentError(f"arms {a} and {b} have identical configs; give them "
                                      "different overrides, or set experiment.aa=true for A/A")
        keys = SHARED_IN_SPLIT if spec.design == "user_split" else ("seed",)
        changed = [k for k in keys if getattr(cfg_a, k) != getattr(base, k)]
        if changed:
            raise ExperimentError(
                f"arm {a} changes {', '.join(changed)}, which the {spec.design} design shares "
                "across arms" + ("; use experiment.design=paired" if spec.design == "user_split"
                                 else ""))


def build_plan(argv: list[str]) -> ExperimentPlan:
    """Compose the base and every arm of the experiment named in `argv`; raise ExperimentError."""
    overrides = experiment_overrides(argv)
    _preset_name(overrides)
    root = compose_root(overrides)
    spec = root.experiment
    _check_spec(spec)
    base = plain(root)
    try:
        validate_config(base)
    except ConfigError as exc:
        raise ExperimentError(str(exc)) from None
    arms = [(name, _arm_config(name, overrides, arm)) for name, arm in spec.arms.items()]
    _check_arms(spec, base, arms)
    return ExperimentPlan(spec, base, arms)
