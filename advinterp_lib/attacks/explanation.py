"""An attack on the explanation, not the prediction: move the Grad-CAM map, keep the class.

The usual attack changes the label. This one asks the reverse question of chapter 14:
can a small perturbation change *where Grad-CAM says the model looks* while the model
still predicts the same class? (Ghorbani, Abid & Zou 2019, "Interpretation of neural
networks is fragile"; Dombrowski et al. 2019, "Explanations can be manipulated".)

With ``c`` the model's prediction on ``x``, ``m(x')`` the Grad-CAM map of class ``y``
at ``layer`` normalised to sum 1 (a distribution of "attention" over the layer's
positions; uniform when the map is all zero), and ``z`` the logits, projected sign
ascent in the L-inf ball maximises

    J(x') = TV(m(x'), m(x)) - penalty * max(0, max_{k != c} z_k(x') - z_c(x') + margin)

where ``TV(p, q) = 1/2 sum |p - q|`` is the total-variation distance: the share of the
map's mass that moved, in [0, 1]. The hinge keeps the prediction. The attack returns,
per image, the iterate with the largest TV among those the model still classifies as
``c`` (``x`` itself, TV 0, when none is), so **the prediction is kept on every image
by construction**.

Grad-CAM is differentiated *through* its channel weights (``create_graph=True``). In a
ReLU network the weights ``dz/dA`` are piecewise constant in ``x`` (their gradient is
zero almost everywhere), so the ascent works through the activations ``A`` the map
is built from, which is enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models.layers import last_conv_layer
from ..models.layers import layer as layer_by_name
from .base import LinfBall, attack_mode, check_attack_inputs, check_budget, check_count
from .iterative import ProjectedStep, iterate

__all__ = ["ExplanationAttackResult", "grad_cam_attack", "grad_cam_distribution", "map_shift"]


@dataclass(frozen=True)
class ExplanationAttackResult:
    """What :func:`grad_cam_attack` found.

    Attributes:
        x_adv: float [N, C, H, W] in [0, 1], ``|x_adv - x| <= eps``.
        shift: float [N] in [0, 1], the total-variation distance between the
            normalised Grad-CAM maps of ``x`` and ``x_adv`` (0 where nothing better
            than ``x`` was found).
        prediction: int64 [N], the model's class on ``x`` -- and on ``x_adv``.
        iterations: int64 [N], the step at which the returned iterate was reached
            (0 = ``x`` itself).
    """

    x_adv: torch.Tensor
    shift: torch.Tensor
    prediction: torch.Tensor
    iterations: torch.Tensor

    @property
    def success(self) -> torch.Tensor:
        """bool [N]: the map moved (``shift > 0``) with the prediction kept."""
        return self.shift > 0


def _cam_and_logits(
    model: nn.Module, module: nn.Module, x: torch.Tensor, y: torch.Tensor, *, create_graph: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM of class ``y`` at ``module`` ([N, h, w], >= 0, differentiable in x when
    ``create_graph``) and the logits [N, K]. The hook is removed in ``finally``."""
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    if len(captured) != 1 or not isinstance(captured[0], torch.Tensor) or captured[0].dim() != 4:
        got = (
            tuple(captured[0].shape)
            if captured and isinstance(captured[0], torch.Tensor)
            else f"{len(captured)} outputs"
        )
        raise ValueError(f"Grad-CAM needs a layer called once with a spatial output [N, C, h, w], got {got}")
    acts = captured[0]
    score = logits.gather(1, y[:, None]).sum()
    (grads,) = torch.autograd.grad(score, acts, create_graph=create_graph)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * acts).sum(dim=1))
    return cam, logits


def _normalise(cam: torch.Tensor) -> torch.Tensor:
    """[N, h, w] >= 0 -> distributions over the h*w positions (uniform for an all-zero map)."""
    flat = cam.flatten(1)
    total = flat.sum(dim=1, keepdim=True)
    uniform = torch.full_like(flat, 1.0 / flat.shape[1])
    return torch.where(total > 0, flat / total.clamp_min(1e-30), uniform)


def map_shift(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Total-variation distance ``1/2 sum |p - q|`` between paired distributions
    [N, M] (rows summing to 1): [N] in [0, 1]."""
    return 0.5 * (p - q).abs().sum(dim=1)


def grad_cam_distribution(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, layer: str | None = None
) -> torch.Tensor:
    """The Grad-CAM map of class ``y`` at ``layer`` (default ``model.last_conv``), at the
    layer's resolution, normalised to sum 1: float [N, h * w] (uniform where the map is
    all zero). Model in eval mode during the call, its mode restored; ``x`` unchanged.

    Raises:
        TypeError / ValueError: bad images or classes, unknown layer, a layer without a
            spatial output.
    """
    module = layer_by_name(model, last_conv_layer(model) if layer is None else layer)
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y)
        with torch.enable_grad():
            cam, _ = _cam_and_logits(model, module, xd.detach().requires_grad_(True), yd, create_graph=False)
    return _normalise(cam.detach()).to(x.device)


def grad_cam_attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    step_size: float | None = None,
    steps: int = 20,
    layer: str | None = None,
    penalty: float = 10.0,
    margin: float = 0.0,
    random_start: bool = True,
    generator: torch.Generator | None = None,
) -> ExplanationAttackResult:
    """Move the Grad-CAM map of class ``y`` as far as possible (total variation) within
    ``|x' - x| <= eps`` while the model keeps its prediction on every image.

    Args:
        model: classifier, pixels in [0, 1] -> logits [N, K], with ``last_conv`` or
            pass ``layer``; eval mode during the attack, its mode restored.
        x: float images [N, C, H, W] in [0, 1]; not modified.
        y: int [N], the class whose map is moved (usually the model's prediction).
        eps: L-inf budget in [0, 1] pixel units.
        step_size: sign-ascent step (default ``eps / 4``).
        steps: ascent steps, >= 1.
        layer: the Grad-CAM layer (a ``named_modules()`` name).
        penalty: weight of the hinge that keeps the prediction, >= 0.
        margin: the logit margin the hinge asks the prediction to keep, >= 0 (0: the
            hinge acts only once the prediction is lost; a margin larger than the
            model's own would spend the budget on the margin instead of the map).
        random_start: start from a uniform point of the ball (the map's gradient at
            ``x`` itself can vanish, e.g. on a flat map).
        generator: random source of the start.

    Returns:
        :class:`ExplanationAttackResult` on ``x``'s device.

    Raises:
        TypeError / ValueError: bad images, classes, budgets, counts, or layer.
    """
    eps = check_budget(eps, "eps")
    step_size = eps / 4 if step_size is None else check_budget(step_size, "step_size")
    steps = check_count(steps, "steps")
    penalty = check_budget(penalty, "penalty", upper=None)
    margin = check_budget(margin, "margin", upper=None)
    if not isinstance(random_start, bool):
        raise TypeError(f"random_start must be a bool, got {type(random_start).__name__}")
    module = layer_by_name(model, last_conv_layer(model) if layer is None else layer)
    ball = LinfBall()
    with attack_mode(model):
        x0, yd = check_attack_inputs(model, x, y)
        with torch.enable_grad():
            cam0, logits0 = _cam_and_logits(model, module, x0.detach().requires_grad_(True), yd, create_graph=False)
        reference = _normalise(cam0.detach())
        prediction = logits0.detach().argmax(dim=1)
        best = x0.clone()
        best_shift = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
        best_step = torch.zeros(x0.shape[0], dtype=torch.int64, device=x0.device)
        others = torch.ones_like(logits0, dtype=torch.bool).scatter_(1, prediction[:, None], False)

        def track(x_t: torch.Tensor, t: int, *, create_graph: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """The shift of ``x_t``'s map; keeps ``x_t`` where it beats the best so far."""
            nonlocal best, best_shift, best_step
            xi = x_t.detach().requires_grad_(True)
            cam, logits = _cam_and_logits(model, module, xi, yd, create_graph=create_graph)
            shift = map_shift(_normalise(cam), reference)
            kept = logits.argmax(dim=1) == prediction
            better = kept & (shift.detach() > best_shift)
            best = torch.where(better[:, None, None, None], xi.detach(), best)
            best_shift = torch.where(better, shift.detach(), best_shift)
            best_step = torch.where(better, torch.full_like(best_step, t), best_step)
            return xi, shift, logits

        def gradient(x_t: torch.Tensor, t: int) -> torch.Tensor:
            with torch.enable_grad():
                xi, shift, logits = track(x_t, t, create_graph=True)
                z_c = logits.gather(1, prediction[:, None]).squeeze(1)
                z_other = logits.masked_fill(~others, float("-inf")).amax(dim=1)
                objective = shift - penalty * torch.relu(z_other - z_c + margin)
                (grad,) = torch.autograd.grad(objective.sum(), xi)
            return grad

        start = "unprojected" if random_start else False
        update = ProjectedStep(x0, ball, eps=eps, step_size=step_size, random_start=start, generator=generator)
        x_last = iterate(update, gradient, steps)
        with torch.enable_grad():
            track(x_last, steps, create_graph=False)  # the last iterate is a candidate too
    return ExplanationAttackResult(
        x_adv=best.to(x.device),
        shift=best_shift.to(x.device),
        prediction=prediction.to(x.device),
        iterations=best_step.to(x.device),
    )
