"""DDP training (feedsim/distributed): 2 gloo processes on CPU train like one process.

The fast test spawns 2 ranks that join through the same env:// path torchrun uses and train a
small MMoE with sparse id tables; both must end bit-identical, and equal (to float tolerance)
to one process training with the doubled batch over the same order. The slow tests launch the
real entry point under torchrun on a tiny simulated world, for the ranker and the two-tower.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp

from feedsim.distributed import Group, epoch_order, rank_rows
from feedsim.distributed.ranker import ddp_fit
from feedsim.ranking.config import TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.tasks import WatchTarget
from feedsim.ranking.train import Tensors

TASKS = ["long_view", "like", "skip"]
ROWS, BATCH = 1200, 64


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ranker(batch_size: int) -> tuple[SimpleNamespace, Tensors]:
    """A small sparse-embedding MMoE and learnable synthetic rows, the same in every process."""
    gen = torch.Generator().manual_seed(7)
    spec = ModelSpec(500, 4, 6, len(TASKS), hidden=(16, 8), tower_hidden=8, sparse=True)
    model = build_model("mmoe", spec, torch.Generator().manual_seed(1))
    cat = torch.randint(0, 500, (ROWS, 4), generator=gen)
    dense = torch.randn(ROWS, 6, generator=gen)
    logit = dense[:, :3] * 2 + (cat[:, :1] % 2) - 1                               # (N, T)
    targets = (torch.rand(ROWS, len(TASKS), generator=gen) < torch.sigmoid(logit)).float()
    data = Tensors(cat, dense, torch.randint(0, 6, (ROWS,), generator=gen), targets)
    cfg = TrainConfig(batch_size=batch_size, epochs=3, patience=3, lr=0.01, sparse_lr=0.05)
    heads = Heads(TASKS, WatchTarget("d2q"), [])
    return SimpleNamespace(model=model, heads=heads, cfg=SimpleNamespace(train=cfg)), data


def _rank(rank: int, world_size: int, port: int, out: str) -> None:
    """One spawned rank: join via env:// (as under torchrun), train, save its parameters."""
    from feedsim.distributed import init_group

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    group = init_group("cpu")
    ranker, data = _ranker(BATCH)
    result = ddp_fit(ranker, data, data, group, seed=3)
    same = group.same_parameters(ranker.model)
    torch.save({"state": ranker.model.state_dict(), "same": same, "loss": result.train_loss},
               Path(out) / f"rank{rank}.pt")
    group.close()


def test_shards_are_equal_disjoint_and_cover_the_doubled_batch():
    order = epoch_order(11, seed=0, epoch=1)
    a, b = rank_rows(order, 0, 2), rank_rows(order, 1, 2)
    assert a.shape == b.shape == (5,)
    assert set(a.tolist()).isdisjoint(b.tolist())
    assert sorted(torch.cat([a[:2], b[:2]]).tolist()) == sorted(order[:4].tolist())
    assert torch.equal(order, epoch_order(11, seed=0, epoch=1))
    assert not torch.equal(order, epoch_order(11, seed=0, epoch=2))


def test_two_gloo_ranks_match_one_process_with_the_doubled_batch(tmp_path):
    mp.start_processes(_rank, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["same"] and r1["same"]
    for name, value in r0["state"].items():
        assert torch.equal(value, r1["state"][name]), name
    single, data = _ranker(2 * BATCH)                              # one process, batch 2B
    ddp_fit(single, data, data, Group(), seed=3)
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(r0["state"][name], value, rtol=1e-4, atol=1e-5, msg=name)
    assert r0["loss"][-1] < r0["loss"][0]                          # and it learns


@pytest.mark.parametrize("argv, needle", [(["--what", "ranking"], "--what"),
                                          (["--days", "0", "--run", "x"], "--days"),
                                          (["--frobnicate"], "--frobnicate"),
                                          (["world.n_userz=3"], "n_userz"),
                                          (["world.n_users=-1"], "world.n_users")])
def test_invalid_arguments_fail_in_one_line_writing_nothing(tmp_path, capsys, argv, needle):
    from feedsim.distributed.train import cli

    with pytest.raises(SystemExit) as exit_:
        cli([*argv, "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("what, override", [("ranker", "ranking.train.epochs=3"),
                                            ("two_tower", "retrieval.two_tower.epochs=3")])
def test_torchrun_trains_on_a_simulated_world(tmp_path, what, override):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "feedsim.distributed.train",
           "--what", what, "--out", str(tmp_path), "world=tiny", "loop.days=2", override]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parents[1])
    reasons = [line for line in done.stderr.splitlines() if "feedsim.distributed" in line]
    assert done.returncode == 0, "\n".join(reasons) or done.stderr[-2000:]
    report = json.loads((tmp_path / f"{what}.json").read_text())
    assert report["world_size"] == 2 and report["backend"] == "gloo"
    assert report["same_parameters"] is True
    assert report["train_loss"][-1] < report["train_loss"][0]
    state = torch.load(tmp_path / f"{what}.pt")
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    if what == "ranker":
        assert report["offline"]["offline/skip/auc"] > 0.55


@pytest.mark.slow
def test_one_process_trains_the_ranker_on_a_finished_runs_logs(tmp_path):
    from feedsim.distributed.train import main

    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "feedsim", "world=tiny", "policy=popular",
                           "loop.days=2", "loop.report=false", f"hydra.run.dir={run_dir}"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = main(["--what", "ranker", "--run", str(run_dir), "--days", "2",
                   "--out", str(tmp_path / "ddp")])
    assert report["backend"] == "none" and report["world_size"] == 1
    assert report["best_epoch"] >= 0 and report["offline"]["offline/skip/auc"] > 0.55
    assert (tmp_path / "ddp" / "ranker.pt").exists()


@pytest.mark.parametrize("gpus, requested, expected", [
    (0, "auto", "cpu"), (0, "cpu", "cpu"), (0, "cuda", "error"),
    (1, "auto", "cpu"), (1, "cuda", "error"),           # 2 ranks, 1 GPU: no cuda:1 to crash on
    (2, "auto", "cuda"), (2, "cuda", "cuda"), (2, "cpu", "cpu")])
def test_every_rank_gets_a_gpu_or_all_run_gloo_on_cpu(monkeypatch, gpus, requested, expected):
    from feedsim.device import DeviceError
    from feedsim.distributed.group import rank_device
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    if expected == "error":
        with pytest.raises(DeviceError, match="2 ranks.*one GPU per rank"):
            rank_device(requested)
    else:
        assert rank_device(requested) == expected
