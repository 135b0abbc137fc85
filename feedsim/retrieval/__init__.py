"""Stage 1 of 5 of the For You pipeline: candidate retrieval.

Several sources (two_tower, mf, item2item, follow, trending, fresh, and popular as a baseline),
each a module behind `base.Source`, built by `factory.build_sources` from the `retrieval`
config group, fitted on the impression log and merged per request by `retriever.Retriever`
(quotas and filters in `merge`). `index` holds nearest-neighbour search, `evaluate` scores
sources against the ground truth passed in by evaluation code.
"""
from feedsim.retrieval.base import (Candidates, EmptyLogError, NotFittedError, RetrievalError,
                                    Source)

__all__ = ["Candidates", "EmptyLogError", "NotFittedError", "RetrievalError", "Source"]
