"""attacks.minimal.compare_with_fgsm: the chapter's per-model numbers, written out on a
small CNN; bad input."""

from __future__ import annotations

import pytest
import torch

from advinterp_lib.attacks import deepfool, fgsm_sweep, rho_adv
from advinterp_lib.attacks.minimal import compare_with_fgsm


@pytest.fixture
def setting(toy_cnn):
    toy_cnn.eval()
    x = torch.rand(24, 1, 12, 12, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        y = toy_cnn(x).argmax(1)
    y[:4] = (y[:4] + 1) % 4  # four images misclassified
    return toy_cnn, x, y, deepfool(toy_cnn, x, overshoot=0.02, max_iter=50, num_candidates=4)


def test_equals_the_chapters_numbers(setting) -> None:
    model, x, y, r = setting
    grid = torch.linspace(0, 0.5, 26)
    got = compare_with_fgsm(model, x, y, r, grid, seconds=2.0)
    sweep = fgsm_sweep(model, x, r.label, eps_values=grid)
    correct = r.label == y
    both = correct & r.success & torch.isfinite(sweep.minimal_l2)
    assert torch.equal(got.both, both) and torch.equal(got.correct, correct)
    assert got.numbers == {
        "images": int(both.sum()),
        "deepfool_success": float(r.success.float().mean()),
        "deepfool_mean_iterations": float(r.iterations.float().mean()),
        "deepfool_mean_l2": float(r.l2[both].mean()),
        "deepfool_rho": rho_adv(r.perturbation[both], x[both]),
        "deepfool_images_per_second": 12.0,
        "fgsm_success_within_eps_max": float(torch.isfinite(sweep.minimal_l2[correct]).float().mean()),
        "fgsm_mean_minimal_eps": float(sweep.minimal_eps[both].mean()),
        "fgsm_mean_l2": float(sweep.minimal_l2[both].mean()),
        "fgsm_rho": rho_adv(sweep.minimal_l2[both], x[both]),
    }
    deepfool_l2, fgsm_l2 = got.l2
    assert len(deepfool_l2) == len(fgsm_l2) == int(both.sum())
    assert got.numbers["images"] <= 20  # the misclassified four never count


def test_bad_input(setting) -> None:
    model, x, y, r = setting
    grid = torch.linspace(0, 0.5, 6)
    with pytest.raises(ValueError):
        compare_with_fgsm(model, x[:5], y[:5], r, grid, seconds=1.0)
    with pytest.raises(ValueError):
        compare_with_fgsm(model, x, y, r, grid, seconds=0.0)
    with pytest.raises(ValueError):
        compare_with_fgsm(model, x, y, r, torch.zeros(1), seconds=1.0)  # eps 0 fools no correct image
