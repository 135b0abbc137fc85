"""Bad input to ranker training: Inf or NaN in features is reported and skipped, a checkpoint is
never replaced by non-finite weights, and unknown names fail at compose time (synthetic, fast)."""
import logging

import numpy as np
import pytest
import torch

from conftest import tiny_config
from feedsim.device import torch_threads
from feedsim.ranking.config import TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.tasks import WatchTarget
from feedsim.ranking.train import Tensors, fit, save_checkpoint

N, FIELDS, DENSE = 4096, 3, 5


def batch(seed: int) -> Tensors:
    g = torch.Generator().manual_seed(seed)
    return Tensors(torch.randint(0, 30, (N, FIELDS), generator=g), torch.randn(N, DENSE, generator=g),
                   torch.zeros(N, dtype=torch.long), (torch.rand(N, 2, generator=g) < 0.3).float())


def model():
    spec = ModelSpec(vocab=30, n_fields=FIELDS, n_dense=DENSE, n_tasks=2, hidden=(8,),
                     tower_hidden=4, n_experts=2)
    return build_model("mmoe", spec, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("poison", [float("inf"), float("-inf"), float("nan")])
def test_poisoned_feature_batches_are_reported_and_skipped(poison, tmp_path, caplog):
    train = batch(0)
    train.dense[::500, 2] = poison                       # 9 poisoned rows in 16 batches
    heads, m = Heads(["like", "skip"], WatchTarget("d2q"), []), model()
    cfg = TrainConfig(batch_size=256, epochs=1, checkpoint_dir=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="feedsim"), torch_threads(1):
        result = fit(m, heads, train, batch(1), cfg, torch.Generator().manual_seed(0))
    assert 0 < result.skipped_batches <= 9
    assert any("skipped" in r.getMessage() for r in caplog.records)
    assert all(np.isfinite(result.train_loss)) and all(np.isfinite(result.val_loss))
    state = torch.load(tmp_path / "ranker.pt")
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_non_finite_weights_never_replace_a_checkpoint(tmp_path):
    m = model()
    assert save_checkpoint(m, str(tmp_path))
    before = (tmp_path / "ranker.pt").read_bytes()
    with torch.no_grad():
        m.gates.weight[0, 0, 0] = float("nan")
    assert not save_checkpoint(m, str(tmp_path))
    assert (tmp_path / "ranker.pt").read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("override,match", [
    ("ranking.heads=[watch,watch_time]", "ranking.heads"),
    ("ranking.model=MMoE", "ranking.model"),
    ("ranking.watch_target=quantile", "ranking.watch_target"),
    ("ranking.fusion.weights.dwell=1.0", "ranking.fusion.weights"),
    ("ranking.train.max_val_rows=-1", "ranking.train.max_val_rows"),
    ("ranking.counter_freshness=hourly", "ranking.counter_freshness"),
    ("ranking.hidden=[]", "ranking.hidden"),
    ("ranking.hidden=[0,32]", "ranking.hidden"),
])
def test_unknown_names_fail_at_compose_time(override, match):
    with pytest.raises(Exception, match=match):
        tiny_config(override)
