"""Stage 4 of 5: re-ranking. Diversity (DPP, MMR), page rules, filters and exploration.

The For You policy builds a `feedsim.rerank.pipeline.Reranker` from `cfg.rerank` and calls
`Reranker.rerank` on a `Slate` (the calling sequence is in `feedsim.rerank.pipeline`). Nothing is
imported here: `feedsim.config.schema` imports `feedsim.rerank.config`, and this package's
modules import the policy interface, which imports the config.
"""
