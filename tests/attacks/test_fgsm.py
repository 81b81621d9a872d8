"""FGSM: Captum as the reference (exact match), a closed form on a linear model,
the sweep against single calls, and the least-likely-class variant."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from captum.robust import FGSM as CaptumFGSM
from torch import nn

from advinterp_lib.attacks import fgsm, fgsm_sweep, least_likely, random_targets


@pytest.fixture
def small_cnn(make_toy_cnn) -> nn.Module:
    """The shared toy CNN with 10 classes on 12x12 images, in eval mode."""
    return make_toy_cnn(num_classes=10).eval()


def images(n: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, 12, 12, generator=torch.Generator().manual_seed(seed))


def per_image_ce(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, target, reduction="none")


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.03, 0.3])
def test_matches_captum_fgsm_exactly(small_cnn: nn.Module, targeted: bool, eps: float) -> None:
    model, x = small_cnn, images(16)
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(2))
    ours = fgsm(model, x, y, eps=eps, targeted=targeted)
    ref = CaptumFGSM(model, loss_func=per_image_ce, lower_bound=0.0, upper_bound=1.0).perturb(
        x.clone(), eps, y, targeted=targeted
    )
    assert torch.equal(ours, ref)


def test_closed_form_on_a_linear_model() -> None:
    # For logits W x + b the CE gradient is W^T (softmax - onehot(y)).
    torch.manual_seed(3)
    lin = nn.Linear(36, 5).double()
    model = nn.Sequential(nn.Flatten(), lin).eval()
    x = torch.rand(8, 1, 6, 6, dtype=torch.float64)
    y = torch.arange(8) % 5
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1)
        grad = (p - F.one_hot(y, 5).double()) @ lin.weight
    expected = (x + 0.1 * grad.sign().view_as(x)).clamp(0, 1)
    assert torch.allclose(fgsm(model, x, y, eps=0.1), expected, atol=1e-12)
    # and the first-order effect: the loss goes up for every image
    with torch.no_grad():
        before = F.cross_entropy(model(x), y, reduction="none")
        after = F.cross_entropy(model(fgsm(model, x, y, eps=0.01)), y, reduction="none")
    assert (after > before).all()


def test_sweep_equals_single_calls_and_finds_the_minimal_eps(small_cnn: nn.Module) -> None:
    model, x = small_cnn, images(40)
    with torch.no_grad():
        y = model(x).argmax(1)
    eps_values = [0.0, 0.05, 0.1, 0.2, 0.4]
    sweep = fgsm_sweep(model, x, y, eps_values=eps_values, batch_size=16)
    assert sweep.correct.shape == (5, 40) and sweep.l2.shape == (5, 40)
    assert sweep.correct[0].all()  # eps = 0 changes nothing and y is the prediction
    for e, eps in enumerate(eps_values):
        x_adv = fgsm(model, x, y, eps=eps)
        with torch.no_grad():
            assert torch.equal(model(x_adv).argmax(1) == y, sweep.correct[e])
        assert torch.allclose((x_adv - x).flatten(1).norm(dim=1), sweep.l2[e], atol=1e-5)
    m = sweep.minimal_eps
    for n in range(40):
        fooled = [eps for e, eps in enumerate(eps_values) if not sweep.correct[e, n]]
        assert m[n] == (fooled[0] if fooled else float("inf"))
    assert sweep.accuracy[0] == 1.0


def test_least_likely_fgsm_raises_the_target_probability() -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(144, 10)).eval()
    x = images(32)
    t = least_likely(model, x=x)[:, 0]
    with torch.no_grad():
        logits = model(x)
        assert torch.equal(t, logits.argmin(1))
        before = torch.log_softmax(logits, 1).gather(1, t[:, None])
        after = torch.log_softmax(model(fgsm(model, x, t, eps=0.02, targeted=True)), 1).gather(1, t[:, None])
    assert (after > before).all()


def test_least_likely_orders_classes_from_least_likely(small_cnn: nn.Module) -> None:
    scores = torch.tensor([[0.1, 0.5, 0.05, 0.35], [0.2, 0.2, 0.3, 0.3]])
    assert least_likely(scores, k=3).tolist() == [[2, 0, 3], [0, 1, 2]]  # ties: lower index first
    with pytest.raises(ValueError, match="k must be <="):
        least_likely(scores, k=4)
    with pytest.raises(ValueError, match="needs the images"):
        least_likely(small_cnn)
    with pytest.raises(TypeError, match="pass k by name"):
        least_likely(scores, 3)  # (source, x, k), as least_likely_targets(models, x, k)


def test_random_targets_are_reproducible_and_never_the_label() -> None:
    y = torch.arange(100) % 10
    a = random_targets(y, 10, 3, generator=torch.Generator().manual_seed(0))
    b = random_targets(y, 10, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == (100, 3)
    assert (a != y[:, None]).all()
    # each of the 9 other classes is drawn about equally often
    counts = torch.bincount((a[:, 0] - y - 1) % 10, minlength=10)
    assert counts[9] == 0 and counts[:9].min() >= 3
