"""The configured re-ranking chain on a real PlatformContext, its presets and its config errors."""
from __future__ import annotations

import numpy as np
import pytest

from feedsim.config.compose import load_config
from feedsim.policy.base import Page, eligible
from feedsim.rerank.base import REASON_NAMES
from feedsim.rerank.config import STEP_KINDS, RerankConfig, RerankConfigError
from feedsim.rerank.pipeline import STEPS, Reranker


def _requests(sim, b=64, c=80, seed=0):
    ctx = sim.ctx
    rng = np.random.default_rng(seed)
    users = rng.choice(ctx.view.n_users, size=b, replace=False)
    cands = rng.integers(-1, ctx.view.videos.n, size=(b, c))       # -1 padding, repeats
    score = rng.standard_normal((b, c)).astype(np.float32)
    return users, cands, score, rng.integers(0, 3, (b, c)).astype(np.int16)


@pytest.mark.parametrize("preset", ["default", "dpp", "mmr", "none"])
def test_presets_serve_eligible_pages_on_a_real_context(tiny_logged_sim, preset):
    ctx = tiny_logged_sim.ctx
    cfg = load_config([f"rerank={preset}"]).rerank
    reranker = Reranker(cfg, ctx.page_size)
    reranker.begin_day(ctx)
    # enough candidates that even a heavy user (512 seen in a 1,500-video world) has 6 valid
    users, cands, score, source = _requests(tiny_logged_sim, c=200)
    result = reranker.rerank(reranker.slate(ctx, users, cands, score, source),
                             np.random.default_rng(1))
    page = result.page()
    assert isinstance(page, Page) and page.video_ids.shape == (64, ctx.page_size)
    served = page.video_ids >= 0
    assert served.all()
    ok = eligible(ctx, users, page.video_ids)                     # moderation, repeats, seen
    assert ok.all()
    lang = ctx.view.videos.language[page.video_ids]
    assert ((lang == ctx.view.user_language[users][:, None]) | (lang == 0)).all()
    assert ((page.propensity > 0) & (page.propensity <= 1)).all()
    assert page.extras["explored"].shape == page.video_ids.shape
    assert set(np.unique(result.trace.reason).tolist()) <= set(range(len(REASON_NAMES)))


def test_same_generator_seed_gives_the_same_pages(tiny_logged_sim):
    ctx = tiny_logged_sim.ctx
    reranker = Reranker(RerankConfig(), ctx.page_size)
    reranker.begin_day(ctx)
    slate = reranker.slate(ctx, *_requests(tiny_logged_sim))
    a = reranker.rerank(slate, np.random.default_rng(7))
    b = reranker.rerank(slate, np.random.default_rng(7))
    c = reranker.rerank(slate, np.random.default_rng(8))
    np.testing.assert_array_equal(a.video_ids, b.video_ids)
    np.testing.assert_array_equal(a.propensity, b.propensity)
    assert not np.array_equal(a.video_ids, c.video_ids)


def test_traffic_pools_admit_the_new_videos_of_a_real_world(tiny_logged_sim):
    ctx = tiny_logged_sim.ctx
    reranker = Reranker(RerankConfig(), ctx.page_size)
    reranker.begin_day(ctx)
    pools = reranker.step("traffic_pools").pools
    age = ctx.view.day - ctx.view.videos.upload_day
    assert pools.stage.shape[0] == ctx.view.videos.n
    assert (pools.stage[age > 3] == -1).all()
    assert (pools.stage[age <= 3] >= 0).any()


def test_every_step_name_has_a_class():
    assert set(STEPS) == set(STEP_KINDS)
    for name in STEPS:
        kinds = STEP_KINDS[name]
        steps = ["moderation"] + ([name] if name != "moderation" else [])
        assert Reranker(RerankConfig(steps=steps), 6).steps[-1].name == name, kinds


@pytest.mark.parametrize("override,key", [
    ("rerank.steps=[moderation,shuffle]", "rerank.steps"),
    ("rerank.steps=[seen,dpp]", "rerank.steps"),
    ("rerank.steps=[moderation,epsilon,dpp]", "rerank.steps"),
    ("rerank.dpp.theta=1.5", "rerank.dpp.theta"),
    ("rerank.dpp.theta=-0.1", "rerank.dpp.theta"),
    ("rerank.epsilon.epsilon=2.0", "rerank.epsilon.epsilon"),
    ("rerank.mmr.lam=-1", "rerank.mmr.lam"),
    ("rerank.traffic_pools.sizes=[100,0]", "rerank.traffic_pools.sizes"),
])
def test_bad_config_fails_at_compose_naming_the_key(override, key):
    with pytest.raises(RerankConfigError, match=key.replace(".", r"\.") + ":"):
        load_config([override])


def test_config_edited_after_composition_is_rechecked():
    cfg = RerankConfig()
    cfg.dpp.theta = float("nan")
    with pytest.raises(RerankConfigError, match=r"rerank\.dpp\.theta"):
        Reranker(cfg, 6)
