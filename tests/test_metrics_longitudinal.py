"""Metrics across days (time to a view milestone, filter bubble) and trend capture by day part,
on hand-made logs whose answers are known, and their presence in a run's daily metrics."""
import numpy as np
import pytest

from feedsim.config.compose import load_config
from feedsim.config.validate import ConfigError, validate_config
from feedsim.logs.schema import ImpressionBatch
from feedsim.metrics.ecosystem import EcosystemView, by_day_part, ecosystem_metrics
from feedsim.metrics.longitudinal import Longitudinal


def batch(day, request_id, user, video) -> ImpressionBatch:
    n = len(video)
    zeros, false = np.zeros(n, np.float32), np.zeros(n, bool)
    return ImpressionBatch(
        day=np.full(n, day, np.int32), request_id=np.asarray(request_id, np.int64),
        user_id=np.asarray(user, np.int32), video_id=np.asarray(video, np.int32),
        position=np.zeros(n, np.int8), session_index=np.zeros(n, np.int32),
        hour=np.zeros(n, np.int8), watch_s=zeros + 5, duration_s=zeros + 10, like=false,
        comment=false, share=false, follow=false, hate=false, arm=np.zeros(n, np.int16),
        source=np.zeros(n, np.int16), propensity=zeros + 1, score=zeros)


def eco(day, upload_day, topic, trending=None) -> EcosystemView:
    v = len(upload_day)
    return EcosystemView(creator=np.zeros(v, np.int64), upload_day=np.asarray(upload_day),
                         day=day, small_creator=np.zeros(1, bool),
                         trending=np.zeros(v, bool) if trending is None else trending,
                         topic=np.asarray(topic))


def test_time_to_milestone_and_share_within_the_window():
    upload = [0, 1, 1]                       # videos 1 and 2 are uploaded on day 1
    track = Longitudinal(n_arms=1, n_users=10, milestone=3)
    # day 1: video 1 gets 2 views, video 0 crosses 3 views (not new: no time metric for it)
    m1 = track.day_metrics(0, batch(1, [0, 1, 2, 3], [0, 1, 2, 3], [1, 1, 0, 0]),
                           eco(1, upload, [0, 0, 0]), 3)
    assert "new_video_days_to_milestone" not in m1 and "new_video_milestone_share" not in m1
    track.day_metrics(0, batch(1, [4], [4], [0]), eco(1, upload, [0, 0, 0]), 3)
    # day 2: requests 10..19; video 1's third view comes with request 15 (half the day)
    m2 = track.day_metrics(0, batch(2, [10, 15, 19], [5, 6, 7], [2, 1, 1]),
                           eco(2, upload, [0, 0, 0]), 3)
    assert m2["new_video_days_to_milestone"] == pytest.approx(2.5 - 1.0)
    # day 3: the day-1 cohort has had its 3 days: one of its two videos got there
    m3 = track.day_metrics(0, batch(3, [20], [8], [0]), eco(3, upload, [0, 0, 0]), 3)
    assert m3["new_video_milestone_share"] == pytest.approx(0.5)
    assert "new_video_days_to_milestone" not in m3


def test_arms_count_views_separately():
    track = Longitudinal(n_arms=2, n_users=4, milestone=2)
    view = eco(1, [1], [0])
    track.day_metrics(0, batch(1, [0], [0], [0]), view, 1)
    m = track.day_metrics(1, batch(1, [1], [1], [0]), view, 1)
    assert "new_video_days_to_milestone" not in m            # one view in each arm, not two


def test_filter_bubble_is_the_relative_loss_of_topic_entropy():
    topic = np.array([0, 1, 2, 3])
    track = Longitudinal(n_arms=1, n_users=3, milestone=100)
    first = batch(0, range(8), [0, 0, 0, 0, 1, 1, 1, 1], [0, 1, 2, 3, 0, 1, 2, 3])
    assert "filter_bubble" not in track.day_metrics(0, first, eco(0, [0] * 4, topic), 4)
    # user 0 narrows to one topic (ratio 0), user 1 keeps all four (ratio 1), user 2 is new
    later = batch(1, range(10), [0, 0, 1, 1, 1, 1, 2, 2, 2, 2], [2, 2, 0, 1, 2, 3, 0, 0, 1, 1])
    m = track.day_metrics(0, later, eco(1, [0] * 4, topic), 4)
    assert m["filter_bubble"] == pytest.approx(0.5)


def test_trend_capture_by_quarter_of_the_day():
    request = np.arange(8) + 100
    trending = np.array([0, 0, 1, 1, 0, 1, 1, 1], bool)
    assert by_day_part(trending, request, 4).tolist() == [0.0, 1.0, 0.5, 1.0]
    video = np.arange(8)
    m = ecosystem_metrics(batch(0, request, np.zeros(8), video),
                          eco(0, np.zeros(8, int), np.zeros(8, int), trending))
    assert [m[f"trend_capture_q{q}"] for q in (1, 2, 3, 4)] == [0.0, 1.0, 0.5, 1.0]
    assert m["trend_capture"] == pytest.approx(5 / 8)


def test_a_run_records_the_new_metrics(tiny_logged_sim):
    frame = tiny_logged_sim.metrics_frame()
    names = set(frame.metric)
    assert {f"trend_capture_q{q}" for q in (1, 2, 3, 4)} <= names
    bubble = frame[frame.metric == "filter_bubble"]
    assert sorted(bubble.day) == [1, 2] and (bubble.value <= 1).all()    # < 0: widening
    assert np.isfinite(bubble.value).all()


def test_a_non_positive_milestone_names_its_key():
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(["world=tiny", "loop.views_milestone_per_user=0"]))
    assert str(err.value).startswith("loop.views_milestone_per_user")


def test_topic_entropy_and_novelty_have_their_known_answers():
    from feedsim.metrics.ecosystem import user_topic_entropy
    users = np.array([7, 7, 7, 7, 2, 2, 900], dtype=np.int32)        # sparse ids, any order
    topics = np.array([0, 1, 0, 1, 3, 3, 5], dtype=np.int16)
    # user 7: two topics equally (1 bit); user 2: one topic (0); user 900: one topic (0)
    assert user_topic_entropy(users, topics) == pytest.approx(1 / 3)
    video = np.array([0, 0, 0, 1])                     # shares 3/4 and 1/4, one row of 1/4
    n = 4
    eco = EcosystemView(day=1, creator=np.zeros(2, np.int64), small_creator=np.zeros(1, bool),
                        upload_day=np.zeros(2), trending=np.zeros(2, bool),
                        topic=np.zeros(2, np.int16))
    out = ecosystem_metrics(batch(1, np.arange(n), np.arange(n), video), eco)
    assert out["novelty"] == pytest.approx(-(3 * np.log2(0.75) + np.log2(0.25)) / 4)
