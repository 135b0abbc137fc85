"""The canonical experiments (experiments/NN_*): every folder is complete and its config
composes, and the driver's tables and plots are written correctly from tiny synthetic inputs.
The experiments themselves run from `make experiments`, not here."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feedsim.config.compose import load_config
from feedsim.experiment.canonical import gini_rows
from feedsim.experiment.canonical_report import (effects_markdown, levels_markdown,
                                                 markdown_table, plot_effects, verdict,
                                                 write_results)
from feedsim.experiment.config import build_plan
from feedsim.experiment.stats import compare

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(p for p in (ROOT / "experiments").glob("0[1-8]_*") if p.is_dir())


def load_run(folder: Path):
    spec = importlib.util.spec_from_file_location(f"exp_{folder.name}", folder / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eight_experiment_folders():
    assert [f.name[:2] for f in FOLDERS] == [f"0{i}" for i in range(1, 9)]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_folder_has_readme_run_and_a_preset_that_composes(folder):
    readme = (folder / "README.md").read_text()
    assert "results.md" in readme and "make experiments" in readme
    module = load_run(folder)
    assert callable(module.main) and module.COMMAND.endswith(f"{folder.name}/run.py")
    if hasattr(module, "PRESET"):
        plan = build_plan([f"experiment={module.PRESET}", *module.OVERRIDES])
        assert len(plan.arms) >= 2 and plan.base.world.n_users <= 3000
        assert len({repr(cfg) for _, cfg in plan.arms}) == len(plan.arms)   # arms differ
    else:
        cfg = load_config(module.OVERRIDES)
        assert cfg.loop.days >= 2


def per_user_table(rng, n=400, effect=0.0):
    """Two paired arms: the same impressions and likes per user, watch time shifted."""
    imps = rng.poisson(20, n).astype(float)
    likes = rng.binomial(imps.astype(int), 0.03).astype(float)
    rows = []
    for arm, shift in (("a", 0.0), ("b", effect)):
        rows.append(pd.DataFrame({
            "arm": arm, "user_id": np.arange(n), "impressions": imps,
            "watch_s": imps * rng.gamma(2.0, 4.0 + shift, n), "like": likes,
            "share": 0.0, "comment": 0.0,
            "follow": 0.0, "hate": 0.0, "active_days": 1.0, "sessions": 1.0,
            "last_day_active": 1.0}))
    return pd.concat(rows, ignore_index=True)


def test_tables_plot_and_results_are_written(tmp_path):
    rng = np.random.default_rng(0)
    table = compare(per_user_table(rng, effect=3.0), "a", "b", True,
                    ["watch_s_per_play", "like_rate"], 200, rng=rng)
    md = effects_markdown(table)
    assert md.count("\n") == 3 and "| b | watch_s_per_play |" in md
    assert "higher" in verdict(table, "watch_s_per_play")[0]
    assert "no detectable" in verdict(table, "like_rate")[0]
    png = plot_effects(table, tmp_path / "effects.png", "t")
    assert png.read_bytes()[:4] == b"\x89PNG" and not list(tmp_path.glob(".*"))
    levels = pd.DataFrame({"arm": ["x", "x", "y", "y"], "metric": ["m", "n", "m", "n"],
                           "value": [1.0, 2.0, 3.0, 4.0], "ci_low": 0.0, "ci_high": 5.0})
    lv = levels_markdown(levels)
    assert lv.splitlines()[2] == "| x | 1 [0, 5] | 2 [0, 5] |"
    out = write_results(tmp_path, ["# t", "", markdown_table(pd.DataFrame({"a": [np.nan]}))])
    assert out.read_text() == "# t\n\n| a |\n|---|\n| nan |\n"


def test_gini_rows():
    counts = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 4.0], [0.0, 1.0, 1.0, 2.0]])
    np.testing.assert_allclose(gini_rows(counts), [0.0, 0.75, 0.375])


def fake_outcome(design: str, logs: dict[str, pd.DataFrame], n_users: int):
    """An Outcome over hand-made logs: no simulation, just what the analyses read."""
    from types import SimpleNamespace as NS

    from feedsim.experiment.ab import ExperimentResult
    from feedsim.experiment.canonical import Outcome
    arms = list(logs)
    plan = NS(arms=[(a, None) for a in arms], control=arms[0], base=NS(seed=0),
              spec=NS(design=design, alpha=0.05))
    per_user = pd.concat([pd.DataFrame({"arm": a, "user_id": np.arange(n_users)})
                          for a in arms], ignore_index=True)
    out = Outcome(plan, ExperimentResult(per_user, pd.DataFrame(), 0.0))
    sim = NS(world=NS(users=NS(n=n_users)))
    if design == "paired":
        out.logs, out.sims = {a: [f.assign(arm=a)] for a, f in logs.items()}, \
            {a: sim for a in arms}
    else:
        out.logs = {"user_split": [pd.concat([f.assign(arm=a) for a, f in logs.items()])]}
        out.sims = {"user_split": sim}
    return out


def test_user_columns_and_bootstrap_effects_see_a_real_difference_and_no_false_one():
    from scipy import sparse

    from feedsim.experiment.canonical import add_user_columns, boot_effects, effects, per_user_sum
    rng = np.random.default_rng(1)
    n, k = 300, 20
    user = np.repeat(np.arange(n), 30)                                 # 30 impressions each
    spread = pd.DataFrame({"user_id": user, "item": rng.integers(0, k, user.size)})
    piled = pd.DataFrame({"user_id": user, "item": np.where(rng.random(user.size) < 0.7, 0,
                                                            rng.integers(0, k, user.size))})
    out = fake_outcome("paired", {"a": spread, "b": piled, "c": spread}, n)

    def columns(log, sim):
        return {"hits": per_user_sum(log.user_id.to_numpy(), (log.item == 0).to_numpy(float),
                                     sim.world.users.n),
                "imps": per_user_sum(log.user_id.to_numpy(), None, sim.world.users.n)}
    add_user_columns(out, columns)
    table = effects(out, ["item0_share"], {"item0_share": ("hits", "imps", 1.0)}, n_boot=200)
    b, c = table.set_index("treatment_arm").loc[["b", "c"]].itertuples()
    assert b.ci_low > 0.5 and b.p_value < 1e-6                     # 0.05 -> 0.7
    assert c.abs_effect == 0 and c.p_value == 1.0                  # the same log, paired

    def matrix(outcome, arm):
        log = outcome.log(arm)
        return sparse.csr_matrix((np.ones(len(log)), (log.user_id, log["item"])), shape=(n, k))
    from feedsim.experiment.canonical import gini_rows
    gini = boot_effects(out, "item_gini", matrix, gini_rows, n_boot=200).set_index(
        "treatment_arm")
    assert gini.loc["b", "ci_low"] > 0.3 and gini.loc["b", "p_value"] <= 0.01
    assert gini.loc["c", "ci_low"] == gini.loc["c", "ci_high"] == 0.0
