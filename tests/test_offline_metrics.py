"""Offline metrics against hand-computed answers."""
import math

import numpy as np
import pytest

from feedsim.metrics.offline import (auc, binary_report, calibration, error_by_duration, gauc,
                                     logloss, normalized_entropy, xauc)


def test_auc_known_answers():
    y = np.array([0, 0, 1, 1])
    assert auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)   # 3 of 4 pairs
    assert auc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5                     # ties count half
    assert math.isnan(auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_gauc_weights_users_by_impressions_and_drops_one_class_users():
    y = np.array([0, 1, 1, 0, 0, 1, 1])
    p = np.array([0.1, 0.9, 0.2, 0.8, 0.5, 0.1, 0.3])
    users = np.array([0, 0, 1, 1, 2, 2, 2])
    # user 0: AUC 1 (2 rows); user 1: AUC 0 (2 rows); user 2: positives 0.1, 0.3 vs 0.5 -> 0 (3)
    assert gauc(y, p, users) == pytest.approx((1 * 2 + 0 * 2 + 0 * 3) / 7)
    assert gauc(y, p, np.array([0, 0, 1, 1, 3, 3, 4])) == pytest.approx(2 / 6)   # user 4 drops


def test_logloss_ne_calibration():
    y = np.array([1, 0, 0, 0])
    p = np.full(4, 0.25)
    assert logloss(y, p) == pytest.approx(-(np.log(0.25) + 3 * np.log(0.75)) / 4)
    assert normalized_entropy(y, p) == pytest.approx(1.0)          # the base rate: NE 1
    assert normalized_entropy(y, np.array([0.9, 0.1, 0.1, 0.1])) < 1.0
    assert calibration(y, np.full(4, 0.5)) == pytest.approx(2.0)
    assert set(binary_report(y, p, np.zeros(4))) == {"auc", "gauc", "logloss", "ne", "calibration"}


def test_xauc_and_duration_error():
    rng = np.random.Generator(np.random.PCG64(0))
    actual = np.arange(100.0)
    assert xauc(actual, actual * 2, rng) == 1.0
    assert xauc(actual, -actual, rng) == 0.0
    err = error_by_duration(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 3.0]),
                            np.array([5.0, 5.0, 100.0]))
    assert err == {"bias_0_7s": pytest.approx(0.5), "bias_60_infs": 0.0}
