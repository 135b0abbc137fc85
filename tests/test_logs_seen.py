"""The seen filter's membership agrees with a plain per-user set, ring wrap-around included."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import feedsim.logs.seen as seen_module
from feedsim.logs.seen import SeenHistory


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), window=st.integers(1, 8), pages=st.integers(1, 12))
def test_contains_matches_a_set_of_the_last_window_served(seed, window, pages):
    rng = np.random.default_rng(seed)
    n_users, n_videos = 5, 40
    seen = SeenHistory(n_users, window)
    history = [[] for _ in range(n_users)]
    for _ in range(pages):
        users = rng.choice(n_users, 3, replace=False)
        videos = rng.integers(0, n_videos, (3, 4))
        served = rng.random((3, 4)) < 0.7
        seen.add(users, videos, served)
        for u, row, ok in zip(users, videos, served):
            history[u].extend(row[ok].tolist())
    users = np.arange(n_users)
    cands = rng.integers(0, n_videos + 5, (n_users, 10))      # ids above any served one too
    expected = np.array([[c in set(history[u][-window:]) for c in cands[u]] for u in users])
    assert (seen.contains(users, cands) == expected).all()


@pytest.mark.parametrize("cells, min_rows", [(1 << 20, 16), (100, 2), (10, 1)])
def test_contains_is_the_same_in_chunks_and_leaves_the_bitmap_clear(monkeypatch, cells, min_rows):
    """Rows answered in several chunks, or a catalogue wider than the bitmap budget (which
    then grows), give the one-chunk answer; repeated calls see no cell left set."""
    monkeypatch.setattr(seen_module, "BITMAP_CELLS", cells)
    monkeypatch.setattr(seen_module, "MIN_ROWS", min_rows)
    rng = np.random.default_rng(7)
    n_users, window, n_videos = 9, 6, 300
    seen = SeenHistory(n_users, window)
    for _ in range(5):
        users = rng.choice(n_users, 4, replace=False)
        seen.add(users, rng.integers(0, n_videos, (4, 3)), np.ones((4, 3), dtype=bool))
    users = rng.permutation(n_users)
    for _ in range(3):
        cands = rng.integers(0, n_videos, (n_users, 50))
        rings = [set(seen.ring[u][seen.ring[u] >= 0].tolist()) for u in users]
        expected = np.array([[c in ring for c in row] for ring, row in zip(rings, cands)])
        assert (seen.contains(users, cands) == expected).all()
    assert not seen._bitmap.any()
