"""attacks.iterative: the one loop and its update rules, on closed forms."""

import pytest
import torch

from advinterp_lib.attacks.base import L2Ball, LinfBall
from advinterp_lib.attacks.iterative import AdamStep, ProjectedStep, iterate


def _x(n=3, seed=0):
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed)) * 0.8 + 0.1


def test_signed_steps_along_a_constant_gradient_stop_at_the_ball_and_the_box():
    x0 = _x()
    g = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    seen = []

    def gradient(x_t, t):
        seen.append(t)
        return g

    out = iterate(ProjectedStep(x0, LinfBall(), eps=0.05, step_size=0.02), gradient, 4)
    assert seen == [0, 1, 2, 3]
    # 4 steps of 0.02 overshoot eps = 0.05: every pixel ends on the ball's face (inside the box)
    torch.testing.assert_close(out, (x0 + 0.05 * g.sign()).clamp(0, 1))


def test_l2_steps_move_along_the_normalised_gradient_and_project_by_rescaling():
    x0 = _x()
    g = torch.randn(x0.shape, generator=torch.Generator().manual_seed(2))
    unit = g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    one = iterate(ProjectedStep(x0, L2Ball(), eps=10.0, step_size=0.1), lambda x, t: g, 1)
    torch.testing.assert_close(one, (x0 + 0.1 * unit).clamp(0, 1))
    far = iterate(ProjectedStep(x0, L2Ball(), eps=0.15, step_size=0.1), lambda x, t: g, 3)
    assert (far - x0).flatten(1).norm(dim=1).max() <= 0.15 + 1e-6


def test_starts_and_zero_steps():
    x0 = _x()
    assert torch.equal(iterate(ProjectedStep(x0, LinfBall(), eps=0.1, step_size=0.01), lambda x, t: x, 0), x0)
    g = torch.Generator().manual_seed(3)
    start = ProjectedStep(x0, LinfBall(), eps=0.1, step_size=0.01, random_start=True, generator=g).start()
    assert 0 < (start - x0).abs().max() <= 0.1 + 1e-7
    with pytest.raises(ValueError, match="random_start"):
        ProjectedStep(x0, LinfBall(), eps=0.1, step_size=0.01, random_start="yes")


def test_adam_step_is_adam_on_the_perturbation_with_its_box():
    x0 = _x()
    g = torch.randn(x0.shape, generator=torch.Generator().manual_seed(4))
    out = iterate(AdamStep(x0, step_size=0.01, eps=0.03), lambda x, t: g, 2)
    # Adam's first steps move every coordinate by lr * sign(-(-g)) = lr * sign(g): ascent along g
    torch.testing.assert_close(out, x0 + (0.02 * g.sign()).clamp(-0.03, 0.03), atol=1e-6, rtol=0)
    clipped = iterate(AdamStep(x0, step_size=0.5), lambda x, t: g, 3)  # no eps: only the [0, 1] box
    assert clipped.min() >= 0 and clipped.max() <= 1
    with pytest.raises(ValueError, match="needs an eps"):
        AdamStep(x0, step_size=0.01, random_start=True)
