"""PGD: iterative FGSM (Kurakin et al. 2017) projected onto a norm ball (Madry et al. 2018).

    x_0 = x                    (or a random point of the ball, ``random_start``)
    x_{t+1} = clip_[0,1]( Proj_ball(x, eps)( step(x_t, grad_x L(x_t, y), step_size) ) )

The loop is :func:`~advinterp_lib.attacks.iterative.iterate` with a
:class:`~advinterp_lib.attacks.iterative.ProjectedStep`: the ball object
(:class:`~advinterp_lib.attacks.base.LinfBall`, :class:`~advinterp_lib.attacks.base.L2Ball`)
says how to step, project and start.
With ``norm="linf"`` and no random start this is I-FGSM (the Basic Iterative Method);
it equals torchattacks' ``PGD``/``PGDL2`` with ``random_start=False`` (tested).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import (
    L2Ball,
    LinfBall,
    as_ball,
    attack_mode,
    check_attack_inputs,
    check_budget,
    check_count,
    loss_gradient,
)
from .iterative import ProjectedStep, iterate


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    step_size: float,
    steps: int,
    norm: str | LinfBall | L2Ball = "linf",
    random_start: bool = False,
    targeted: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent on the cross-entropy.

    Args:
        model: classifier returning logits [N, num_classes]; run in eval mode, its
            previous state restored afterwards.
        x: float images [N, C, H, W] in [0, 1]; not modified.
        y: int [N], true labels (untargeted) or targets (``targeted``).
        eps: radius of the ball around x, in [0, 1] pixel units (L-inf) or in pixel
            units of the per-image L2 norm (L2; may exceed 1, at most sqrt(C*H*W)).
        step_size: the step per iteration (same units as eps).
        steps: number of iterations (>= 1): ``steps`` forward+backward passes.
        norm: ``"linf"``, ``"l2"`` or a ball object.
        random_start: start from a uniform random point of the ball (drawn with
            ``generator``) instead of x.
        targeted: descend the loss of ``y`` instead of ascending it.

    Returns:
        x_adv, float [N, C, H, W] in [0, 1], within the ball, on ``x``'s device.

    Raises:
        TypeError/ValueError: bad images, labels, budgets, steps or norm.
    """
    ball = as_ball(norm)
    upper = getattr(ball, "budget_limit", None)
    eps = check_budget(eps, "eps", upper=upper)
    step_size = check_budget(step_size, "step_size", upper=upper)
    steps = check_count(steps, "steps")
    if not isinstance(random_start, bool):
        raise TypeError(f"random_start must be a bool, got {type(random_start).__name__}")
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y, targeted=targeted)
        if hasattr(ball, "check_radius"):
            ball.check_radius(eps, xd)
        update = ProjectedStep(xd, ball, eps=eps, step_size=step_size, random_start=random_start, generator=generator)

        def gradient(x_t: torch.Tensor, t: int) -> torch.Tensor:
            grad = loss_gradient(model, x_t, yd)
            return -grad if targeted else grad

        x_adv = iterate(update, gradient, steps)
    return x_adv.to(x.device)
