"""ranking stage of the For You pipeline."""
