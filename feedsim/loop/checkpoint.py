"""Surviving interruption: a checkpoint at the end of every simulated day, and exact resume.

The whole `Simulation` (world state, behaviour and every RNG stream, the platform's counters,
seen history and recent logs, each arm's policy with its torch models and optimiser state, the
regret oracle, metrics rows) is pickled once a day, after that day's impression file and
`metrics.parquet` are on disk. The file holds a short JSON header, then the pickle:

    FEEDSIM-CHECKPOINT\\n | header length (8 bytes) | header JSON | pickle (protocol 5)

The header records the days done (the log offset), the config, the sha256 of every day file
written so far and of the pickle, so a resume checks everything before unpickling anything.
Resuming (`resume=true`) loads the last complete checkpoint, verifies the day files it names,
deletes day files and temporary files written after it (they are rewritten identically), and
continues: a run killed at any moment and resumed gives byte-identical outputs (CPU).
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import os
import pickle
import struct
import types
from pathlib import Path

from feedsim.config.schema import Config
from feedsim.logs.store import DAY_FILE, ImpressionStore

CHECKPOINT = "checkpoint.pkl"
MAGIC = b"FEEDSIM-CHECKPOINT\n"
VERSION = 1
HEADER_KEYS = ("days_done", "config", "logs", "wall_s", "payload_bytes", "payload_sha256")
# Config keys a resume may change: how many days to run, and cosmetics.
RESUMABLE_KEYS = ("loop.days", "loop.progress", "resume", "overwrite")
# Module-level tables of plain functions (some of them lambdas, which pickle cannot name).
FUNCTION_TABLES = (("feedsim.ranking.fusion", "TRANSFORMS"),)


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, damaged, foreign, or does not match the run asked for."""


def _table_entry(module: str, table: str, key: str):
    return getattr(importlib.import_module(module), table)[key]


class _Pickler(pickle.Pickler):
    """Pickles lambdas held in FUNCTION_TABLES by their table and key."""

    def reducer_override(self, obj):
        if type(obj) is types.FunctionType and obj.__name__ == "<lambda>":
            for module, table in FUNCTION_TABLES:
                for key, fn in getattr(importlib.import_module(module), table).items():
                    if fn is obj:
                        return _table_entry, (module, table, key)
        return NotImplemented


def flat_config(cfg: Config) -> dict:
    """The config as {dotted key: value}, without the keys a resume may change."""
    out: dict = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif f"{prefix}{key}" not in RESUMABLE_KEYS:
                out[f"{prefix}{key}"] = value
    walk(dataclasses.asdict(cfg), "")
    return json.loads(json.dumps(out))          # tuples -> lists, as the header stores them


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_atomic(path: Path, chunks: list[bytes]) -> None:
    """Write `chunks` to `path` through a temporary name, fsynced, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Checkpointer:
    """Saves the simulation after each day, keeping the digests of the day files so far."""

    def __init__(self, out_dir: Path, cfg: Config, logs: dict | None = None, wall_s: float = 0.0):
        self.path = Path(out_dir) / CHECKPOINT
        self.config = flat_config(cfg)
        self.logs: dict[str, str] = dict(logs or {})
        self.wall_s = wall_s                 # run time spent before this process

    def save(self, sim, wall_s: float) -> None:
        """Checkpoint `sim` after its last day; `wall_s`: this process's run time so far."""
        days_done = sim.world.day
        if sim.ctx.store is not None:
            day = days_done - 1
            self.logs[str(day)] = file_digest(sim.ctx.store.path(day))
        buf = io.BytesIO()
        _Pickler(buf, protocol=5).dump(sim)
        payload = buf.getbuffer()
        header = json.dumps({
            "version": VERSION, "days_done": days_done, "config": self.config,
            "logs": self.logs, "wall_s": self.wall_s + wall_s,
            "payload_bytes": payload.nbytes,
            "payload_sha256": hashlib.sha256(payload).hexdigest()}).encode()
        write_atomic(self.path, [MAGIC, struct.pack(">Q", len(header)), header, payload])


def read_header(path: Path) -> tuple[dict, int]:
    """The header of a checkpoint file and the offset of its pickle; CheckpointError if bad."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(MAGIC))
            if magic != MAGIC:
                raise CheckpointError(f"{path}: not a feedsim checkpoint")
            (size,) = struct.unpack(">Q", f.read(8))
            header = json.loads(f.read(min(size, 1 << 26)))
            offset = len(MAGIC) + 8 + size
    except (OSError, ValueError, struct.error) as exc:
        raise CheckpointError(f"{path}: damaged checkpoint header "
                              f"({exc.__class__.__name__})") from exc
    if not isinstance(header, dict) or header.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version "
                              f"{header.get('version') if isinstance(header, dict) else '?'}"
                              f" is not {VERSION}")
    missing = [k for k in HEADER_KEYS if k not in header]
    if missing:
        raise CheckpointError(f"{path}: checkpoint header lacks {', '.join(missing)}")
    if os.path.getsize(path) != offset + header["payload_bytes"]:
        raise CheckpointError(f"{path}: truncated or damaged checkpoint (size does not match)")
    return header, offset


def _check_config(path: Path, header: dict, cfg: Config) -> None:
    saved, wanted = header["config"], flat_config(cfg)
    for key in sorted(set(saved) | set(wanted)):
        if saved.get(key) != wanted.get(key):
            raise CheckpointError(
                f"{path}: the checkpoint was made with {key}={saved.get(key)!r}, this run asks "
                f"for {wanted.get(key)!r}; only loop.days may change on resume")
    if header["days_done"] > cfg.loop.days:
        raise CheckpointError(f"{path}: the checkpoint is at day {header['days_done']}, beyond "
                              f"loop.days={cfg.loop.days}")


def _check_logs(out_dir: Path, header: dict) -> None:
    for day, digest in sorted(header["logs"].items(), key=lambda kv: int(kv[0])):
        day_file = out_dir / "impressions" / DAY_FILE.format(day=int(day))
        if not day_file.exists():
            raise CheckpointError(f"{day_file}: missing, but the checkpoint says it was written")
        if file_digest(day_file) != digest:
            raise CheckpointError(f"{day_file}: differs from the file the checkpoint recorded "
                                  "(damaged or replaced); refusing to resume over it")


def check_resume(out_dir: Path, cfg: Config) -> dict:
    """Verify, without changing anything, that `out_dir` can be resumed as `cfg`. The header."""
    path = Path(out_dir) / CHECKPOINT
    if not path.exists():
        raise CheckpointError(f"{out_dir}: no {CHECKPOINT} to resume from (run without "
                              "resume=true to start a new run)")
    header, offset = read_header(path)
    with open(path, "rb") as f:
        f.seek(offset)
        if hashlib.sha256(f.read()).hexdigest() != header["payload_sha256"]:
            raise CheckpointError(f"{path}: damaged checkpoint (checksum does not match)")
    _check_config(path, header, cfg)
    _check_logs(Path(out_dir), header)
    return header


def _discard_after(out_dir: Path, days_done: int) -> None:
    """Delete day files from after the checkpoint and temporary files of killed writes."""
    for folder in (out_dir, out_dir / "impressions"):
        for tmp in folder.glob(".*.tmp*"):
            tmp.unlink()
    for day_file in (out_dir / "impressions").glob("day_*.parquet"):
        if int(day_file.stem.split("_")[1]) >= days_done:
            day_file.unlink()


def resume(out_dir: Path, cfg: Config):
    """(Simulation, Checkpointer) continuing the run in `out_dir` from its checkpoint."""
    out_dir = Path(out_dir)
    header = check_resume(out_dir, cfg)
    _discard_after(out_dir, header["days_done"])
    with open(out_dir / CHECKPOINT, "rb") as f:
        f.seek(read_header(out_dir / CHECKPOINT)[1])
        try:
            sim = pickle.load(f)
        except Exception as exc:                     # noqa: BLE001 - any unpickling failure
            raise CheckpointError(f"{out_dir / CHECKPOINT}: cannot be loaded by this feedsim "
                                  f"({exc.__class__.__name__}: {exc})") from exc
    sim.cfg, sim.out_dir = cfg, out_dir
    if sim.ctx.store is not None:
        sim.ctx.store = ImpressionStore(out_dir / "impressions")
    return sim, Checkpointer(out_dir, cfg, header["logs"], header["wall_s"])


def discard_stale(out_dir: Path) -> None:
    """A fresh run (overwrite=true) must not leave an older run's checkpoint behind."""
    (Path(out_dir) / CHECKPOINT).unlink(missing_ok=True)
