"""rerank stage of the For You pipeline."""
