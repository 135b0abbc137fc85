"""Counter-based draws: the compiled scalar draws and the numpy blocks agree bit for bit,
and the numbers are uniform, normal and independent across rows, slots and channels."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from feedsim.behavior import draws

KEY = np.uint64(0xDEADBEEF12345678)


def test_scalar_draws_equal_the_numpy_blocks():
    rows = np.array([0, 1, 5, 4095, 123_456_789])
    block = draws.uniform_block(KEY, rows, 12, np.arange(draws.NORMAL))   # (8, 5, 12)
    normals = draws.normal_block(KEY, rows, 12)                             # (5, 12)
    for c in range(draws.NORMAL):
        for i, row in enumerate(rows):
            for k in (0, 3, 11):
                assert draws.uniform(KEY, row, k, c) == block[c, i, k]
    for i, row in enumerate(rows):
        got = [draws.normal(KEY, row, k, *draws.NORMAL_TABLES) for k in range(12)]
        np.testing.assert_allclose(got, normals[i], rtol=1e-6, atol=1e-6)


def test_scalar_draws_also_agree_as_plain_python():
    """The compiled functions and their Python source (the path without numba) agree."""
    uniform = getattr(draws.uniform, "py_func", draws.uniform)
    normal = getattr(draws.normal, "py_func", draws.normal)
    with np.errstate(over="ignore"):
        assert uniform(KEY, 17, 3, 2) == draws.uniform(KEY, 17, 3, 2)
        assert abs(normal(KEY, 17, 3, *draws.NORMAL_TABLES)
                   - draws.normal(KEY, 17, 3, *draws.NORMAL_TABLES)) < 1e-6


def test_uniforms_are_uniform_and_independent():
    block = draws.uniform_block(KEY, np.arange(20_000), 6, np.arange(draws.NORMAL))
    flat = block.reshape(draws.NORMAL, -1)                                 # (8, 120 000)
    assert flat.min() >= 0.0 and flat.max() < 1.0
    assert stats.kstest(flat[0], "uniform").pvalue > 1e-3
    assert stats.kstest(flat[5], "uniform").pvalue > 1e-3
    corr = np.corrcoef(flat)                                               # channels
    assert np.abs(corr - np.eye(draws.NORMAL)).max() < 0.02
    by_slot = block[0]                                                     # (rows, slots)
    assert np.abs(np.corrcoef(by_slot.T) - np.eye(6)).max() < 0.03
    neighbours = np.corrcoef(by_slot[:-1, 0], by_slot[1:, 0])[0, 1]       # adjacent rows
    assert abs(neighbours) < 0.03


def test_normals_are_standard_normal():
    z = draws.normal_block(KEY, np.arange(30_000), 8).ravel()
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert np.abs(z).max() < 5.5                                           # the 24-bit tail
    assert abs(np.mean(np.abs(z) > 2.5) / (2 * stats.norm.sf(2.5)) - 1) < 0.1   # tails


def test_quantiles_match_scipy_in_the_table_and_in_the_tails():
    p = np.unique([np.linspace(1e-7, 0.02, 3001), np.linspace(0.02, 0.98, 3001),
                        np.linspace(0.98, 1 - 1e-7, 3001)])
    got = np.array([draws.quantile(x, *draws.NORMAL_TABLES) for x in p])
    np.testing.assert_allclose(got, stats.norm.ppf(p), atol=3e-5, rtol=0)
    assert got[0] < -5.0 and got[-1] > 5.0 and np.all(np.diff(got) > 0)       # monotone


@pytest.mark.parametrize("other", [KEY + np.uint64(1), np.uint64(0)])
def test_another_key_draws_other_numbers(other):
    a = draws.uniform_block(KEY, np.arange(1000), 6, [0])
    b = draws.uniform_block(other, np.arange(1000), 6, [0])
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.05


def test_page_key_comes_from_the_generator():
    assert draws.page_key(np.random.default_rng(3)) == draws.page_key(np.random.default_rng(3))
    assert draws.page_key(np.random.default_rng(3)) != draws.page_key(np.random.default_rng(4))
    assert isinstance(draws.page_key(np.random.default_rng(3)), np.uint64)
