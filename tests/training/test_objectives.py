"""Adversarial-training objectives: values and gradients against hand computations on a
tiny network, reductions to ERM, the properties of x* and x', and the robustness
metrics."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advinterp_lib.training import (
    ConsistentAdversarialTraining,
    EnsembleAdversarialTraining,
    FeatureDistanceConsistentTraining,
    FGSMTraining,
    PGDTraining,
    cross_entropy,
    evaluate_robustness,
    train,
    train_with_metrics,
)
from advinterp_lib.training.objectives import (
    feature_distance,
    feature_distance_example,
    targeted_iterative_fgsm,
)


class Tiny(nn.Module):
    """conv(1->3, 3x3) -> ReLU ("relu", the last conv layer) -> linear(48 -> 4), on 1x4x4."""

    last_conv = "relu"

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(48, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.relu(self.conv(x)).flatten(1)))

    def features(self, x: torch.Tensor) -> torch.Tensor:  # the hand-computed phi
        return F.relu(F.conv2d(x, self.conv.weight, self.conv.bias, padding=1)).flatten(1)


def _setup(seed: int = 0, n: int = 8):
    torch.manual_seed(seed)
    model = Tiny()
    x = torch.rand(n, 1, 4, 4)
    y = torch.randint(0, 4, (n,))
    return model, x, y


def _grads(model: nn.Module, loss: torch.Tensor) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, list(model.parameters()), allow_unused=False))


def _input_grad(model, x, y):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
    return g


def _assert_close_lists(a, b, atol=1e-6):
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        torch.testing.assert_close(u, v, atol=atol, rtol=1e-5)


def test_fgsm_training_matches_goodfellow_formula():
    model, x, y = _setup()
    obj = FGSMTraining(eps=0.1, alpha=0.3)
    g = _input_grad(model, x, y)
    x_adv = (x + 0.1 * torch.where(g.abs() > 1e-6, g.sign(), 0.0)).clamp(0, 1)
    hand = 0.3 * F.cross_entropy(model(x), y) + 0.7 * F.cross_entropy(model(x_adv), y)
    ours = obj(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))


def test_pgd_training_is_cross_entropy_on_the_pgd_example():
    model, x, y = _setup(1)
    eps, step, steps = 0.1, 0.04, 3
    x_adv = x.clone()
    for _ in range(steps):  # I-FGSM projected on the eps-cube and [0, 1]
        x_adv = (x + (x_adv + step * _input_grad(model, x_adv, y).sign() - x).clamp(-eps, eps)).clamp(0, 1)
    hand = F.cross_entropy(model(x_adv), y)
    ours = PGDTraining(eps=eps, step_size=step, steps=steps, random_start=False)(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))
    assert ours > F.cross_entropy(model(x), y)


def test_pgd_training_random_start_is_seeded_by_the_global_generator():
    model, x, y = _setup(2)
    obj = PGDTraining(eps=0.1, step_size=0.04, steps=2)
    torch.manual_seed(5)
    a = obj(model, x, y)
    torch.manual_seed(5)
    b = obj(model, x, y)
    torch.manual_seed(6)
    c = obj(model, x, y)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ensemble_training_uses_the_static_models_fgsm_example():
    model, x, y = _setup(3)
    torch.manual_seed(10)
    static = Tiny()
    obj = EnsembleAdversarialTraining({"other": static}, eps=0.1, alpha=0.5, include_self=False)
    g = _input_grad(static, x, y)
    x_adv = (x + 0.1 * torch.where(g.abs() > 1e-6, g.sign(), 0.0)).clamp(0, 1)
    hand = 0.5 * F.cross_entropy(model(x), y) + 0.5 * F.cross_entropy(model(x_adv), y)
    ours = obj(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))
    assert all(p.grad is None for p in static.parameters())  # the static model is never trained
    assert obj.config() == {
        "name": "ensemble",
        "static_models": ["other"],
        "eps": 0.1,
        "alpha": 0.5,
        "include_self": False,
    }


def test_ensemble_training_draws_every_source():
    model, x, y = _setup(4)
    torch.manual_seed(11)
    static = Tiny()
    own = FGSMTraining(eps=0.1)(model, x, y).item()
    other = EnsembleAdversarialTraining((static,), eps=0.1, include_self=False)(model, x, y).item()
    assert own != pytest.approx(other)
    seen = set()
    obj = EnsembleAdversarialTraining((static,), eps=0.1)
    for s in range(20):
        torch.manual_seed(s)
        v = obj(model, x, y).item()
        seen.add("own" if v == pytest.approx(own) else "other" if v == pytest.approx(other) else "?")
    assert seen == {"own", "other"}


def _hand_consistent(model, x, y, *, alpha, beta, eps_step, steps):
    with torch.no_grad():
        target = model(x).argmin(1)  # least likely
    x_star = x.clone()
    for _ in range(steps):
        x_star = (x_star - eps_step * _input_grad(model, x_star, target).sign()).clamp(0, 1)
    feat = (model.features(x) - model.features(x_star)).norm(dim=1).mean()
    loss = alpha * F.cross_entropy(model(x), y) + (1 - alpha) * F.cross_entropy(model(x_star), y) + beta * feat
    return loss, x_star, target


def test_consistent_training_matches_the_papers_loss():
    model, x, y = _setup(5)
    hand, _, _ = _hand_consistent(model, x, y, alpha=0.5, beta=0.1, eps_step=0.02, steps=4)
    ours = ConsistentAdversarialTraining(eps_step=0.02, steps=4)(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))


@pytest.mark.parametrize("alpha,beta", [(0.2, 0.0), (1.0, 0.5), (0.0, 1.0)])
def test_consistent_training_other_weights(alpha, beta):
    model, x, y = _setup(6)
    hand, _, _ = _hand_consistent(model, x, y, alpha=alpha, beta=beta, eps_step=0.03, steps=2)
    ours = ConsistentAdversarialTraining(eps_step=0.03, steps=2, alpha=alpha, beta=beta)(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))


def test_beta_zero_is_the_consistent_loss_minus_its_feature_term():
    # chapter 12's ablation control ("targeted-AT"): same x*, same alpha, no feature term
    model, x, y = _setup(8)
    full = ConsistentAdversarialTraining(eps_step=0.02, steps=4, beta=0.1)
    control = ConsistentAdversarialTraining(eps_step=0.02, steps=4, beta=0.0)
    x_star = full.adversarial_example(model, x, y)
    term = 0.1 * feature_distance(model, x, x_star).mean()
    with_term, without = full(model, x, y), control(model, x, y)
    torch.testing.assert_close(without, with_term - term)
    difference = full(model, x, y) - 0.1 * feature_distance(model, x, x_star).mean()
    _assert_close_lists(_grads(model, control(model, x, y)), _grads(model, difference))
    assert term > 0  # the term is not vacuous on this batch


def test_pgd_training_with_a_clean_term():
    # chapter 12's other control ("mixed-PGD-AT"): alpha * CE(x) + (1 - alpha) * CE(x_pgd)
    model, x, y = _setup(9)
    plain = PGDTraining(eps=0.1, step_size=0.04, steps=3, random_start=False)
    mixed = PGDTraining(eps=0.1, step_size=0.04, steps=3, random_start=False, alpha=0.5)
    hand = 0.5 * F.cross_entropy(model(x), y) + 0.5 * plain(model, x, y)
    ours = mixed(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))
    # Madry et al.'s alpha = 0 keeps its old config (and cache key); alpha > 0 is named
    assert "alpha" not in plain.config() and mixed.config()["alpha"] == 0.5
    with pytest.raises(ValueError):
        PGDTraining(eps=0.1, step_size=0.04, steps=3, alpha=1.5)


def test_alpha_one_beta_zero_is_erm_exactly():
    model, x, y = _setup(7)
    for obj in (
        ConsistentAdversarialTraining(eps_step=0.05, steps=3, alpha=1.0, beta=0.0),
        FGSMTraining(eps=0.1, alpha=1.0),
    ):
        erm = cross_entropy(model, x, y)
        ours = obj(model, x, y)
        assert torch.equal(ours, erm)
        for a, b in zip(_grads(model, ours), _grads(model, erm), strict=True):
            assert torch.equal(a, b)


def test_x_star_is_within_budget_and_moves_toward_the_target():
    torch.manual_seed(8)
    model = Tiny()
    x = torch.rand(64, 1, 4, 4)
    with torch.no_grad():
        target = model(x).argmin(1)
    eps_step, steps = 0.05, 5
    x_star = targeted_iterative_fgsm(model, x, target, eps_step=eps_step, steps=steps)
    assert (x_star - x).abs().max() <= eps_step * steps + 1e-6
    assert x_star.min() >= 0 and x_star.max() <= 1
    with torch.no_grad():
        before = F.cross_entropy(model(x), target, reduction="none")
        after = F.cross_entropy(model(x_star), target, reduction="none")
    assert (after < before).float().mean() > 0.9
    _, hand_star, _ = _hand_consistent(model, x, target, alpha=0.5, beta=0.1, eps_step=eps_step, steps=steps)
    torch.testing.assert_close(x_star, hand_star)


def test_random_targets_differ_from_the_label():
    model, x, y = _setup(9, n=200)
    t = ConsistentAdversarialTraining(eps_step=0.01, steps=1, target="random").targets(model, x, y)
    assert (t != y).all() and set(t.tolist()) == {0, 1, 2, 3}


def test_features_term_is_zero_when_x_star_equals_x():
    model, x, y = _setup(10)
    d = feature_distance(model, x, x.clone())
    assert torch.equal(d, torch.zeros(len(x)))
    grads = torch.autograd.grad(d.sum(), [model.conv.weight, model.conv.bias])
    assert all(torch.isfinite(g).all() and (g == 0).all() for g in grads)
    # eps_step = 0 makes x* == x: the loss is CE(x, y) and its gradient CE's
    obj = ConsistentAdversarialTraining(eps_step=0.0, steps=1, alpha=0.5, beta=0.1)
    ours, erm = obj(model, x, y), cross_entropy(model, x, y)
    torch.testing.assert_close(ours, erm)
    _assert_close_lists(_grads(model, ours), _grads(model, erm))


def test_feature_distance_example_stays_in_budget_and_beats_random_noise():
    torch.manual_seed(12)
    model = Tiny()
    x = torch.rand(32, 1, 4, 4)
    eps = 0.1
    gen = torch.Generator().manual_seed(0)
    x_feat = feature_distance_example(model, x, eps=eps, step_size=0.05, steps=5, generator=gen)
    assert (x_feat - x).abs().max() <= eps + 1e-6 and x_feat.min() >= 0 and x_feat.max() <= 1
    noise = (x + eps * (2 * torch.rand(x.shape, generator=gen) - 1)).clamp(0, 1)
    with torch.no_grad():
        assert feature_distance(model, x, x_feat).mean() > 1.5 * feature_distance(model, x, noise).mean()


def test_feature_distance_variant_uses_x_prime_for_the_consistency_term():
    model, x, y = _setup(13)
    obj = FeatureDistanceConsistentTraining(eps_step=0.02, steps=2, feature_eps=0.05, feature_steps=2)
    torch.manual_seed(0)
    x_prime = obj.consistency_example(model, x, None)
    hand_ce, x_star, _ = _hand_consistent(model, x, y, alpha=0.5, beta=0.0, eps_step=0.02, steps=2)
    hand = hand_ce + 0.1 * (model.features(x) - model.features(x_prime)).norm(dim=1).mean()
    torch.manual_seed(0)
    ours = obj(model, x, y)
    torch.testing.assert_close(ours, hand)
    _assert_close_lists(_grads(model, ours), _grads(model, hand))
    assert obj.config()["name"] == "feature_consistent"


def test_attacks_run_in_eval_mode_and_the_mode_is_restored():
    torch.manual_seed(14)
    model = Tiny(dropout=0.5).train()
    x, y = torch.rand(8, 1, 4, 4), torch.randint(0, 4, (8,))
    seen = []
    handle = model.drop.register_forward_hook(lambda m, a, o: seen.append(m.training))
    try:
        ConsistentAdversarialTraining(eps_step=0.02, steps=2)(model, x, y)
    finally:
        handle.remove()
    # least-likely target, the attack's class count and 2 steps (eval); clean and x* (train)
    assert seen == [False, False, False, False, True, True]
    assert all(m.training for m in model.modules())


def test_configs_are_json_and_objectives_pickle():
    objs = [
        FGSMTraining(eps=0.1),
        PGDTraining(eps=0.1, step_size=0.03, steps=3),
        ConsistentAdversarialTraining(eps_step=0.02, steps=5, target="random"),
        FeatureDistanceConsistentTraining(eps_step=0.02, steps=5),
    ]
    for obj in objs:
        assert json.loads(json.dumps(obj.config())) == obj.config()
        assert pickle.loads(pickle.dumps(obj)) == obj


@pytest.mark.parametrize(
    "make",
    [
        lambda: FGSMTraining(eps=0.1, alpha=1.5),
        lambda: FGSMTraining(eps=2.0),
        lambda: PGDTraining(eps=0.1, step_size=0.01, steps=0),
        lambda: ConsistentAdversarialTraining(eps_step=0.01, steps=1, target="most_likely"),
        lambda: ConsistentAdversarialTraining(eps_step=0.01, steps=1, beta=-1),
        lambda: EnsembleAdversarialTraining((), eps=0.1),
    ],
)
def test_bad_parameters_are_refused(make):
    with pytest.raises((ValueError, TypeError)):
        make()


def _toy_data(n=64):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (n,), generator=g)
    x = (0.3 * torch.rand(n, 1, 4, 4, generator=g) + 0.15 * y.view(-1, 1, 1, 1)).clamp(0, 1)
    return x, y


def test_adversarial_training_resumes_to_the_same_weights(tmp_path):
    x, y = _toy_data()
    obj = PGDTraining(eps=0.05, step_size=0.02, steps=2)
    kwargs = dict(epochs=3, batch_size=16, lr=1e-2, objective=obj, seed=3, progress=False, device="cpu")
    torch.manual_seed(0)
    a = Tiny()
    b = Tiny()
    b.load_state_dict(a.state_dict())
    train(a, x, y, **kwargs)
    train(b, x, y, checkpoint_dir=tmp_path, stop_after_epochs=1, **kwargs)
    train(b, x, y, checkpoint_dir=tmp_path, **kwargs)
    for (k, u), v in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(u, v), k


def test_evaluate_robustness_at_zero_budget_is_clean_accuracy():
    torch.manual_seed(15)
    model = Tiny()
    x, y = _toy_data(40)
    r = evaluate_robustness(model, x, y, fgsm_eps=0.0, pgd_steps=2, topk=(1, 2), batch_size=16)
    assert r["clean"] == r["fgsm"] == r["pgd"]
    assert set(r["clean"]) == {"top1", "top2"}
    r = evaluate_robustness(model, x, y, fgsm_eps=0.3, pgd_steps=5, batch_size=16)
    assert r["pgd"]["top1"] <= r["clean"]["top1"]


def test_train_with_metrics_logs_every_epoch(tmp_path):
    x, y = _toy_data()
    torch.manual_seed(0)
    model = Tiny()
    history, records = train_with_metrics(
        model,
        x,
        y,
        epochs=2,
        eval_images=x[:32],
        eval_labels=y[:32],
        checkpoint_dir=tmp_path,
        fgsm_eps=0.05,
        pgd_steps=2,
        topk=(1, 2),
        batch_size=16,
        lr=1e-2,
        progress=False,
        objective=FGSMTraining(eps=0.05),
        device="cpu",
    )
    saved = json.loads((tmp_path / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in saved] == [1, 2] == [r["epoch"] for r in records]
    assert set(saved[0]) >= {"loss", "clean", "fgsm", "pgd"} and set(saved[0]["pgd"]) == {"top1", "top2"}
    assert len(history) == 2
