"""Writing and reading the impression log: one parquet file per simulated day.

Files are written atomically (to a temporary name in the same folder, then renamed), so a
reader never sees a half-written day. Reading validates the schema and turns any unreadable
file into a one-line error naming it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from feedsim.logs.schema import IMPRESSION_SCHEMA, LogSchemaError, check_schema

DAY_FILE = "day_{day:04d}.parquet"


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write a parquet file so that `path` either does not exist or is complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class ImpressionStore:
    """The `impressions/` folder of a run."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, day: int) -> Path:
        return self.root / DAY_FILE.format(day=day)

    def write_day(self, day: int, table: pa.Table) -> Path:
        path = self.path(day)
        atomic_write_table(table, path)
        return path

    def days(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in self.root.glob("day_*.parquet"))

    def read_day(self, day: int, columns: list[str] | None = None) -> pa.Table:
        return read_impressions(self.path(day), columns)

    def read(self, days: list[int] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """The log of the given days (all by default) as one DataFrame."""
        days = self.days() if days is None else days
        tables = [self.read_day(d, columns) for d in days]
        if not tables:
            return IMPRESSION_SCHEMA.empty_table().to_pandas()
        return pa.concat_tables(tables).to_pandas()


def read_impressions(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read and validate one day file; LogSchemaError names the file on any problem."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise LogSchemaError(f"{path}: not a readable parquet file ({exc.__class__.__name__})") from exc
    check_schema(schema, str(path))
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise LogSchemaError(f"{path}: damaged parquet file ({exc.__class__.__name__})") from exc
