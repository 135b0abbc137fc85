"""The platform's memory: the impression log, counters derived from it, and the seen filter."""
from feedsim.logs.counters import VideoCounters
from feedsim.logs.schema import IMPRESSION_SCHEMA, ImpressionBatch, LogSchemaError
from feedsim.logs.seen import SeenHistory
from feedsim.logs.store import ImpressionStore, read_impressions

__all__ = ["IMPRESSION_SCHEMA", "ImpressionBatch", "ImpressionStore", "LogSchemaError",
           "SeenHistory", "VideoCounters", "read_impressions"]
