"""Streaming ranker updates: they change the ranker within the day, deterministically, and id
embeddings are admitted after `min_count` impressions and freed after `expire_days`."""
import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import tiny_config
from feedsim.policy.base import PlatformContext
from feedsim.ranking.ranker import Ranker
from feedsim.ranking.streaming import IdTable, StreamingUpdater

MIN_COUNT = 4
STREAM = ("ranking.streaming.enabled=true", "ranking.streaming.every_requests=300",
          f"ranking.streaming.min_count={MIN_COUNT}", "ranking.streaming.window=2000")


def _setup(sim, *overrides):
    """A ranker fitted on days 0-1 and an updater whose platform has seen only those days."""
    cfg = tiny_config("ranking.train.epochs=1", *STREAM, *overrides).ranking
    logs = sim.ctx.recent_logs
    ctx = PlatformContext(sim.ctx.view, sim.ctx.counters, sim.ctx.seen, None,
                          sim.ctx.page_size, {d: logs[d] for d in (0, 1)})
    ranker = Ranker(cfg, ctx.view, "cpu", seed=0)
    updater = StreamingUpdater(cfg.streaming, ranker, ctx, seed=7)
    for d in (0, 1):                             # the days before: counted, no ranker to update
        _stream(updater, logs[d])
    ranker.fit(ctx.training_log(2), ctx.counters.daily_decay)
    return ranker, updater, logs[2]


def _stream(updater, day_log, pages_per_batch=60):
    """Feed a day's log in request order, a few dozen pages per batch, as the day loop does."""
    updater.ready(int(day_log.day[0]))
    step = np.unique(day_log.request_id)[::pages_per_batch]
    part = np.searchsorted(step, day_log.request_id, side="right")
    for p in np.unique(part):
        updater.observe(day_log.select(part == p))


def _state(ranker):
    return {k: v.clone() for k, v in ranker.model.state_dict().items()}


def _default_row(updater, name):
    return updater.ranker.model.embedding.weight[updater._rows(name)[1]]


@pytest.fixture(scope="module")
def streamed(tiny_logged_sim):
    """Day 2 streamed through an updater: the states before and after, read-only for tests."""
    ranker, updater, day_log = _setup(tiny_logged_sim)
    fitted = _state(ranker)
    updater.ready(2)                             # ties the fitted model's unadmitted rows
    tied, counts_before = _state(ranker), updater.ids["video"].count.copy()
    _stream(updater, day_log)
    updater.update()                             # a last update on the newest rows
    return dict(ranker=ranker, updater=updater, day_log=day_log, fitted=fitted, tied=tied,
                counts_before=counts_before, after=_state(ranker))


def test_updates_change_the_ranker_deterministically(tiny_logged_sim, streamed):
    assert streamed["updater"].stats["updates"] >= 3
    before, after = streamed["tied"], streamed["after"]
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert "embedding.weight" in changed and len(changed) > 3
    again, updater2, day_log = _setup(tiny_logged_sim)
    _stream(updater2, day_log)
    updater2.update()
    assert all(torch.equal(after[k], v) for k, v in _state(again).items())


def test_updates_read_the_counters_the_ranker_serves_with(tiny_logged_sim):
    """Two identical fitted rankers stream the same day; one reads daily (day-start) counters.
    Only the updater's training rows differ, so the updated models must differ."""
    live, daily = _setup(tiny_logged_sim), _setup(tiny_logged_sim)
    assert all(torch.equal(v, _state(daily[0])[k]) for k, v in _state(live[0]).items())
    daily[0].cfg = replace(daily[0].cfg, counter_freshness="daily")
    for ranker, updater, day_log in (live, daily):
        _stream(updater, day_log)
        assert updater.stats["updates"] >= 3
    a, b = _state(live[0]), _state(daily[0])
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_ids_share_the_default_row_until_admitted(streamed):
    updater, day_log = streamed["updater"], streamed["day_log"]
    offset, default_row = updater._rows("video")
    vocab = updater.ranker.encoder.sizes["video"] - 1
    for state, count in ((streamed["tied"], streamed["counts_before"]),
                         (streamed["after"], updater.ids["video"].count)):
        weight, count = state["embedding.weight"], count[:vocab]
        rare = offset + np.flatnonzero(count < MIN_COUNT)
        assert rare.size > 10
        assert torch.equal(weight[rare], weight[default_row].expand(rare.size, -1))
    fitted, tied = streamed["fitted"]["embedding.weight"], streamed["tied"]["embedding.weight"]
    common = offset + np.flatnonzero(streamed["counts_before"][:vocab] >= MIN_COUNT)
    assert common.size > 10 and torch.equal(fitted[common], tied[common])
    in_window = np.zeros(vocab + 1, bool)
    in_window[day_log.video_id[-updater.cfg.window:]] = True
    trained = offset + np.flatnonzero((count >= MIN_COUNT) & in_window[:vocab])
    assert trained.size > 10
    weight = streamed["after"]["embedding.weight"]
    assert bool((weight[trained] != weight[default_row]).any(1).all())


def test_training_routes_unadmitted_ids_to_the_default_row(streamed):
    updater = StreamingUpdater(streamed["updater"].cfg, streamed["ranker"],
                               streamed["updater"].ctx, seed=7)
    offset, default = updater._rows("user")
    updater.ids["user"].count[5] = MIN_COUNT
    cat = torch.zeros((3, 14), dtype=torch.long)
    cat[:, 0] = offset + torch.tensor([5, 6, 7])             # FIELDS[0] == "user"
    routed = updater._route_to_default(cat)
    assert routed[:, 0].tolist() == [offset + 5, default, default]


def test_expired_rows_return_to_the_default(streamed):
    ranker = copy.deepcopy(streamed["ranker"])
    cfg = replace(streamed["updater"].cfg, expire_days=0.5)
    updater = StreamingUpdater(cfg, ranker, streamed["updater"].ctx, seed=7)
    day_log = streamed["day_log"]
    updater.ids["user"].observe(day_log.user_id.astype(np.int64), clock=2.0)
    updater.day, updater.today = 5, [day_log]                # three idle days later
    updater.update()
    assert updater.stats["freed"] > 0 and (updater.ids["user"].count == 0).all()
    offset, _ = updater._rows("user")
    rows = ranker.model.embedding.weight[offset:offset + ranker.view.n_users]
    assert torch.equal(rows, _default_row(updater, "user").expand_as(rows))


def test_inactive_ids_expire():
    table = IdTable(4)
    table.observe(np.array([0, 0, 1, 2, 2, 2]), clock=1.0)
    table.observe(np.array([2]), clock=6.5)
    assert table.expire(clock=6.4, expire_days=5.5) == 0
    assert table.expire(clock=7.6, expire_days=5.5) == 2       # ids 0 and 1, not 2
    assert table.count.tolist() == [0, 0, 4, 0]
    assert table.admitted(1).tolist() == [False, False, True, False]


@pytest.mark.parametrize("override, key", [
    ("ranking.streaming.every_requests=0", "ranking.streaming.every_requests"),
    ("ranking.streaming.expire_days=-1", "ranking.streaming.expire_days"),
])
def test_bad_streaming_config_names_the_key(override, key):
    with pytest.raises(Exception, match=key):
        tiny_config(override)


def test_scores_after_an_update_use_the_updated_weights(tiny_logged_sim):
    """The ranker's per-day item table (ranking/item_cache.py) is dropped by every update, so
    cached scoring matches scoring from scratch with the updated weights."""
    ranker, updater, day_log = _setup(tiny_logged_sim)
    ctx = updater.ctx
    users = np.arange(6)
    cand = np.arange(6 * 8).reshape(6, 8)
    args = (users, cand, np.zeros(6), np.zeros(6), 2, ctx.counters.recent)
    updater.ready(2)
    before = ranker.score(*args).score
    _stream(updater, day_log)
    assert updater.stats["updates"] > 0 and ranker.item_cache.table is None
    after = ranker.score(*args).score
    ranker.item_cache.max_bytes = 0                              # the uncached path
    np.testing.assert_allclose(after, ranker.score(*args).score, rtol=2e-5, atol=1e-6)
    assert not np.allclose(before, after)
