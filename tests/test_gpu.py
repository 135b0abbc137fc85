"""device=cuda: the models, exact retrieval and a day of the full feed agree with CPU.

Every test is marked `gpu` (deselected by `make test`, run by `make test-all`) and skips
cleanly without CUDA. FEEDSIM_GPU_TEST_DEVICE=cpu runs the same code with "cpu" in place of
"cuda", to check the tests themselves on a machine without a GPU (the comparisons are then
trivially close).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from feedsim.ranking.config import TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import MODEL_CLASSES, ModelSpec, build_model
from feedsim.ranking.tasks import WatchTarget
from feedsim.ranking.train import FitResult, Tensors, _epoch, _optimizers
from feedsim.retrieval.index import ExactIndex

DEVICE = os.environ.get("FEEDSIM_GPU_TEST_DEVICE", "cuda")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(),
                                 reason="no CUDA device")]
TASKS = ["watch", "long_view", "like", "skip"]


def _rows(n: int = 2048) -> Tensors:
    gen = torch.Generator().manual_seed(0)
    return Tensors(torch.randint(0, 300, (n, 5), generator=gen), torch.randn(n, 7, generator=gen),
                   torch.randint(0, 6, (n,), generator=gen),
                   (torch.rand(n, len(TASKS), generator=gen) < 0.3).float())


def _on(data: Tensors, device: str) -> Tensors:
    return Tensors(*(t.to(device) for t in (data.cat, data.dense, data.position, data.targets)))


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
@pytest.mark.parametrize("sparse", [True, False])
def test_ranking_models_score_and_train_alike_on_cuda_and_cpu(name, sparse):
    spec = ModelSpec(300, 5, 7, len(TASKS), hidden=(32, 16), tower_hidden=8, sparse=sparse)
    heads, data = Heads(TASKS, WatchTarget("d2q"), []), _rows()
    models = {dev: build_model(name, spec, torch.Generator().manual_seed(1)).to(dev)
              for dev in ("cpu", DEVICE)}
    with torch.no_grad():
        logits = {dev: m.eval()(_on(data, dev).cat, _on(data, dev).dense).cpu()
                  for dev, m in models.items()}
    torch.testing.assert_close(logits[DEVICE], logits["cpu"], rtol=1e-4, atol=1e-4)
    for dev, model in models.items():
        model.train()
        _epoch(model, heads, _optimizers(model, TrainConfig()), _on(data, dev), 256,
               torch.Generator().manual_seed(2), FitResult())
    for (key, a), b in zip(models["cpu"].state_dict().items(),
                           models[DEVICE].state_dict().values()):
        torch.testing.assert_close(b.cpu(), a, rtol=1e-3, atol=1e-3, msg=key)


def test_exact_top500_on_cuda_matches_cpu():
    gen = np.random.default_rng(0)
    items = gen.standard_normal((50_000, 32)).astype(np.float32)
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    queries = items[gen.integers(0, 50_000, 64)] + 0.1 * gen.standard_normal((64, 32),
                                                                              dtype=np.float32)
    s_cpu, i_cpu = ExactIndex("cpu").build(items).search(queries, 500)
    s_gpu, i_gpu = ExactIndex(DEVICE, query_batch=16).build(items).search(queries, 500)
    np.testing.assert_allclose(s_gpu, s_cpu, rtol=1e-4, atol=1e-5)
    overlap = np.mean([np.intersect1d(a, b).size / 500 for a, b in zip(i_cpu, i_gpu)])
    assert overlap > 0.99                            # ties at the boundary may swap
    assert (i_gpu[:, 0] == i_cpu[:, 0]).all()


def test_two_days_of_the_full_feed_run_on_cuda():
    from feedsim.config.compose import load_config
    from feedsim.loop import Simulation

    sim = Simulation(load_config(["world=tiny", "policy=fyp", "loop.progress=false",
                                  f"device={DEVICE}"]))
    logs = [sim.step_day().log for _ in range(2)]
    assert all(len(log) > 0 for log in logs)
    assert np.isfinite(logs[1].score).mean() > 0.5            # NaN: slots without a rank score
    assert np.isfinite(logs[1].watch_s).all() and (logs[1].propensity > 0).all()
