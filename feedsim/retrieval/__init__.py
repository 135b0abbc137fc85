"""retrieval stage of the For You pipeline."""
