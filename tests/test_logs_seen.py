"""The seen filter's membership agrees with a plain per-user set, ring wrap-around included."""
import numpy as np
from hypothesis import given, settings, strategies as st

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


def test_contains_is_stable_across_calls_and_old_checkpoints_load():
    """Repeated calls (the bitmap is cleared after each row) give the same answer; a
    checkpoint pickled before `max_video` (with a scratch bitmap) loads and answers alike."""
    import pickle
    rng = np.random.default_rng(7)
    n_users, window, n_videos = 9, 6, 300
    seen = SeenHistory(n_users, window)
    for _ in range(5):
        users = rng.choice(n_users, 4, replace=False)
        seen.add(users, rng.integers(0, n_videos, (4, 3)), np.ones((4, 3), dtype=bool))
    assert seen.max_video == seen.ring.max()
    users = rng.permutation(n_users)
    for _ in range(3):
        cands = rng.integers(0, n_videos + 50, (n_users, 50))
        rings = [set(seen.ring[u][seen.ring[u] >= 0].tolist()) for u in users]
        expected = np.array([[c in ring for c in row] for ring, row in zip(rings, cands)])
        assert (seen.contains(users, cands) == expected).all()
    old = {k: v for k, v in seen.__dict__.items() if k != "max_video"}
    old["_bitmap"] = np.zeros(0, dtype=bool)
    restored = SeenHistory.__new__(SeenHistory)
    restored.__setstate__(pickle.loads(pickle.dumps(old)))
    assert restored.max_video == seen.max_video
    assert (restored.contains(users, cands) == expected).all()
