"""Config groups compose and validate; bad values fail with one line naming the key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feedsim.config import ConfigError, validate_config
from feedsim.config.compose import CONFIG_DIR, load_config

# experiment presets extend the root schema and are composed by tests/test_experiment_cli.py
GROUPS = sorted(p.name for p in Path(CONFIG_DIR).iterdir()
                if p.is_dir() and p.name not in ("hydra", "experiment"))


def presets(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


@pytest.mark.parametrize("group,name", [(g, n) for g in GROUPS for n in presets(g)])
def test_every_preset_composes_and_validates(group, name):
    cfg = load_config([f"{group}={name}"])
    validate_config(cfg)
    node = getattr(cfg, group)
    assert type(node).__name__.endswith("Config")


def test_world_presets_are_ordered_by_size():
    sizes = {n: load_config([f"world={n}"]).world.n_users for n in ("tiny", "small", "default", "large")}
    assert sizes["tiny"] < 1000 < sizes["small"] < sizes["default"] < sizes["large"]
    assert sizes["default"] == 10_000 and sizes["large"] == 1_000_000


@pytest.mark.parametrize("override,key", [
    ("world.n_users=-5", "world.n_users"),
    ("world.moderation_rate=1.5", "world.moderation_rate"),
    ("world.market_weights=[1.0]", "world.market_weights"),
    ("world.markets=[US,ZZ]", "world.markets"),
    ("behavior.boredom_decay=nan", "behavior.boredom_decay"),
    ("behavior.loop_limit=0", "behavior.loop_limit"),
    ("loop.page_size=0", "loop.page_size"),
    ("device=tpu", "device"),
    ("policy.name=nonsense", "policy.name"),
    ("world.n_users=200000000", "world"),
    ("retrieval.total_candidates=0", "retrieval.total_candidates"),
    ("retrieval.two_tower.dim=0", "retrieval.two_tower.dim"),
    ("world.max_memory_gb=1e9", "world.max_memory_gb"),
    ("retrieval.two_tower.dim=10000000", "world"),                 # a model too large to fit
    ("loop.log_memory_days=0", "loop.log_memory_days"),
])
def test_invalid_values_name_their_key(override, key):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(["world=tiny", override]))
    assert str(err.value).startswith(key)


@pytest.mark.parametrize("override,needle", [
    ("world.n_userz=3", "n_userz"),
    ("world=huge", "world/huge"),
    ("loop.days=abc", "abc"),
    ("world.n_users=-1", "world.n_users"),
])
def test_cli_rejects_bad_input_in_one_line_and_writes_nothing(tmp_path, override, needle):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "feedsim", "world=tiny", override,
                           f"hydra.run.dir={out}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not out.exists()


def test_the_memory_estimate_counts_every_day_of_logs_held_and_refuses_on_it():
    from feedsim.world.memory import estimate_bytes
    week = ["world=large", "policy=fyp", "loop.days=7"]
    held = {d: estimate_bytes(load_config([*week, f"loop.log_memory_days={d}"])) for d in (1, 7)}
    per_day = 1_000_000 * 30 * (56 + 32)                 # users x plays x bytes, ranked logs
    assert held[7] - held[1] == 5 * per_day             # 6 completed days held, against 1
    with pytest.raises(ConfigError, match="world: needs about"):        # a week at 1 M users
        validate_config(load_config([*week, "world.max_memory_gb=24"]))
    validate_config(load_config([*week, "world.max_memory_gb=24", "loop.log_memory_days=1"]))


def test_the_run_holds_only_log_memory_days_of_logs(tmp_path):
    from feedsim.loop import Simulation
    sim = Simulation(load_config(["world=tiny", "policy=popular", "loop.days=3",
                                  "loop.log_memory_days=1", "loop.progress=false"]))
    for _ in range(3):
        sim.step_day()
    assert sorted(sim.ctx.recent_logs) == [2]
