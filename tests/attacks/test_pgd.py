"""PGD / iterative FGSM: torchattacks' PGD and PGDL2 as the reference (random start
off), the random start, and the ordering FGSM <= PGD in attack strength."""

from __future__ import annotations

import pytest
import torch
import torchattacks
from torch import nn

from advinterp_lib.attacks import L2Ball, LinfBall, fgsm, pgd


@pytest.fixture
def small_cnn(make_toy_cnn) -> nn.Module:
    """The shared toy CNN with 10 classes on 12x12 images, in eval mode."""
    return make_toy_cnn(num_classes=10).eval()


def batch(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 12, 12, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("targeted", [False, True])
def test_linf_matches_torchattacks_pgd(small_cnn: nn.Module, targeted: bool) -> None:
    model, (x, y) = small_cnn, batch()
    ours = pgd(model, x, y, eps=0.1, step_size=0.02, steps=7, targeted=targeted)
    atk = torchattacks.PGD(model, eps=0.1, alpha=0.02, steps=7, random_start=False)
    if targeted:
        atk.set_mode_targeted_by_label(quiet=True)
    assert torch.allclose(ours, atk(x, y), atol=1e-6)


@pytest.mark.parametrize("targeted", [False, True])
def test_l2_matches_torchattacks_pgdl2(small_cnn: nn.Module, targeted: bool) -> None:
    model, (x, y) = small_cnn, batch()
    ours = pgd(model, x, y, eps=1.0, step_size=0.3, steps=6, norm="l2", targeted=targeted)
    atk = torchattacks.PGDL2(model, eps=1.0, alpha=0.3, steps=6, random_start=False)
    if targeted:
        atk.set_mode_targeted_by_label(quiet=True)
    assert torch.allclose(ours, atk(x, y), atol=1e-5)


def test_norm_given_as_a_ball_object_equals_the_string(small_cnn: nn.Module) -> None:
    model, (x, y) = small_cnn, batch()
    assert torch.equal(
        pgd(model, x, y, eps=0.1, step_size=0.03, steps=3, norm=LinfBall()),
        pgd(model, x, y, eps=0.1, step_size=0.03, steps=3, norm="linf"),
    )
    assert torch.equal(
        pgd(model, x, y, eps=0.5, step_size=0.2, steps=3, norm=L2Ball()),
        pgd(model, x, y, eps=0.5, step_size=0.2, steps=3, norm="l2"),
    )


def test_random_start_is_reproducible_and_inside_the_ball(small_cnn: nn.Module) -> None:
    model, (x, y) = small_cnn, batch()
    runs = [
        pgd(
            model,
            x,
            y,
            eps=0.05,
            step_size=0.01,
            steps=2,
            random_start=True,
            generator=torch.Generator().manual_seed(s),
        )
        for s in (0, 0, 1)
    ]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    assert (runs[2] - x).abs().max() <= 0.05 + 1e-6
    # the L2 start is uniform in the ball: radii spread over (0, eps]
    start = L2Ball().random_start(x.repeat(20, 1, 1, 1), 0.5, torch.Generator().manual_seed(0))
    radii = (start - x.repeat(20, 1, 1, 1)).flatten(1).norm(dim=1)
    assert radii.max() <= 0.5 + 1e-6 and radii.min() > 0.4  # in 144 dimensions most mass is near the sphere


def test_one_step_without_projection_is_fgsm_and_more_steps_fool_more() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Flatten(), nn.Linear(144, 32), nn.Tanh(), nn.Linear(32, 10)).eval()
    x = torch.rand(64, 1, 12, 12, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        y = model(x).argmax(1)
    # PGD-1 with step = eps is FGSM (up to Captum's small-gradient threshold, never hit here)
    assert torch.equal(pgd(model, x, y, eps=0.03, step_size=0.03, steps=1), fgsm(model, x, y, eps=0.03))

    def acc(x_adv: torch.Tensor) -> float:
        with torch.no_grad():
            return (model(x_adv).argmax(1) == y).float().mean().item()

    eps = 0.02
    assert acc(pgd(model, x, y, eps=eps, step_size=eps / 4, steps=10)) <= acc(fgsm(model, x, y, eps=eps))
