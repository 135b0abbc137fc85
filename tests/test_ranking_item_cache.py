"""The item table: a candidate's categorical part of the first layers, looked up per video per
day, gives the same predictions as computing it, and is rebuilt whenever it could go stale."""
import pickle

import numpy as np
import pytest
import torch

from conftest import tiny_config
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.ranker import Ranker


@pytest.mark.parametrize("model", ["single_task", "shared_bottom", "mmoe"])
def test_item_rows_forward_equals_the_full_forward(model):
    spec = ModelSpec(vocab=80, n_fields=5, n_dense=6, n_tasks=3, hidden=(16, 8),
                     tower_hidden=4, request_fields=2, request_dense=3)
    net = build_model(model, spec, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    b, c, n_items = 5, 7, 11
    items = torch.randint(0, 80, (n_items, 3), generator=gen)       # each item's 3 fields
    chosen = torch.randint(0, n_items, (b * c,), generator=gen)     # (N,) item per row
    request = torch.randint(0, 80, (b, 2), generator=gen)
    cat = torch.cat([request.repeat_interleave(c, 0), items[chosen]], dim=1)     # (N, 5)
    dense = torch.randn(b * c, 6, generator=gen)
    dense[:, :3] = torch.randn(b, 3, generator=gen).repeat_interleave(c, 0)
    with torch.no_grad():
        full = net(cat, dense)
        table = net.item_table(items)                                # (n_items, W)
        looked_up = net(request, dense, per_request=c, item=table[chosen])
    assert table.shape == (n_items, sum(layer.weight.shape[0] * layer.weight.shape[2]
                                        for layer in net.input_layers()))
    torch.testing.assert_close(looked_up, full, rtol=1e-5, atol=1e-5)
    with torch.no_grad():                        # another item's row changes its candidates
        moved = net(request, dense, per_request=c, item=table[(chosen + 1) % n_items])
    assert not torch.allclose(moved, full)


def _ranker(sim, *overrides):
    cfg = tiny_config("ranking.train.epochs=1", *overrides).ranking
    ranker = Ranker(cfg, sim.ctx.view, "cpu", seed=0)
    ranker.fit(sim.ctx.training_log(7), sim.ctx.counters.daily_decay)
    return ranker


def _score(ranker, sim, day=3, users=12, per_request=9):
    cand = (np.arange(users * per_request) * 7 % sim.ctx.view.videos.n).reshape(users, -1)
    return ranker.score(np.arange(users), cand, np.arange(users) % 24, np.arange(users) % 5,
                        day, sim.ctx.counters.recent)


def test_cached_scores_equal_uncached_and_the_table_is_built_once_a_day(tiny_logged_sim):
    sim = tiny_logged_sim
    cached = _ranker(sim)
    plain = _ranker(sim, "ranking.item_cache_mb=0")
    for task, pred in _score(cached, sim).preds.items():
        np.testing.assert_allclose(pred, _score(plain, sim).preds[task], rtol=2e-5, atol=1e-6)
    assert cached.item_cache.builds == 1 and plain.item_cache.builds == 0
    _score(cached, sim, users=5)
    assert cached.item_cache.builds == 1                       # same model, same day
    _score(cached, sim, day=4)
    assert cached.item_cache.builds == 2                       # the age buckets moved on


def test_the_three_serving_paths_agree_including_the_whole_row_path_cuda_takes(tiny_logged_sim):
    """Item table (CPU default), request split (CPU without a table) and whole rows (what
    device=cuda serves, launch-bound rather than flops-bound) score alike on the same rows."""
    from feedsim.ranking.features import serving_rows
    sim = tiny_logged_sim
    ranker = _ranker(sim)
    users, per_request = np.arange(10), 8
    cand = (np.arange(80) * 5 % sim.ctx.view.videos.n).reshape(10, per_request)
    rows = serving_rows(sim.ctx.view, sim.ctx.counters.recent, ranker.history, users, cand,
                        users % 24, users % 3, 3)
    by_table = ranker._cached_predict(rows, per_request, 3)
    split, whole = ranker.predict(rows, per_request), ranker.predict(rows, per_request, False)
    for task, pred in whole.items():
        np.testing.assert_allclose(by_table[task], pred, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(split[task], pred, rtol=2e-5, atol=1e-6)


def test_the_table_follows_every_change_of_the_model(tiny_logged_sim):
    sim = tiny_logged_sim
    ranker = _ranker(sim)
    before = _score(ranker, sim).score
    ranker.fit(sim.ctx.training_log(7), sim.ctx.counters.daily_decay)    # a new model
    assert ranker.item_cache.table is None
    with torch.no_grad():                     # as a streaming update does, then invalidates
        ranker.model.embedding.weight.mul_(3.0)
    ranker.item_cache.invalidate()
    after = _score(ranker, sim).score
    plain = _ranker(sim, "ranking.item_cache_mb=0")
    with torch.no_grad():
        plain.model.embedding.weight.mul_(3.0)
    np.testing.assert_allclose(after, _score(plain, sim).score, rtol=2e-5, atol=1e-6)
    assert not np.allclose(before, after)


def test_a_table_over_the_cap_falls_back_and_checkpoints_leave_it_out(tiny_logged_sim):
    sim = tiny_logged_sim
    ranker = _ranker(sim)
    _score(ranker, sim)
    assert ranker.item_cache.table is not None
    restored = pickle.loads(pickle.dumps(ranker.item_cache))
    assert restored.table is None and restored.builds == ranker.item_cache.builds
    tiny = _ranker(sim, "ranking.item_cache_mb=0.001")          # 1 KiB: no table fits
    _score(tiny, sim)
    assert tiny.item_cache.builds == 0 and tiny.item_cache.table is None
    ple = _ranker(sim, "ranking=ple")                           # no split first layer
    _score(ple, sim)
    assert ple.item_cache.builds == 0
    with pytest.raises(ValueError, match="PLE"):                # item rows asked of it anyway
        ple.model(torch.zeros((1, 6), dtype=torch.long), torch.zeros((4, 32)), per_request=4,
                  item=torch.zeros((4, 8)))


def test_a_table_that_no_longer_fits_is_dropped_not_kept(tiny_logged_sim):
    sim = tiny_logged_sim
    ranker = _ranker(sim)
    _score(ranker, sim)
    assert ranker.item_cache.table is not None
    ranker.item_cache.max_bytes = 1                  # as if the catalogue outgrew the cap
    _score(ranker, sim, day=4)
    assert ranker.item_cache.table is None and ranker.item_cache.builds == 1


def test_the_memory_estimate_counts_a_table_only_where_one_is_built():
    from feedsim.world.memory import item_table_bytes
    assert item_table_bytes(tiny_config(), 1000) > 0
    assert item_table_bytes(tiny_config("ranking=ple"), 1000) == 0
    assert item_table_bytes(tiny_config("device=cuda"), 1000) == 0
    assert item_table_bytes(tiny_config("ranking.item_cache_mb=0.001"), 10**6) <= 0.001 * 2**20


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_a_bad_cap_is_refused_naming_the_key(value):
    with pytest.raises(Exception, match="ranking.item_cache_mb"):
        tiny_config(f"ranking.item_cache_mb={value}")
