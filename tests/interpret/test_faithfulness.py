"""Deletion / insertion curves: endpoints, a brute-force twin, optimality on a linear model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advinterp_lib.interpret.faithfulness import PerturbationCurve, deletion_curve, insertion_curve

H = W = 6
K = 3


class LinearModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(H * W, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


@pytest.fixture
def model() -> LinearModel:
    torch.manual_seed(0)
    return LinearModel().eval()


def _images(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, H, W, generator=torch.Generator().manual_seed(seed))


def _distinct_attribution(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 1, H, W, generator=torch.Generator().manual_seed(seed))


def _probability(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).softmax(1)[torch.arange(len(x)), target].double()


@pytest.mark.parametrize("curve_fn", [deletion_curve, insertion_curve])
def test_equals_a_brute_force_loop(model, curve_fn):
    x, attr = _images(), _distinct_attribution(4)
    target = torch.tensor([0, 1, 2, 1])
    steps = 5
    curve = curve_fn(model, x, target, attr, steps=steps, baseline=0.25, batch_size=7)
    order = attr.flatten(1).argsort(dim=1, descending=True)
    for k in range(steps + 1):
        m = round(k * H * W / steps)
        changed = torch.zeros(4, H * W)
        changed.scatter_(1, order[:, :m], 1.0)
        changed = changed.view(4, 1, H, W)
        if curve_fn is deletion_curve:
            xk = x * (1 - changed) + 0.25 * changed
        else:
            xk = 0.25 * (1 - changed) + x * changed
        torch.testing.assert_close(curve.probabilities[:, k], _probability(model, xk, target), rtol=1e-6, atol=1e-7)
        assert curve.fractions[k].item() == pytest.approx(m / (H * W))


def test_endpoints_are_the_image_and_the_baseline(model):
    x, attr = _images(), _distinct_attribution(4)
    blank = torch.full_like(x, 0.5)
    d = deletion_curve(model, x, 2, attr, baseline=blank, steps=4)
    i = insertion_curve(model, x, 2, attr, baseline=blank, steps=4)
    t = torch.full((4,), 2)
    torch.testing.assert_close(d.probabilities[:, 0], _probability(model, x, t))
    torch.testing.assert_close(d.probabilities[:, -1], _probability(model, blank, t))
    torch.testing.assert_close(i.probabilities[:, 0], d.probabilities[:, -1])
    torch.testing.assert_close(i.probabilities[:, -1], d.probabilities[:, 0])
    assert d.probabilities.shape == (4, 5) and d.fractions.tolist() == [0, 0.25, 0.5, 0.75, 1.0]


def test_auc_is_the_trapezoid_rule():
    curve = PerturbationCurve(
        torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64),
        torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64),
    )
    torch.testing.assert_close(curve.auc(), torch.tensor([1.0, 0.25], dtype=torch.float64))


def test_true_contributions_give_the_lowest_deletion_curve_on_a_linear_two_class_model():
    # With two classes, p(target) = sigmoid(d^T x + c): deleting the pixels with the
    # largest d_i x_i first is the best possible order at every step (baseline 0).
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(H * W, 2)).eval()
    x = _images(5, seed=3)
    d = (model[1].weight[1] - model[1].weight[0]).detach().view(1, 1, H, W)
    best = deletion_curve(model, x, 1, d * x, steps=9)
    assert (best.probabilities[:, -1] < best.probabilities[:, 0]).any()
    for seed in range(5):
        other = deletion_curve(model, x, 1, _distinct_attribution(5, seed=10 + seed), steps=9)
        assert (best.probabilities <= other.probabilities + 1e-12).all()
        assert (best.auc() <= other.auc() + 1e-12).all()
    worst = insertion_curve(model, x, 1, -(d * x), steps=9)
    assert (insertion_curve(model, x, 1, d * x, steps=9).auc() >= worst.auc()).all()


def test_ties_are_broken_by_the_generator_not_by_position(model):
    x = _images(1)
    flat = torch.zeros(1, 1, H, W)  # every pixel tied
    a = deletion_curve(model, x, 0, flat, steps=6, generator=torch.Generator().manual_seed(0))
    b = deletion_curve(model, x, 0, flat, steps=6, generator=torch.Generator().manual_seed(0))
    c = deletion_curve(model, x, 0, flat, steps=6, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.probabilities, b.probabilities)
    assert not torch.allclose(a.probabilities, c.probabilities)


def test_inputs_unchanged_and_mode_restored(model):
    x, attr = _images(), _distinct_attribution(4)
    xb, ab = x.clone(), attr.clone()
    model.train()
    deletion_curve(model, x, 0, attr)
    assert model.training
    assert torch.equal(x, xb) and torch.equal(attr, ab) and not x.requires_grad


def test_bad_input(model):
    x = _images()
    with pytest.raises(ValueError, match=r"attribution must have shape \(4, 1, 6, 6\)"):
        deletion_curve(model, x, 0, torch.zeros(4, 6, 6))
    with pytest.raises(ValueError, match="steps"):
        deletion_curve(model, x, 0, torch.zeros(4, 1, H, W), steps=0)
    with pytest.raises(ValueError, match=r"target must be .*\[0, 3\)"):
        insertion_curve(model, x, 3, torch.zeros(4, 1, H, W))
    with pytest.raises(ValueError, match="baseline"):
        insertion_curve(model, x, 0, torch.zeros(4, 1, H, W), baseline=torch.zeros(1, 1, H, W))
    with pytest.raises(ValueError, match="NaN"):
        deletion_curve(model, x, 0, torch.full((4, 1, H, W), float("nan")))
