"""Stage 1 of 5 (retrieval): the factory that builds the configured sources.

`retrieval.sources` names the sources (each a module of this package); this builds them with
their own config node, their own random stream and the index, hiding CPU versus GPU. A name
that is not a source fails here with the list of valid names.
"""
from __future__ import annotations

from feedsim.logs import SeenHistory, VideoCounters
from feedsim.retrieval.base import RetrievalError, Source
from feedsim.retrieval.config import ALL_SOURCES, RetrievalConfig
from feedsim.retrieval.index import make_index
from feedsim.rng import Streams


def check_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in ALL_SOURCES]
    if unknown:
        raise RetrievalError(f"retrieval.sources: unknown source {unknown[0]!r}; "
                             f"one of {'|'.join(ALL_SOURCES)}")
    if not names:
        raise RetrievalError("retrieval.sources: no source selected")
    if len(set(names)) != len(names):
        raise RetrievalError(f"retrieval.sources: a source is listed twice in {names}")


def build_source(name: str, source_id: int, cfg: RetrievalConfig, view, counters: VideoCounters,
                 streams: Streams, device: str) -> Source:
    """One source by name."""
    if name == "two_tower":
        from feedsim.retrieval.two_tower import TwoTowerSource
        return TwoTowerSource(view, cfg.two_tower, make_index(cfg.index, device),
                              streams.torch("retrieval.two_tower"), device, source_id)
    if name == "mf":
        from feedsim.retrieval.mf import MFSource
        return MFSource(view, cfg.mf, make_index(cfg.index, device),
                        streams.integer_seed("retrieval.mf") % (2**31), device, source_id)
    if name == "item2item":
        from feedsim.retrieval.item2item import Item2ItemSource
        return Item2ItemSource(view, cfg.item2item, source_id)
    if name == "follow":
        from feedsim.retrieval.follow import FollowSource
        return FollowSource(view, cfg.follow, source_id)
    if name == "trending":
        from feedsim.retrieval.trending import TrendingSource
        return TrendingSource(view, counters, cfg.trending, source_id)
    if name == "fresh":
        from feedsim.retrieval.fresh import FreshSource
        return FreshSource(view, counters, cfg.fresh, streams.numpy("retrieval.fresh"), source_id)
    if name == "popular":
        from feedsim.retrieval.popular import PopularSource
        return PopularSource(view, counters, cfg.trending.pool, source_id)
    check_names([name])
    raise AssertionError(name)                               # pragma: no cover


def build_sources(cfg: RetrievalConfig, view, counters: VideoCounters, seed: int,
                  device: str = "cpu", names: list[str] | None = None) -> list[Source]:
    """The sources of `names` (default `cfg.sources`), in order; source_id = position."""
    names = list(cfg.sources if names is None else names)
    check_names(names)
    streams = Streams(seed)
    return [build_source(n, i, cfg, view, counters, streams, device) for i, n in enumerate(names)]


__all__ = ["SeenHistory", "build_sources", "check_names"]
