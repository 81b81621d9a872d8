"""The black-box surrogate attack: exact query counts, the augmentation step, results."""

import json
import math

import pytest
import torch
from torch import nn

from advinterp_lib.attacks.blackbox import LabelOracle, blackbox_attack, jacobian_augmentation
from advinterp_lib.attacks.fgsm import fgsm


def _linear(seed: int, classes: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(36, classes))


def _mlp(classes: int = 4) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(), nn.Linear(16, classes))


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


# --- the oracle -----------------------------------------------------------------------------


def test_the_oracle_counts_every_image_and_returns_only_labels():
    model = _linear(0)
    oracle = LabelOracle(model, batch_size=4)
    x = _images(11, 1)
    labels = oracle(x)
    assert oracle.queries == 11
    assert labels.dtype == torch.int64 and labels.shape == (11,)
    with torch.no_grad():
        assert torch.equal(labels, model(x).argmax(1))
    oracle(x[:3])
    oracle(x[:1])
    assert oracle.queries == 15
    bad = x[:2].clone()
    bad[0, 0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        oracle(bad)
    assert oracle.queries == 15  # a refused question costs nothing
    with pytest.raises(TypeError, match="nn.Module"):
        LabelOracle("resnet")


# --- Jacobian-based augmentation: closed form on a softmax-linear model -----------------------


def test_augmentation_steps_along_the_sign_of_the_log_probability_gradient():
    model = _linear(2)
    w = model[1].weight.detach()  # [K, 36]
    x = _images(5, 3) * 0.5 + 0.25  # away from the box edges
    y = torch.tensor([0, 1, 2, 3, 0])
    with torch.no_grad():
        p = model(x).softmax(1)
    grad = (w[y] - p @ w).view(5, 1, 6, 6)  # d log p_y / dx = w_y - sum_k p_k w_k
    got = jacobian_augmentation(model, x, y, 0.1)
    assert torch.allclose(got, (x + 0.1 * grad.sign()).clamp(0, 1), atol=1e-6)
    back = jacobian_augmentation(model, x, y, -0.1)
    assert torch.allclose(back, (x - 0.1 * grad.sign()).clamp(0, 1), atol=1e-6)
    edge = jacobian_augmentation(model, torch.ones(5, 1, 6, 6), y, 0.5)
    assert edge.min() >= 0 and edge.max() <= 1
    with pytest.raises(ValueError, match="step"):
        jacobian_augmentation(model, x, y, 2.0)


# --- the attack end to end -------------------------------------------------------------------


def _run(**kw):
    oracle = _linear(0)
    params = dict(make_surrogate=_mlp, rounds=3, epochs=2, batch_size=8, lr=1e-2, progress=False)
    params.update(kw)
    eval_x = _images(40, 5)
    with torch.no_grad():
        eval_y = oracle(eval_x).argmax(1)  # the oracle is right on all of them
    return oracle, blackbox_attack(oracle, _images(10, 4), eval_x, eval_y, **params)


def test_queries_per_round_are_exact_and_each_training_image_is_labelled_once():
    oracle, result = _run()
    table = result.table()
    assert table["new_queries"] == [10, 10, 20]  # the set doubles: |S0| * 2^(r-1) new images
    assert table["queries"] == [10, 20, 40] and result.queries == 40
    assert table["training_size"] == [10, 20, 40]
    assert result.images.shape == (40, 1, 6, 6) and result.labels.shape == (40,)
    with torch.no_grad():  # the attacker's labels are the oracle's, one query per image
        assert torch.equal(result.labels, oracle(result.images).argmax(1))
    assert torch.equal(result.images[:10], _images(10, 4))
    json.dumps(table)  # plain JSON types
    for row in result.rounds:
        for f in (
            "agreement",
            "surrogate_accuracy",
            "oracle_accuracy",
            "oracle_adv_accuracy",
            "surrogate_success",
            "transfer_success",
        ):
            assert 0.0 <= getattr(row, f) <= 1.0
        assert row.oracle_accuracy == 1.0
        assert row.transfer_success == pytest.approx(1 - row.oracle_adv_accuracy)


def test_a_cap_on_new_images_caps_the_queries_and_the_step_can_alternate():
    _, result = _run(rounds=4, max_new_per_round=6, flip_every=2)
    assert result.table()["new_queries"] == [10, 6, 6, 6]
    assert result.queries == 28 == result.images.shape[0]
    assert result.table()["step"] == [0.1, 0.1, -0.1, -0.1]


def test_the_run_is_deterministic_given_the_seed():
    _, a = _run(seed=3, max_new_per_round=6)
    _, b = _run(seed=3, max_new_per_round=6)
    assert torch.equal(a.images, b.images) and a.table() == b.table()


def test_the_attack_strategy_is_used_and_the_oracle_is_left_as_it_was():
    seen = []

    def attack(model, x, y):
        seen.append(x.shape[0])
        return fgsm(model, x, y, eps=0.1)

    oracle = _linear(0).train()
    eval_x = _images(40, 5)
    before = [p.detach().clone() for p in oracle.parameters()]
    blackbox_attack(
        oracle,
        _images(10, 4),
        eval_x,
        torch.zeros(40, dtype=torch.int64),
        make_surrogate=_mlp,
        rounds=2,
        epochs=1,
        attack=attack,
        progress=False,
    )
    assert seen == [40, 40]
    assert oracle.training and all(torch.equal(p, q) for p, q in zip(oracle.parameters(), before, strict=True))


def test_bad_input_is_refused():
    oracle, x, y = _linear(0), _images(10, 4), torch.zeros(10, dtype=torch.int64)
    with pytest.raises(ValueError, match="rounds"):
        blackbox_attack(oracle, x, x, y, make_surrogate=_mlp, rounds=0)
    with pytest.raises(ValueError, match="step"):
        blackbox_attack(oracle, x, x, y, make_surrogate=_mlp, step=-0.1)
    with pytest.raises(ValueError, match=r"eval_labels must be class indices in \[0, 4\)"):
        blackbox_attack(oracle, x, x, y + 4, make_surrogate=_mlp)
    with pytest.raises(ValueError, match="4 classes"):
        blackbox_attack(oracle, x, x, y, make_surrogate=lambda: _mlp(classes=3))
    nan = x.clone()
    nan[1, 0, 2, 2] = math.nan
    with pytest.raises(ValueError, match="seed_images contains NaN"):
        blackbox_attack(oracle, nan, x, y, make_surrogate=_mlp)


def test_the_substitute_network_has_papernots_shape_and_no_shared_or_inplace_relus():
    from advinterp_lib.attacks.blackbox import substitute_cnn

    net = substitute_cnn()
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    widths = [m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)]
    hidden = [m.out_features for m in net.modules() if isinstance(m, nn.Linear)]
    assert widths == [32, 64] and hidden == [200, 200, 10]
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    assert len({id(m) for m in relus}) == len(relus) == 4 and not any(m.inplace for m in relus)
    assert substitute_cnn(4, 3, 32, width=8, hidden=16)(torch.rand(2, 3, 32, 32)).shape == (2, 4)
