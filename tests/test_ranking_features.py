"""Ranking features are computed as of serving time: no row sees itself or a later row."""
import numpy as np
import pytest

from feedsim.logs import VideoCounters
from feedsim.ranking.asof import VIDEO_COUNTS, asof_sums, follows_asof
from feedsim.ranking.features import FeatureEncoder, training_rows
from feedsim.ranking.history import UserHistory, asof_user_stats


def test_asof_sums_hand_example():
    keys = np.array([7, 7, 7, 3, 7])
    clock = np.array([1, 1, 2, 2, 5])
    values = np.array([[1.0], [10.0], [100.0], [5.0], [1000.0]])
    # rows of key 7 at clock 1 see nothing; clock 2 sees 11; clock 5 sees 111; key 3 sees 0
    assert asof_sums(keys, clock, values)[:, 0].tolist() == [0, 0, 11, 0, 111]


def counters_after_days_0_and_1(ctx) -> VideoCounters:
    """The platform's video counters replayed from the logs of days 0 and 1."""
    replay = VideoCounters(ctx.view.videos.n, 1.0)
    replay.daily_decay = ctx.counters.daily_decay
    for d in (0, 1):
        replay.observe(ctx.recent_logs[d])
        replay.end_day()
    return replay


def test_video_counters_match_what_serving_saw(tiny_logged_sim):
    """Rows of the first request of day 2 see exactly the counters after days 0 and 1."""
    ctx = tiny_logged_sim.ctx
    log = ctx.training_log(7)
    replay = counters_after_days_0_and_1(ctx)
    rows = training_rows(log, ctx.view, ctx.counters.daily_decay)
    first = np.flatnonzero(log.request_id == log.request_id[log.day == 2].min())
    expect = np.stack([replay.recent[n][log.video_id[first]] for n in VIDEO_COUNTS], 1)
    np.testing.assert_allclose(rows.video_counts[first], expect, rtol=1e-9, atol=1e-9)
    assert expect[:, 0].sum() > 0                                # the check is not vacuous


def test_daily_freshness_sees_the_day_start_snapshot_all_day(tiny_logged_sim):
    """counter_freshness=daily: every row of day 2, early or late, sees the counters after
    days 0 and 1, which live rows see only at the day's first request."""
    ctx = tiny_logged_sim.ctx
    log = ctx.training_log(7)
    replay = counters_after_days_0_and_1(ctx)
    daily = training_rows(log, ctx.view, ctx.counters.daily_decay, "daily")
    live = training_rows(log, ctx.view, ctx.counters.daily_decay, "live")
    day2 = np.flatnonzero(log.day == 2)
    expect = np.stack([replay.recent[n][log.video_id[day2]] for n in VIDEO_COUNTS], 1)
    np.testing.assert_allclose(daily.video_counts[day2], expect, rtol=1e-9, atol=1e-9)
    late = day2[log.request_id[day2] > np.quantile(log.request_id[day2], 0.5)]
    assert (live.video_counts[late, 0] > daily.video_counts[late, 0]).mean() > 0.5


def test_future_outcomes_do_not_change_features(tiny_logged_sim):
    ctx = tiny_logged_sim.ctx
    log = ctx.training_log(7)
    cut = np.quantile(log.request_id, 0.6)
    before = training_rows(log, ctx.view, ctx.counters.daily_decay)
    future = log.request_id >= cut
    log2 = log.select(np.ones(len(log), bool))
    log2.watch_s = np.where(future, 0.0, log.watch_s).astype(np.float32)
    log2.like = np.where(future, ~log.like, log.like)
    after = training_rows(log2, ctx.view, ctx.counters.daily_decay)
    enc = FeatureEncoder(ctx.view)
    d1, d2 = enc.dense(before), enc.dense(after)
    past = ~future
    np.testing.assert_array_equal(d1[past], d2[past])
    assert not np.array_equal(d1[future], d2[future])            # the change is visible later


def test_daily_history_matches_training_asof(tiny_logged_sim):
    ctx = tiny_logged_sim.ctx
    log = ctx.training_log(7)
    stats = asof_user_stats(log, ctx.view)
    day2 = log.day == 2
    served = UserHistory(ctx.view, log.select(log.day < 2)).lookup(log.user_id[day2],
                                                                   log.video_id[day2])
    for name in ("user", "creator", "sound", "tags"):
        np.testing.assert_allclose(getattr(stats, name)[day2], getattr(served, name))
    assert stats.user[day2][:, 0].sum() > 0


def test_follow_made_on_a_day_is_not_a_feature_that_day(tiny_logged_sim):
    ctx = tiny_logged_sim.ctx
    log = ctx.training_log(7)
    creator = ctx.view.videos.creator[log.video_id]
    now = np.ones(len(log), bool)                          # pretend everything is followed now
    asof = follows_asof(log, now, creator, ctx.view.n_creators)
    assert log.follow.any()
    assert not asof[log.follow].any()                      # the followed row never sees it


def test_sparse_sums_hand_example():
    """Sums by key; absent, negative and empty-table keys read as zeros, in any shape."""
    from feedsim.ranking.history import SparseSums

    sums = SparseSums(np.array([5, 9, 5, -1]), np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 20.0],
                                                         [7.0, 7.0]]))
    got = sums.lookup(np.array([[5, 6], [-1, 9]]))
    assert got.tolist() == [[[11.0, 22.0], [0.0, 0.0]], [[0.0, 0.0], [3.0, 4.0]]]
    empty = SparseSums(np.empty(0, np.int64), np.zeros((0, 3)))
    assert empty.lookup(np.array([0, 4])).tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize("few", [0, 10**9])
def test_sparse_sums_hash_and_binary_search_lookups_agree(monkeypatch, few):
    """A lookup of a few keys binary-searches, of many goes through the hash index: both
    read the same sums (keys above, below and between the stored ones included)."""
    from feedsim.ranking import history
    rng = np.random.default_rng(0)
    keys = rng.integers(-1, 500, 300)
    values = rng.random((300, 3))
    sums = history.SparseSums(keys, values)
    want = np.zeros((502, 3))
    np.add.at(want, keys[keys >= 0], values[keys >= 0])
    asked = rng.integers(-3, 501, (40, 7))
    monkeypatch.setattr(history, "FEW_KEYS", few)
    got = sums.lookup(asked)
    np.testing.assert_array_equal(got, np.where((asked >= 0)[..., None], want[asked], 0.0))


def test_per_request_encoding_equals_row_by_row(tiny_logged_sim):
    """Serving builds the request-level columns once per request and repeats them: the
    arrays are those of encoding every candidate row on its own, bit for bit."""
    from feedsim.ranking.features import REQUEST_DENSE, REQUEST_FIELDS, serving_rows

    ctx = tiny_logged_sim.ctx
    log = ctx.training_log(7)
    enc = FeatureEncoder(ctx.view)
    enc.dense(training_rows(log, ctx.view, ctx.counters.daily_decay))         # fit the scaling
    rng = np.random.default_rng(0)
    users = rng.choice(ctx.view.n_users, 40, replace=False)
    cands = rng.integers(-1, ctx.view.videos.n, (40, 24))                     # -1 pads too
    rows = serving_rows(ctx.view, ctx.counters.recent, UserHistory(ctx.view, log), users, cands,
                        rng.integers(0, 24, 40), rng.integers(0, 90, 40), 3)
    cat1, dense1 = enc.encode(rows)
    cat24, dense24 = enc.encode(rows, per_request=24)
    assert np.array_equal(cat1, cat24)
    assert np.array_equal(dense1, dense24, equal_nan=True)
    per_request = dense1[:, :REQUEST_DENSE].reshape(40, 24, -1)
    assert (per_request == per_request[:, :1]).all()                          # truly per request
    assert len(np.unique(cat1[:, :REQUEST_FIELDS], axis=0)) == 40


def test_sparse_sums_survive_pickling_and_old_checkpoints():
    """The hash index is rebuilt on loading, also for a checkpoint written before it existed
    (no index, no trailing absent row)."""
    import pickle

    from feedsim.ranking.history import SparseSums

    sums = SparseSums(np.array([5, 9]), np.array([[1.0], [3.0]]))
    again = pickle.loads(pickle.dumps(sums))
    assert again.lookup(np.array([9, 4])).tolist() == [[3.0], [0.0]]
    old = SparseSums.__new__(SparseSums)
    old.__setstate__({"keys": np.array([5, 9]), "values": np.array([[1.0], [3.0]])})
    assert old.lookup(np.array([4, 5])).tolist() == [[0.0], [1.0]]
