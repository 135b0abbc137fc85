"""The entry point each DDP rank runs: build the rows, train on a shard, rank 0 writes.

    torchrun --standalone --nproc_per_node 2 -m feedsim.distributed.train \
        --what ranker --out outputs/ddp world=tiny loop.days=2 ranking.train.epochs=3

Trailing arguments are Hydra overrides of the world and the models (default
`world=tiny policy=popular loop.days=2`: the rows are simulated), or `--run DIR` trains on a
finished run's logs. `device=cuda` uses nccl and one GPU per local rank; CPU uses gloo.
Rank 0 writes `<what>.pt` (the state dict) and `<what>.json` (losses, timings, world size,
whether all ranks ended with identical parameters, and the ranker's offline metrics).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from feedsim.device import torch_threads
from feedsim.distributed import data as training_data
from feedsim.distributed.group import Group, init_group, rank_device

WHAT = ("ranker", "two_tower")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):                  # one line, raised like any other bad input
        raise ValueError(message)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog="python -m feedsim.distributed.train", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--what", default="ranker", help="ranker | two_tower")
    p.add_argument("--out", required=True, help="directory for the checkpoint (rank 0)")
    p.add_argument("--run", default="", help="train on this finished run's logs")
    p.add_argument("--days", type=int, default=3, help="days of a --run's log to train on")
    p.add_argument("overrides", nargs="*", help="Hydra overrides (world=, ranking.*, ...)")
    args = p.parse_args(argv)
    if args.what not in WHAT:
        raise ValueError(f"--what: must be one of {'|'.join(WHAT)} (got {args.what!r})")
    if args.run and args.overrides:
        raise ValueError(f"--run: trains with the run's own config; drop the overrides "
                         f"{' '.join(args.overrides)}")
    if args.days < 1:
        raise ValueError(f"--days: must be >= 1 (got {args.days})")
    return args


def train_ranker(d: training_data.TrainingData, group: Group) -> tuple[torch.nn.Module, dict]:
    from feedsim.distributed.ranker import ddp_fit, for_group, prepare

    cfg, seed = for_group(d.cfg.ranking, group), d.cfg.seed
    ranker, train, val = prepare(cfg, d.view, d.log, d.daily_decay, group.device, seed)
    with torch_threads(0 if group.distributed else cfg.train.threads):  # torchrun: OMP threads
        result = ddp_fit(ranker, train, val, group, seed)
    report = {"train_rows": len(train), "val_rows": len(val), "train_loss": result.train_loss,
              "val_loss": result.val_loss, "best_epoch": result.best_epoch,
              "samples_per_s": result.samples_per_s}
    if group.rank == 0:
        report["offline"] = ranker.offline_metrics(d.log, _val_index(d, cfg), val)
    return ranker.model, report


def _val_index(d, cfg):
    from feedsim.ranking.ranker import split_rows

    return split_rows(d.log, cfg.train.days, cfg.train.max_rows, cfg.train.max_val_rows)[1]


def train_two_tower(d: training_data.TrainingData, group: Group) -> tuple[torch.nn.Module, dict]:
    from dataclasses import replace

    from feedsim.distributed.two_tower import DistributedTwoTower
    from feedsim.retrieval.index import ExactIndex

    cfg = d.cfg.retrieval.two_tower
    if not group.sparse_ok:
        cfg = replace(cfg, sparse=False)
    gen = torch.Generator().manual_seed(d.cfg.seed)
    source = DistributedTwoTower(d.view, cfg, ExactIndex(group.device), gen, group,
                                 d.cfg.seed, group.device)
    start = time.perf_counter()
    source.fit(d.log)                    # sets cfg.torch_threads itself around the training
    seconds = time.perf_counter() - start
    return source.model, {"train_loss": source.train_loss, "seconds": seconds,
                          "samples": source.train_stats.get("samples", 0.0)}


def write(out: Path, what: str, model: torch.nn.Module, report: dict) -> None:
    """Atomic writes of the state dict and the report (rank 0 only)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{what}.pt.tmp"
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, out / f"{what}.pt")
    tmp = out / f".{what}.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, default=float))
    os.replace(tmp, out / f"{what}.json")


def main(argv: list[str] | None = None) -> dict:
    """Run one rank; returns its report (rank 0's is also written)."""
    args = parse(argv)
    if args.run:
        d = training_data.from_run(Path(args.run), args.days)
    else:
        d = training_data.simulated(args.overrides)
    group = init_group(rank_device(d.cfg.device))
    try:
        model, report = (train_ranker if args.what == "ranker" else train_two_tower)(d, group)
        report.update(what=args.what, world_size=group.world_size, backend=group.backend,
                      device=group.device, same_parameters=group.same_parameters(model))
        if group.rank == 0:
            write(Path(args.out), args.what, model, report)
        group.barrier()
    finally:
        group.close()
    return report


def cli(argv: list[str] | None = None) -> None:
    try:
        report = main(argv)
    except (ValueError, RuntimeError) as exc:          # config, data and device errors
        print(f"feedsim.distributed.train: {exc}", file=sys.stderr)
        sys.exit(2)
    if report.get("same_parameters") is False:
        sys.exit("feedsim.distributed.train: ranks ended with different parameters")
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps({k: v for k, v in report.items() if k != "offline"}, default=float))


if __name__ == "__main__":
    cli()
