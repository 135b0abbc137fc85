"""Measurement: platform and ecosystem metrics (online) and, later, model metrics (offline)."""
from feedsim.metrics.online import day_metrics, gini, rates

__all__ = ["day_metrics", "gini", "rates"]
