"""PGD: iterative FGSM (Kurakin et al. 2017) projected onto a norm ball (Madry et al. 2018).

    x_0 = x                    (or a random point of the ball, ``random_start``)
    x_{t+1} = clip_[0,1]( Proj_ball(x, eps)( step(x_t, grad_x L(x_t, y), step_size) ) )

One loop for every norm: the ball object (:class:`~advinterp_lib.attacks.base.LinfBall`,
:class:`~advinterp_lib.attacks.base.L2Ball`) says how to step, project and start.
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
    upper = 1.0 if isinstance(ball, LinfBall) else None
    eps = check_budget(eps, "eps", upper=upper)
    step_size = check_budget(step_size, "step_size", upper=upper)
    steps = check_count(steps, "steps")
    if not isinstance(random_start, bool):
        raise TypeError(f"random_start must be a bool, got {type(random_start).__name__}")
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y, targeted=targeted)
        if isinstance(ball, L2Ball) and eps > xd[0].numel() ** 0.5:
            raise ValueError(f"eps must be <= sqrt(C*H*W) = {xd[0].numel() ** 0.5:.4g} for the L2 ball, got {eps}")
        x_adv = xd.clone()
        if random_start:
            x_adv = ball.project(ball.random_start(xd, eps, generator), xd, eps).clamp(0.0, 1.0)
        for _ in range(steps):
            grad = loss_gradient(model, x_adv, yd)
            if targeted:
                grad = -grad
            x_adv = ball.project(ball.step(x_adv, grad, step_size), xd, eps).clamp(0.0, 1.0).detach()
    return x_adv.to(x.device)
