"""The platform's video counters: sparse sums over a small batch equal the catalogue-wide ones."""
import numpy as np
import pytest

import feedsim.logs.counters as counters_module
from feedsim.logs import VideoCounters


def replay(log, n_videos: int, batch: int) -> VideoCounters:
    counters = VideoCounters(n_videos, 1.0)
    for start in range(0, len(log), batch):
        counters.observe(log.select(slice(start, start + batch)))
    return counters


@pytest.mark.parametrize("batch", [7, 500])
def test_sparse_and_dense_sums_are_bit_identical(tiny_logged_sim, monkeypatch, batch):
    log = tiny_logged_sim.ctx.recent_logs[1]
    n = tiny_logged_sim.ctx.view.videos.n
    monkeypatch.setattr(counters_module, "SPARSE_BELOW", 0)          # always sparse
    sparse = replay(log, n, batch)
    monkeypatch.setattr(counters_module, "SPARSE_BELOW", 10**9)      # always dense
    dense = replay(log, n, batch)
    for name in counters_module.COUNTS:
        assert np.array_equal(sparse.total[name], dense.total[name]), name
        assert np.array_equal(sparse.recent[name], dense.recent[name]), name
    assert dense.total["impressions"].sum() == len(log) > 0
    watched = np.bincount(log.video_id, weights=log.watch_s, minlength=n)
    np.testing.assert_allclose(dense.total["watch_s"], watched, rtol=1e-9)
