"""Known answer: a task that depends on one feature only is learned from that feature.

A synthetic batch with two tasks whose labels each hang on a single input: `like` on one dense
feature, `skip` on one categorical field (through a hidden subset of its values); every other
input is noise. The MMoE, trained by the ranker's own loop, must reach a high held-out AUC on
both; shuffling the causal input at test time must bring that task's AUC back to chance while
shuffling any other input leaves it; and a model trained with the causal column shuffled (its
link to the label broken) must stay at chance, so the AUC cannot come from a leak elsewhere.
"""
import numpy as np
import torch

from feedsim.device import torch_threads
from feedsim.metrics.offline import auc
from feedsim.ranking.config import TrainConfig
from feedsim.ranking.heads import Heads
from feedsim.ranking.models import ModelSpec, build_model
from feedsim.ranking.tasks import WatchTarget
from feedsim.ranking.train import Tensors, fit

N_TRAIN, N_TEST, FIELDS, VALUES, DENSE = 12_000, 6_000, 4, 20, 6
LIKE_FEATURE, SKIP_FIELD = 3, 1


def synthetic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cat (n, F) int64 with field f in [f*V, (f+1)*V), dense (n, D) float32, targets (n, 2)."""
    cat = rng.integers(0, VALUES, (n, FIELDS)) + np.arange(FIELDS) * VALUES
    dense = rng.standard_normal((n, DENSE)).astype(np.float32)
    p_like = 1 / (1 + np.exp(-(3.0 * dense[:, LIKE_FEATURE] - 1.0)))
    skippy = (cat[:, SKIP_FIELD] - SKIP_FIELD * VALUES) % 3 == 0      # a hidden third of values
    p_skip = np.where(skippy, 0.7, 0.1)
    y = np.stack([rng.random(n) < p_like, rng.random(n) < p_skip], 1).astype(np.float32)
    return cat, dense, y


def tensors(cat, dense, y) -> Tensors:
    return Tensors(torch.from_numpy(cat), torch.from_numpy(dense),
                   torch.zeros(len(cat), dtype=torch.long), torch.from_numpy(y))


def trained(train: Tensors, val: Tensors, heads: Heads):
    spec = ModelSpec(vocab=FIELDS * VALUES, n_fields=FIELDS, n_dense=DENSE, n_tasks=2,
                     embedding_dim=4, hidden=(16, 8), tower_hidden=8, n_experts=2,
                     position_tower=False)
    model = build_model("mmoe", spec, torch.Generator().manual_seed(0))
    cfg = TrainConfig(batch_size=256, epochs=3, patience=3, lr=0.01, sparse_lr=0.05)
    with torch_threads(1):                       # tiny tensors: threads only add sync cost
        fit(model, heads, train, val, cfg, torch.Generator().manual_seed(1))
    return model


def test_like_and_skip_are_learned_from_their_one_feature():
    rng = np.random.default_rng(0)
    heads = Heads(["like", "skip"], WatchTarget("d2q"), [])
    cat, dense, y = synthetic(rng, N_TRAIN)
    t_cat, t_dense, t_y = synthetic(rng, N_TEST)
    model = trained(tensors(cat, dense, y), tensors(t_cat, t_dense, t_y), heads)

    def aucs(c, d) -> tuple[float, float]:
        with torch.no_grad(), torch_threads(1):
            p = heads.predict(model(torch.from_numpy(c), torch.from_numpy(d)))
        return auc(t_y[:, 0], p["like"].numpy()), auc(t_y[:, 1], p["skip"].numpy())

    like, skip = aucs(t_cat, t_dense)
    assert like > 0.8 and skip > 0.75, (like, skip)          # best possible: ~0.83 and ~0.79
    for j in range(DENSE):                                   # permutation importance, dense
        shuffled = t_dense.copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        s_like, s_skip = aucs(t_cat, shuffled)
        assert (s_like < 0.56) == (j == LIKE_FEATURE), (j, s_like)
        assert s_skip > 0.72, (j, s_skip)
    for f in range(FIELDS):                                  # and categorical
        shuffled = t_cat.copy()
        shuffled[:, f] = rng.permutation(shuffled[:, f])
        s_like, s_skip = aucs(shuffled, t_dense)
        assert (s_skip < 0.56) == (f == SKIP_FIELD), (f, s_skip)
        assert s_like > 0.78, (f, s_like)


def test_a_broken_link_is_not_learned():
    rng = np.random.default_rng(1)
    heads = Heads(["like", "skip"], WatchTarget("d2q"), [])
    train, val = synthetic(rng, N_TRAIN), synthetic(rng, N_TEST)
    for cat, dense, _ in (train, val):            # the label link broken, validation included
        dense[:, LIKE_FEATURE] = rng.permutation(dense[:, LIKE_FEATURE])
        cat[:, SKIP_FIELD] = rng.permutation(cat[:, SKIP_FIELD])
    t_cat, t_dense, t_y = synthetic(rng, N_TEST)
    model = trained(tensors(*train), tensors(*val), heads)
    with torch.no_grad(), torch_threads(1):
        p = heads.predict(model(torch.from_numpy(t_cat), torch.from_numpy(t_dense)))
    # Far below the 0.8 / 0.75 of the real link; not exactly 0.5, since fitting noise leaves a
    # random direction in the dense inputs, which the causal feature is a sixth of.
    assert auc(t_y[:, 0], p["like"].numpy()) < 0.65
    assert abs(auc(t_y[:, 1], p["skip"].numpy()) - 0.5) < 0.08
