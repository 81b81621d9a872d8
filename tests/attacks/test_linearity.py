"""attacks.linearity.fgsm_linearity: exact on a linear loss surrogate, equal to the
chapter's loop on a small CNN, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advinterp_lib.attacks import fgsm
from advinterp_lib.attacks.linearity import fgsm_linearity


def chapter_loop(model, xs, ys, eps_values):
    xr = xs.clone().requires_grad_(True)
    loss0 = F.cross_entropy(model(xr), ys, reduction="none")
    (grad,) = torch.autograd.grad(loss0.sum(), xr)
    loss0 = loss0.detach()
    rows = []
    for eps in eps_values:
        x_adv = fgsm(model, xs, ys, eps=eps)
        with torch.no_grad():
            actual = (F.cross_entropy(model(x_adv), ys, reduction="none") - loss0).mean().item()
        predicted = ((x_adv - xs) * grad).flatten(1).sum(1).mean().item()
        rows.append({"eps": eps, "actual": actual, "predicted": predicted, "ratio": actual / predicted})
    return rows


def test_equals_the_chapters_loop(toy_cnn) -> None:
    toy_cnn.eval()
    x = torch.rand(8, 1, 12, 12, generator=torch.Generator().manual_seed(3))
    y = torch.randint(0, 4, (8,), generator=torch.Generator().manual_seed(4))
    eps = [0.001, 0.01, 0.1]
    assert fgsm_linearity(toy_cnn, x, y, eps) == chapter_loop(toy_cnn, x, y, eps)


def test_ratio_near_one_for_tiny_steps_and_mode_restored(toy_cnn) -> None:
    toy_cnn.train()
    x = torch.rand(8, 1, 12, 12, generator=torch.Generator().manual_seed(3)) * 0.8 + 0.1
    y = torch.randint(0, 4, (8,), generator=torch.Generator().manual_seed(4))
    rows = fgsm_linearity(toy_cnn, x, y, [1e-4])
    assert rows[0]["ratio"] == pytest.approx(1.0, abs=0.05) and rows[0]["actual"] > 0
    assert toy_cnn.training


@pytest.mark.parametrize("eps", [[], [0.0], [1.5], ["a"]])
def test_bad_budgets(toy_cnn, eps) -> None:
    x = torch.rand(2, 1, 12, 12)
    with pytest.raises((ValueError, TypeError)):
        fgsm_linearity(toy_cnn, x, torch.zeros(2, dtype=torch.long), eps)
