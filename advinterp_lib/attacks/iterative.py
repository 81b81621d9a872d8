"""The one iterative attack loop, and the update rules it runs (after MadryLab's
``robustness`` attacker: one loop, strategies for the step).

Every iterative attack in the library is

    x_0 = update.start()
    x_{t+1} = update.step(x_t, gradient(x_t, t))        for t = 0 .. steps - 1

where ``gradient(x_t, t)`` is d(objective)/dx at ``x_t`` (the objective to *ascend*:
a targeted attack passes the negated loss gradient) and ``update`` says how to move and
stay admissible:

- :class:`ProjectedStep`: a step of a norm ball (:class:`~.base.LinfBall`: the gradient's
  sign; :class:`~.base.L2Ball`: the normalised gradient), projected back onto the ball
  around ``x_0`` and clipped to [0, 1]. PGD, I-FGSM, the feature-distance example of
  feature-consistent training and the attack on Grad-CAM use it.
- :class:`AdamStep`: an Adam step on the perturbation ``delta = x - x_0``, which is then
  clipped to [-eps, eps] (when given) and so that ``x_0 + delta`` stays in [0, 1]; the
  ensemble attack uses it (it descends: pass the gradient of the loss to minimise,
  negated, like any other ascent direction).

The loop is the only place the iteration is written; what differs between attacks is the
objective (``gradient``) and the rule (``update``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

import torch

from .base import L2Ball, LinfBall

__all__ = ["Update", "ProjectedStep", "AdamStep", "iterate"]


class Update(Protocol):
    """How an iterative attack starts and moves (see the module docstring)."""

    def start(self) -> torch.Tensor: ...

    def step(self, x_t: torch.Tensor, grad: torch.Tensor) -> torch.Tensor: ...


class ProjectedStep:
    """``x_{t+1} = clip_[0,1](Proj_ball(x_0, eps)(ball.step(x_t, grad, step_size)))``.

    Args:
        x0: the clean images [N, C, H, W] in [0, 1] (the ball's centre).
        ball: a :class:`~.base.LinfBall` or :class:`~.base.L2Ball` (or any object with
            ``step``, ``project`` and ``random_start``).
        eps, step_size: the ball's radius and the step, in the ball's units.
        random_start: start from a random point of the ball (projected and clipped)
            drawn with ``generator``, instead of ``x0``; ``"unprojected"`` draws the
            point and only clips it (the attack on Grad-CAM's start).
    """

    def __init__(
        self,
        x0: torch.Tensor,
        ball: LinfBall | L2Ball,
        *,
        eps: float,
        step_size: float,
        random_start: bool | str = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if random_start not in (False, True, "unprojected"):
            raise ValueError(f"random_start must be False, True or 'unprojected', got {random_start!r}")
        self.x0, self.ball, self.eps, self.step_size = x0, ball, eps, step_size
        self.random_start, self.generator = random_start, generator

    def start(self) -> torch.Tensor:
        if self.random_start == "unprojected":
            return self.ball.random_start(self.x0, self.eps, self.generator).clamp(0.0, 1.0)
        if self.random_start:
            x = self.ball.random_start(self.x0, self.eps, self.generator)
            return self.ball.project(x, self.x0, self.eps).clamp(0.0, 1.0)
        return self.x0.clone()

    def step(self, x_t: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        moved = self.ball.step(x_t, grad, self.step_size)
        return self.ball.project(moved, self.x0, self.eps).clamp(0.0, 1.0).detach()


class AdamStep:
    """Adam on ``delta = x - x_0`` with learning rate ``step_size``, descending ``-grad``;
    after each step ``delta`` is clipped to [-eps, eps] (``eps`` None: no bound) and so
    that ``x_0 + delta`` is in [0, 1]. The iterates are ``x_0 + delta``.

    ``random_start`` draws ``delta`` uniformly from [-eps, eps] with ``generator`` (on the
    generator's device, moved to ``x0``'s); it needs ``eps``.
    """

    def __init__(
        self,
        x0: torch.Tensor,
        *,
        step_size: float,
        eps: float | None = None,
        random_start: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if random_start and eps is None:
            raise ValueError("random_start=True needs an eps budget to draw the start from, got eps=None")
        self.x0, self.eps = x0, eps
        if random_start:
            where = generator.device if generator is not None else x0.device
            noise = torch.rand(x0.shape, generator=generator, dtype=x0.dtype, device=where).to(x0.device)
            delta = (2 * noise - 1) * cast(float, eps)  # not None: random_start needs eps (checked)
        else:
            delta = torch.zeros_like(x0)
        self.delta = self._project(delta).requires_grad_(True)
        self.optimiser = torch.optim.Adam([self.delta], lr=step_size)

    def _project(self, delta: torch.Tensor) -> torch.Tensor:
        if self.eps is not None:
            delta = delta.clamp(-self.eps, self.eps)
        return (self.x0 + delta).clamp(0, 1) - self.x0

    def start(self) -> torch.Tensor:
        return self.x0 + self.delta.detach()

    def step(self, x_t: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        self.delta.grad = -grad  # Adam descends; grad is the ascent direction
        self.optimiser.step()
        with torch.no_grad():
            self.delta.copy_(self._project(self.delta))
        return self.x0 + self.delta.detach()


def iterate(
    update: Update,
    gradient: Callable[[torch.Tensor, int], torch.Tensor],
    steps: int,
) -> torch.Tensor:
    """Run ``steps`` iterations of ``update`` along ``gradient`` and return the last iterate.

    Args:
        update: the rule (:class:`ProjectedStep`, :class:`AdamStep`).
        gradient: ``gradient(x_t, t)``, the ascent direction at the iterate ``x_t`` (a
            tensor of its shape); it may also record what the attack keeps (a best
            iterate, a history).
        steps: the number of updates, >= 0.
    """
    x_t = update.start()
    for t in range(steps):
        x_t = update.step(x_t, gradient(x_t, t))
    return x_t
