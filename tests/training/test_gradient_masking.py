"""training.gradient_masking: the FGSM-PGD gap, the catastrophic-overfitting flag, and the
loss surfaces of chapter 9, against the notebook's former code on a toy CNN."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advinterp_lib.attacks.surface import loss_surface, orthogonal_direction, signed_gradient
from advinterp_lib.training.gradient_masking import (
    catastrophic_overfitting,
    fgsm_pgd_gap,
    jointly_correct,
    masking_surfaces,
    surface_corners,
)


def record(fgsm: float, pgd: float) -> dict[str, dict[str, float]]:
    return {"clean": {"top1": 0.9}, "fgsm": {"top1": fgsm}, "pgd": {"top1": pgd}}


def test_gap_and_flag_closed_forms():
    assert fgsm_pgd_gap(record(0.5, 0.25)) == 0.25
    assert fgsm_pgd_gap(record(0.1, 0.2)) == pytest.approx(-0.1)
    assert catastrophic_overfitting(record(0.31, 0.049)) is True
    assert catastrophic_overfitting(record(0.3, 0.0)) is False  # FGSM accuracy must exceed 30 %
    assert catastrophic_overfitting(record(0.9, 0.05)) is False  # PGD accuracy must stay under 5 %
    assert catastrophic_overfitting(record(0.2, 0.1), fgsm_above=0.1, pgd_below=0.2) is True


def test_gap_and_flag_bad_records():
    with pytest.raises(ValueError, match="'pgd'"):
        fgsm_pgd_gap({"fgsm": {"top1": 0.5}})
    with pytest.raises(ValueError, match="'fgsm'"):
        catastrophic_overfitting({"pgd": {"top1": 0.0}, "fgsm": {}})


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(12, 1, 12, 12, generator=g), torch.randint(0, 4, (12,), generator=g)


def test_jointly_correct_matches_a_brute_force_twin(make_toy_cnn, batch):
    x, y = batch
    a, b = make_toy_cnn(0).eval(), make_toy_cnn(1).eval()
    y = a(x).argmax(1).detach()  # all correct for a; b agrees on some
    with torch.no_grad():
        twin = ((a(x).argmax(1) == y) & (b(x).argmax(1) == y)).nonzero().squeeze(1)
    assert torch.equal(jointly_correct([a, b], x, y), twin)
    assert torch.equal(jointly_correct([a], x, y, limit=5), torch.arange(5))
    a.train()
    jointly_correct([a], x, y)
    assert a.training  # the mode is restored


def test_jointly_correct_bad_input(toy_cnn, batch):
    x, y = batch
    with pytest.raises(ValueError, match="at least one model"):
        jointly_correct([], x, y)
    with pytest.raises(ValueError, match="limit"):
        jointly_correct([toy_cnn], x, y, limit=0)
    with pytest.raises(ValueError):
        jointly_correct([toy_cnn], x, y[:3])


def test_masking_surfaces_equal_the_notebooks_former_loop(make_toy_cnn, batch):
    x, y = batch
    models = {"a": make_toy_cnn(0).eval(), "b": make_toy_cnn(1).eval()}
    other = make_toy_cnn(2).eval()
    grid = torch.linspace(0, 0.2, 5)
    surfaces = masking_surfaces(models, other, x, y, grid)
    assert list(surfaces) == ["a", "b"]
    for name, m in models.items():  # chapter 9's loop before the thinning
        g = signed_gradient(m, x, y)
        g_perp = orthogonal_direction(signed_gradient(other, x, y), g)
        assert torch.equal(surfaces[name], loss_surface(m, x, y, g, g_perp, grid, grid))
        assert surfaces[name].shape == (12, 5, 5)
        with torch.no_grad():  # the origin of the slice is the clean loss
            torch.testing.assert_close(surfaces[name][:, 0, 0], F.cross_entropy(m(x), y, reduction="none"))


def test_surface_corners_closed_form():
    s = torch.arange(2 * 5 * 5, dtype=torch.float32).view(2, 5, 5)  # s[i, r, c] = 25 i + 5 r + c
    assert surface_corners(s) == {
        "loss_at_x": 12.5,
        "loss_along_g": 32.5,
        "loss_along_g_perp": 16.5,
        "loss_at_half_g": 22.5,
    }
    with pytest.raises(ValueError, match="surface"):
        surface_corners(torch.zeros(5, 5))
    with pytest.raises(ValueError, match="surface"):
        surface_corners(torch.zeros(2, 1, 5))
