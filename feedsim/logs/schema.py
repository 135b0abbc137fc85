"""The impression log: one row per video a user actually reached on a served page.

This is the platform's memory and the only training data of every learned model. The schema is
fixed and validated on read, so a foreign or damaged file fails with a message naming it.
Column meanings are documented in README.md ("Log schema").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

ACTION_COLUMNS = ("like", "comment", "share", "follow", "hate")

IMPRESSION_SCHEMA = pa.schema([
    ("day", pa.int32()),
    ("request_id", pa.int64()),
    ("user_id", pa.int32()),
    ("video_id", pa.int32()),
    ("position", pa.int8()),          # slot on the page, 0-based
    ("session_index", pa.int32()),    # how many videos the user had watched in the session before
    ("hour", pa.int8()),
    ("watch_s", pa.float32()),
    ("duration_s", pa.float32()),
    ("like", pa.bool_()),
    ("comment", pa.bool_()),
    ("share", pa.bool_()),
    ("follow", pa.bool_()),
    ("hate", pa.bool_()),
    ("arm", pa.string()),
    ("source", pa.string()),          # which retrieval source or baseline produced the video
    ("propensity", pa.float32()),     # P(serving policy put this video in this slot)
    ("score", pa.float32()),          # the policy's rank score for the video (NaN if none)
])


@dataclass
class ImpressionBatch:
    """Columns of a batch of impressions, flat arrays of equal length N."""
    day: np.ndarray
    request_id: np.ndarray
    user_id: np.ndarray
    video_id: np.ndarray
    position: np.ndarray
    session_index: np.ndarray
    hour: np.ndarray
    watch_s: np.ndarray
    duration_s: np.ndarray
    like: np.ndarray
    comment: np.ndarray
    share: np.ndarray
    follow: np.ndarray
    hate: np.ndarray
    arm: np.ndarray        # int16 index into the arm names
    source: np.ndarray     # int16 index into the source names
    propensity: np.ndarray
    score: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)   # extra float32 columns

    def __len__(self) -> int:
        return int(self.user_id.shape[0])

    @classmethod
    def concat(cls, batches: list["ImpressionBatch"]) -> "ImpressionBatch":
        """One batch of all rows; an extra column missing from some batches is NaN there."""
        cols = {name: np.concatenate([getattr(b, name) for b in batches]) for name in CORE}
        names = sorted({k for b in batches for k in b.extras})
        extras = {k: np.concatenate([b.extras.get(k, np.full(len(b), np.nan, np.float32))
                                     for b in batches]) for k in names}
        return cls(**cols, extras=extras)

    def select(self, mask: np.ndarray) -> "ImpressionBatch":
        return ImpressionBatch(**{name: getattr(self, name)[mask] for name in CORE},
                               extras={k: v[mask] for k, v in self.extras.items()})

    def to_table(self, arm_names: tuple[str, ...], source_names: tuple[str, ...]) -> pa.Table:
        """A pyarrow table in IMPRESSION_SCHEMA order and types."""
        cols = {}
        for field in IMPRESSION_SCHEMA:
            value = getattr(self, field.name)
            if field.name == "arm":
                value = np.asarray(arm_names, dtype=object)[value]
            elif field.name == "source":
                value = np.asarray(source_names, dtype=object)[value]
            cols[field.name] = pa.array(value, type=field.type)
        schema = IMPRESSION_SCHEMA
        for name in sorted(self.extras):
            cols[name] = pa.array(self.extras[name], type=pa.float32())
            schema = schema.append(pa.field(name, pa.float32()))
        return pa.table(cols, schema=schema)


CORE = tuple(f.name for f in IMPRESSION_SCHEMA)


class LogSchemaError(ValueError):
    """A log file whose columns or types are not the impression schema."""


def check_schema(schema: pa.Schema, path: str) -> None:
    """Raise LogSchemaError naming the file and the first missing or mistyped column."""
    for field in IMPRESSION_SCHEMA:
        idx = schema.get_field_index(field.name)
        if idx < 0:
            raise LogSchemaError(f"{path}: missing column {field.name!r}")
        if not schema.field(idx).type.equals(field.type):
            raise LogSchemaError(f"{path}: column {field.name!r} has type "
                                 f"{schema.field(idx).type}, expected {field.type}")
