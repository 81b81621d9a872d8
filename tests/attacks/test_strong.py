"""The strong evaluation: on a linear classifier the exact L-inf robustness of every
image is known in closed form, and the cascade must find it; its stages only ever
lower the robust accuracy; it restores the model and leaves the inputs alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advinterp_lib.attacks import fgsm, pgd
from advinterp_lib.attacks.strong import STAGES, strong_attack


def linear_model(seed: int = 0, classes: int = 10, d: int = 36) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d, classes)).eval()


def exact_linf_robust(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Closed form for a linear classifier f(x) = Wx + b when the box [0, 1] does not bind:
    x is robust iff it is classified correctly and, for every other class k,
    (w_y - w_k) . x + (b_y - b_k) > eps * ||w_y - w_k||_1."""
    lin = model[1]
    w, b = lin.weight.detach(), lin.bias.detach()
    flat = x.flatten(1)
    wy, by = w[y], b[y]
    margin = (wy[:, None, :] - w[None]).mul(flat[:, None, :]).sum(-1) + (by[:, None] - b[None])  # [N, K]
    reach = eps * (wy[:, None, :] - w[None]).abs().sum(-1)
    other = torch.ones_like(margin, dtype=torch.bool)
    other[torch.arange(len(y)), y] = False
    return ((margin > reach) | ~other).all(1)


def test_finds_exactly_the_non_robust_images_of_a_linear_model() -> None:
    model = linear_model()
    g = torch.Generator().manual_seed(3)
    x = 0.3 + 0.4 * torch.rand(400, 1, 6, 6, generator=g)  # eps never reaches the box
    with torch.no_grad():
        y = model(x).argmax(1)  # all correct: robustness is about the margin alone
    eps = 0.1  # about the median of the images' exact minimal budgets
    exact = exact_linf_robust(model, x, y, eps)
    assert 0.1 < exact.float().mean() < 0.9, "the case should have robust and non-robust images"
    result = strong_attack(model, x, y, eps=eps, pgd_steps=20, pgd_restarts=1, apgd_steps=50, n_targets=9)
    assert torch.equal(result.robust, exact)
    # every fooled image's example is inside the ball and misclassified
    fooled = ~result.robust
    assert (result.x_adv - x).abs().max() <= eps + 1e-6
    with torch.no_grad():
        assert (model(result.x_adv[fooled]).argmax(1) != y[fooled]).all()


def test_each_stage_only_lowers_the_accuracy_and_the_targeted_stage_finds_more() -> None:
    # with weak settings, untargeted CE leaves non-robust images that targeted DLR finds
    model = linear_model(seed=1)
    g = torch.Generator().manual_seed(5)
    x = 0.3 + 0.4 * torch.rand(400, 1, 6, 6, generator=g)
    with torch.no_grad():
        y = model(x).argmax(1)
    result = strong_attack(model, x, y, eps=0.05, pgd_steps=1, pgd_restarts=1, apgd_steps=5, n_targets=9)
    acc = result.accuracy()
    assert list(acc) == list(STAGES)
    assert acc["clean"] >= acc["pgd"] >= acc["apgd-ce"] > acc["apgd-t"]


def test_at_most_as_robust_as_fgsm_and_pgd_say(make_toy_cnn) -> None:
    model = make_toy_cnn(num_classes=10).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 1, 12, 12, generator=g)
    with torch.no_grad():
        y = model(x).argmax(1)
    eps = 0.03
    with torch.no_grad():
        fgsm_ok = model(fgsm(model, x, y, eps=eps)).argmax(1) == y
        pgd_ok = model(pgd(model, x, y, eps=eps, step_size=eps / 4, steps=10)).argmax(1) == y
    result = strong_attack(model, x, y, eps=eps, pgd_steps=10, pgd_restarts=2, apgd_steps=20, n_targets=3)
    assert result.accuracy()["apgd-t"] <= min(fgsm_ok.float().mean(), pgd_ok.float().mean())


def test_restores_mode_leaves_inputs_and_global_rng(make_toy_cnn) -> None:
    model = make_toy_cnn(num_classes=10)  # a BatchNorm and a Dropout
    model.train()
    model.features[1].eval()  # a frozen batch-norm stays frozen
    x = torch.rand(8, 1, 12, 12)
    y = torch.randint(0, 10, (8,))
    x0, y0 = x.clone(), y.clone()
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    strong_attack(model, x, y, eps=0.05, pgd_steps=2, pgd_restarts=1, apgd_steps=3, n_targets=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(x, x0) and torch.equal(y, y0)
    assert model.training and not model.features[1].training and model.classifier[1].training


def test_same_seed_same_result(make_toy_cnn) -> None:
    model = make_toy_cnn(2, num_classes=10).eval()
    x = torch.rand(32, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(1))
    a, b = (strong_attack(model, x, y, eps=0.05, pgd_steps=3, pgd_restarts=2, apgd_steps=5, seed=7) for _ in range(2))
    assert torch.equal(a.robust, b.robust) and torch.equal(a.x_adv, b.x_adv)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"eps": -0.1}, ValueError),
        ({"eps": 0.1, "n_targets": 10}, ValueError),
        ({"eps": 0.1, "pgd_restarts": -1}, ValueError),
        ({"eps": 0.1, "apgd_steps": 0}, ValueError),
    ],
)
def test_bad_arguments_are_refused(make_toy_cnn, kwargs, error) -> None:
    model = make_toy_cnn(num_classes=10).eval()
    x, y = torch.rand(4, 1, 12, 12), torch.zeros(4, dtype=torch.long)
    with pytest.raises(error):
        strong_attack(model, x, y, **kwargs)
