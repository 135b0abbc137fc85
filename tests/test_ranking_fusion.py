"""The value model's two forms, against hand-computed scores."""
import numpy as np
import pytest

from feedsim.ranking.config import FusionConfig, RankingConfigError
from feedsim.ranking.fusion import Fusion

PREDS = {"watch": np.array([[0.5, 0.2]]), "like": np.array([[0.1, 0.4]]),
         "skip": np.array([[0.3, 0.0]])}


def test_linear_form():
    f = Fusion(FusionConfig(form="linear", weights={"watch": 2.0, "like": 3.0, "skip": -1.0}),
               ["watch", "like", "skip"])
    score, terms = f(PREDS)
    np.testing.assert_allclose(score, [[2 * 0.5 + 0.3 - 0.3, 2 * 0.2 + 1.2]], rtol=1e-6)
    np.testing.assert_allclose(sum(terms.values()), score, rtol=1e-6)


def test_multiplicative_form():
    cfg = FusionConfig(form="multiplicative", weights={"watch": 1.0, "like": 2.0},
                       biases={"watch": 0.0, "like": 0.1})
    score, terms = Fusion(cfg, ["watch", "like", "skip"])(PREDS)
    np.testing.assert_allclose(score, [[0.5 * 0.2 ** 2, 0.2 * 0.5 ** 2]], rtol=1e-6)
    assert set(terms) == {"watch", "like"}


def test_log1p_transform_and_unused_heads():
    cfg = FusionConfig(weights={"watch": 1.0, "follow": 5.0}, transforms={"watch": "log1p"})
    score, terms = Fusion(cfg, ["watch", "like"])(PREDS)     # no follow head: term dropped
    np.testing.assert_allclose(score, np.log1p(PREDS["watch"]), rtol=1e-6)


def test_nan_weight_is_refused():
    with pytest.raises(RankingConfigError, match="fusion.weights.like"):
        Fusion(FusionConfig(weights={"like": float("nan")}), ["like"])
