"""Experiments with honest statistics: A/B arms and designs, per-metric effects with clustered
confidence intervals, off-policy evaluation from logged propensities, and sweep summaries."""
from feedsim.experiment.ab import (ExperimentResult, assign_users, run_paired, run_plan,
                                   run_user_split)
from feedsim.experiment.config import ExperimentConfig, ExperimentError, ExperimentPlan, build_plan
from feedsim.experiment.stats import METRICS, compare, compare_arms

__all__ = [
    "METRICS", "ExperimentConfig", "ExperimentError", "ExperimentPlan", "ExperimentResult",
    "assign_users", "build_plan", "compare", "compare_arms", "run_paired", "run_plan",
    "run_user_split",
]
