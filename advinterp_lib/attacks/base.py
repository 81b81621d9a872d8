"""The chores every gradient attack shares, in one place (torchattacks' ``Attack`` base
class, written as functions), and the norm balls PGD walks in (MadryLab robustness's
``attack_steps``: one small object per norm that knows how to step, project and start).

- :func:`attack_mode` runs the model in eval mode (dropout off, batch-norm statistics
  frozen: an attack must not change the model it attacks) and restores every module's
  previous ``training`` flag afterwards, also when the attack raises. A model in train
  mode is therefore *accepted* and attacked as the eval-mode network it is at test time.
  It is :func:`advinterp_lib.models.state.eval_mode` under the attacks' name.
- :func:`model_device` (from :mod:`advinterp_lib.models.state`): attacks move ``x`` and
  ``y`` to the model's device and hand the result back on ``x``'s device.
- :func:`check_budget`, :func:`check_attack_inputs`: validation at the public boundary.
- :func:`loss_gradient`: the gradient of the summed per-image cross-entropy, so each
  image's gradient does not depend on the batch it sits in.
- :class:`LinfBall`, :class:`L2Ball`: the norm strategies.

No function here changes its inputs in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..models.layers import num_classes_of
from ..models.state import eval_mode, model_device
from ..validation import check_images, check_int, check_labels

#: Eval mode with every submodule's flag restored (:func:`~advinterp_lib.models.state.eval_mode`).
attack_mode = eval_mode

__all__ = [
    "L2Ball",
    "LinfBall",
    "as_ball",
    "attack_mode",
    "check_attack_inputs",
    "check_budget",
    "check_count",
    "loss_gradient",
    "model_device",
    "num_classes_of",
]


def check_budget(value: object, name: str, *, upper: float | None = 1.0) -> float:
    """A finite number >= 0 (and <= ``upper`` where given): eps and step sizes in [0, 1]
    pixel units. Raises TypeError (not a number) or ValueError (out of range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number (pixel units in [0, 1]), got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be <= {upper} (pixels are in [0, 1]; a budget of 8/255 is 0.031), got {value}")
    return value


def check_count(value: object, name: str, *, minimum: int = 1) -> int:
    """An int >= ``minimum`` (steps, iterations, candidates)."""
    return check_int(value, name, minimum=minimum)


def check_attack_inputs(
    model: nn.Module, x: object, y: object, *, targeted: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``x`` (float [N, C, H, W] in [0, 1], finite) and ``y`` (int [N], class
    indices of the model: true labels, or targets when ``targeted``); return both on the
    model's device. Call inside :func:`attack_mode`."""
    if not isinstance(targeted, bool):
        raise TypeError(f"targeted must be a bool, got {type(targeted).__name__}")
    x = check_images(x, model=model)
    device = model_device(model, x.device)
    x = x.to(device)
    y = check_labels(y, x.shape[0], num_classes_of(model, x), name="targets" if targeted else "y")
    return x, y.to(device=device, dtype=torch.int64)


def loss_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d/dx of the cross-entropy summed over the batch: [N, C, H, W], each image's
    gradient its own (the model must not mix images, i.e. be in eval mode). Works
    inside a caller's ``torch.no_grad()`` block too."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def _norms(t: torch.Tensor) -> torch.Tensor:
    """Per-image L2 norms, shaped [N, 1, 1, 1] (broadcastable against the batch)."""
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


@dataclass(frozen=True)
class LinfBall:
    """The L-inf ball {x' : max |x' - x| <= eps}: step along the gradient's sign,
    project by clamping each pixel, start uniformly inside the cube."""

    #: the largest radius and step that make sense, in [0, 1] pixel units
    budget_limit: ClassVar[float | None] = 1.0

    def check_radius(self, eps: float, x: torch.Tensor) -> None:
        """Nothing to check beyond ``budget_limit``."""

    def step(self, x_adv: torch.Tensor, grad: torch.Tensor, step_size: float) -> torch.Tensor:
        return x_adv + step_size * grad.sign()

    def project(self, x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
        return x + (x_adv - x).clamp(-eps, eps)

    def random_start(self, x: torch.Tensor, eps: float, generator: torch.Generator | None) -> torch.Tensor:
        device = generator.device if generator is not None else x.device
        u = torch.rand(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)
        return x + (2 * u - 1) * eps

    def size(self, delta: torch.Tensor) -> torch.Tensor:
        """Per-image L-inf norm [N]."""
        return delta.flatten(1).abs().amax(dim=1)


@dataclass(frozen=True)
class L2Ball:
    """The L2 ball {x' : ||x' - x||_2 <= eps} per image: step along the normalised
    gradient, project by rescaling, start uniformly inside the ball."""

    #: no fixed limit: the radius may exceed 1, up to the images' diameter (check_radius)
    budget_limit: ClassVar[float | None] = None

    def check_radius(self, eps: float, x: torch.Tensor) -> None:
        """ValueError when ``eps`` exceeds sqrt(C*H*W), the largest L2 distance of [0, 1] images."""
        if eps > x[0].numel() ** 0.5:
            raise ValueError(f"eps must be <= sqrt(C*H*W) = {x[0].numel() ** 0.5:.4g} for the L2 ball, got {eps}")

    def step(self, x_adv: torch.Tensor, grad: torch.Tensor, step_size: float) -> torch.Tensor:
        # 1e-10 (as torchattacks' PGDL2) keeps a zero gradient a zero step.
        return x_adv + step_size * grad / (_norms(grad) + 1e-10)

    def project(self, x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
        delta = x_adv - x
        n = _norms(delta)
        scale = torch.where(n > eps, eps / n.clamp_min(1e-30), torch.ones_like(n))
        return x + delta * scale

    def random_start(self, x: torch.Tensor, eps: float, generator: torch.Generator | None) -> torch.Tensor:
        # Uniform in the ball: a Gaussian direction, radius eps * u^(1/d).
        device = generator.device if generator is not None else x.device
        g = torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)
        u = torch.rand(x.shape[0], generator=generator, device=device, dtype=x.dtype).to(x.device)
        d = x[0].numel()
        radius = (eps * u ** (1.0 / d)).view(-1, *([1] * (x.dim() - 1)))
        return x + radius * g / (_norms(g) + 1e-30)

    def size(self, delta: torch.Tensor) -> torch.Tensor:
        """Per-image L2 norm [N]."""
        return delta.flatten(1).norm(dim=1)


def as_ball(norm: object) -> LinfBall | L2Ball:
    """``"linf"``/``"l2"`` or a ball object -> the ball object (TypeError/ValueError otherwise)."""
    if isinstance(norm, str):
        key = norm.lower()
        if key == "linf":
            return LinfBall()
        if key == "l2":
            return L2Ball()
        raise ValueError(f"norm must be 'linf', 'l2' or a ball object (LinfBall(), L2Ball()), got {norm!r}")
    if all(callable(getattr(norm, m, None)) for m in ("step", "project", "random_start")):
        return norm  # type: ignore[return-value]
    raise TypeError(
        f"norm must be 'linf', 'l2' or an object with step/project/random_start methods, got {type(norm).__name__}"
    )
