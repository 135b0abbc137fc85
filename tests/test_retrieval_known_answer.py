"""Known-answer worlds for retrieval: well separated clusters, crafted logs, and cold start.

Users and videos fall into clusters; every video's observable content (hashtag, sound, creator)
names its cluster, and the crafted log shows users watching their own cluster's videos to the
end and skipping the rest. Learned sources must retrieve the user's own cluster, and the
two-tower must place never-shown uploads of the user's cluster by content alone.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from feedsim.logs import ImpressionBatch, SeenHistory, VideoCounters
from feedsim.retrieval.config import RetrievalConfig
from feedsim.retrieval.retriever import Retriever

CLUSTERS, USERS_PER, VIDEOS_PER, NEW_PER = 4, 30, 60, 10


class FakeFollows:
    def following(self, user_ids):
        return np.zeros(len(user_ids) + 1, np.int64), np.zeros(0, np.int64)


class FakeView(SimpleNamespace):
    """The observable columns a PlatformView exposes, for a crafted world."""


def cluster_view(n_new_per: int = 0) -> FakeView:
    """Videos 0..C*VIDEOS_PER-1 (shown), then n_new_per uploads per cluster (never shown)."""
    old = np.repeat(np.arange(CLUSTERS), VIDEOS_PER)
    new = np.repeat(np.arange(CLUSTERS), n_new_per)
    cluster = np.concatenate([old, new])
    n = cluster.size
    creators_per = 3
    videos = SimpleNamespace(
        n=n, creator=(cluster * creators_per + np.arange(n) % creators_per).astype(np.int32),
        tags=np.stack([cluster, np.full(n, -1)], axis=1).astype(np.int16),
        sound=(cluster * 5 + np.arange(n) % 5).astype(np.int32),
        duration_s=np.full(n, 10.0, np.float32), language=np.zeros(n, np.int8),
        upload_day=np.where(np.arange(n) < old.size, 0, 3).astype(np.int32),
        moderated=np.zeros(n, bool))
    n_users = CLUSTERS * USERS_PER
    return FakeView(videos=videos, follows=FakeFollows(), n_users=n_users,
                    n_creators=CLUSTERS * creators_per, n_tags=CLUSTERS, n_sounds=CLUSTERS * 5,
                    markets=("US",), user_market=np.zeros(n_users, np.int8),
                    user_language=np.zeros(n_users, np.int8), user_device=np.zeros(n_users, np.int8),
                    user_account_age_days=np.full(n_users, 100, np.int32),
                    creator_followers=np.full(CLUSTERS * creators_per, 100),
                    creator_language=np.zeros(CLUSTERS * creators_per, np.int8),
                    creator_market=np.zeros(CLUSTERS * creators_per, np.int8), day=3,
                    cluster=cluster, user_cluster=np.repeat(np.arange(CLUSTERS), USERS_PER))


def cluster_log(view: FakeView, per_user: int = 40, seed: int = 0) -> ImpressionBatch:
    """Each user sees random shown videos: own cluster watched fully (and liked), others skipped."""
    rng = np.random.default_rng(seed)
    shown = CLUSTERS * VIDEOS_PER
    users = np.repeat(np.arange(view.n_users), per_user)
    own = rng.random(users.size) < 0.6
    pick_own = view.user_cluster[users] * VIDEOS_PER + rng.integers(0, VIDEOS_PER, users.size)
    videos = np.where(own, pick_own, rng.integers(0, shown, users.size))
    match = view.cluster[videos] == view.user_cluster[users]
    n = users.size
    z = np.zeros(n, bool)
    return ImpressionBatch(
        day=np.full(n, 2, np.int32), request_id=np.arange(n), user_id=users.astype(np.int32),
        video_id=videos.astype(np.int32), position=np.zeros(n, np.int8),
        session_index=np.zeros(n, np.int32), hour=np.zeros(n, np.int8),
        watch_s=np.where(match, 10.0, 0.5).astype(np.float32),
        duration_s=np.full(n, 10.0, np.float32), like=match & (rng.random(n) < 0.3),
        comment=z, share=z, follow=z, hate=z, arm=np.zeros(n, np.int16),
        source=np.zeros(n, np.int16), propensity=np.ones(n, np.float32),
        score=np.full(n, np.nan, np.float32))


def fitted(view: FakeView, names: list[str], **tt) -> Retriever:
    cfg = RetrievalConfig(total_candidates=40, sources=names, filter_by="none")
    cfg.two_tower.dim, cfg.two_tower.batch_size, cfg.two_tower.epochs = 16, 256, 8
    for key, value in tt.items():
        setattr(cfg.two_tower, key, value)
    cfg.mf.factors, cfg.mf.iterations = 8, 10
    ctx = SimpleNamespace(view=view, counters=VideoCounters(view.videos.n),
                          seen=SeenHistory(view.n_users, 4), training_log=lambda days: None)
    return Retriever(cfg, ctx, seed=3).fit(cluster_log(view))


@pytest.mark.parametrize("name", ["two_tower", "mf", "item2item"])
def test_learned_sources_retrieve_the_users_own_cluster(name):
    view = cluster_view()
    retriever = fitted(view, [name])
    users = np.arange(view.n_users)
    cands = retriever.retrieve_source(name, users, 30, filtered=False)           # (U, 30)
    real = cands.video_ids >= 0
    own = view.cluster[np.maximum(cands.video_ids, 0)] == view.user_cluster[users][:, None]
    assert real.mean() > 0.9
    assert (own & real).sum() / real.sum() > 0.95


def test_two_tower_cold_start_places_new_uploads_by_content():
    view = cluster_view(n_new_per=NEW_PER)
    source = fitted(view, ["two_tower"]).source("two_tower")
    new = np.arange(CLUSTERS * VIDEOS_PER, view.videos.n)
    users = np.arange(view.n_users)
    assert not source.known[new[new < source.known.size]].any()                  # never shown
    scores = (source.user_vectors(users) @ source.video_vectors(new).T).numpy()  # (U, N)
    best = new[np.argsort(-scores, axis=1)[:, :NEW_PER]]                         # (U, NEW_PER)
    own = view.cluster[best] == view.user_cluster[users][:, None]
    assert own.mean() > 0.9
    cands = source.retrieve(users, VIDEOS_PER + NEW_PER)          # through the index
    got_new = np.isin(cands.video_ids, new) & own_cluster(view, cands.video_ids, users)
    assert got_new.sum(axis=1).mean() >= NEW_PER / 2


def own_cluster(view, video_ids, users):
    return view.cluster[np.maximum(video_ids, 0)] == view.user_cluster[users][:, None]


def test_two_tower_fit_is_deterministic_given_the_seed():
    view = cluster_view()
    a = fitted(view, ["two_tower"], epochs=1).source("two_tower")
    b = fitted(view, ["two_tower"], epochs=1).source("two_tower")
    users = np.arange(10)
    assert np.array_equal(a.user_vectors(users).numpy(), b.user_vectors(users).numpy())
