"""Faithfulness of an attribution map: deletion and insertion curves (Petsiuk et al. 2018).

An explanation claims that some pixels matter more than others. Test the claim on
the model itself:

- **deletion**: set the pixels to a baseline in the order of decreasing attribution
  and record the target's probability after each step. A faithful map makes it fall
  fast: a *small* area under the curve is good.
- **insertion**: start from the baseline and put the pixels back in the same order; a
  faithful map makes the probability rise fast: a *large* area is good.

With ``m_k = round(k * H * W / steps)`` pixels changed at step ``k = 0..steps``, the
curve is ``p_k = softmax(f(x_k))_target`` and its area is the trapezoid rule over the
changed fraction ``k / steps`` in [0, 1]. All channels of a pixel change together;
ties in the map are broken at random (``generator``), so a flat region gets no order
bias. All ``N * (steps + 1)`` perturbed images go through the model in batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attribution import explaining

__all__ = ["PerturbationCurve", "deletion_curve", "insertion_curve"]


@dataclass(frozen=True)
class PerturbationCurve:
    """A deletion or insertion curve for ``N`` images.

    Attributes:
        fractions: [steps + 1], the fraction of pixels deleted (or inserted), 0 to 1.
        probabilities: [N, steps + 1], the target class's softmax probability.
    """

    fractions: torch.Tensor
    probabilities: torch.Tensor

    def auc(self) -> torch.Tensor:
        """Area under each image's curve (trapezoid rule over ``fractions``): [N] in [0, 1]."""
        return torch.trapezoid(self.probabilities, self.fractions, dim=1)


def _check_attribution(attribution: object, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(attribution, torch.Tensor):
        raise TypeError(f"attribution must be a tensor [N, 1, H, W], got {type(attribution).__name__}")
    expected = (x.shape[0], 1, x.shape[2], x.shape[3])
    if tuple(attribution.shape) != expected:
        raise ValueError(
            f"attribution must have shape {expected} (one value per pixel), got {tuple(attribution.shape)}"
        )
    if not torch.isfinite(attribution).all():
        raise ValueError("attribution contains NaN or inf values")
    return attribution


def _baseline_images(baseline: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if isinstance(baseline, torch.Tensor):
        if baseline.shape != x.shape:
            raise ValueError(
                f"baseline must be a number or a tensor shaped like x {tuple(x.shape)}, got {tuple(baseline.shape)}"
            )
        if not torch.isfinite(baseline).all() or baseline.min() < 0 or baseline.max() > 1:
            raise ValueError("baseline images must be finite and in [0, 1]")
        return baseline.detach().to(device=x.device, dtype=x.dtype)
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) or not 0.0 <= float(baseline) <= 1.0:
        raise ValueError(f"baseline must be a number in [0, 1] or a tensor of images, got {baseline!r}")
    return torch.full_like(x, float(baseline))


def _pixel_ranks(attribution: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """rank[n, p] = position of pixel p when sorting image n's map in decreasing order;
    ties in random order."""
    flat = attribution.detach().flatten(1).cpu().double()
    n, m = flat.shape
    shuffle = torch.rand(n, m, generator=generator).argsort(dim=1)
    order_in_shuffle = torch.sort(-flat.gather(1, shuffle), dim=1, stable=True).indices
    order = shuffle.gather(1, order_in_shuffle)  # pixel ids, most important first
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(m).expand(n, m).contiguous())
    return ranks


def _curve(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    attribution: torch.Tensor,
    *,
    steps: int,
    baseline: float | torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None,
    start_from_baseline: bool,
) -> PerturbationCurve:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    with explaining(model, x, target) as ex:
        _check_attribution(attribution, x)
        images = ex.x.detach()
        n, c, h, w = images.shape
        base = _baseline_images(baseline, images)
        ranks = _pixel_ranks(attribution, generator).to(images.device)  # [N, HW]
        counts = torch.round(torch.arange(steps + 1, dtype=torch.float64) * (h * w) / steps).long().to(images.device)
        per_chunk = max(1, batch_size // (steps + 1))
        probabilities = []
        with torch.no_grad():
            for start in range(0, n, per_chunk):
                sl = slice(start, start + per_chunk)
                changed = (ranks[sl, None, :] < counts[None, :, None]).view(-1, steps + 1, 1, h, w)
                changed = changed.to(images.dtype)  # [n', S+1, 1, H, W], 1 = pixel changed
                src, dst = (base[sl], images[sl]) if start_from_baseline else (images[sl], base[sl])
                perturbed = src[:, None] * (1 - changed) + dst[:, None] * changed
                logits = model(perturbed.reshape(-1, c, h, w))
                p = logits.softmax(dim=1).view(-1, steps + 1, logits.shape[1])
                tgt = ex.target[sl].view(-1, 1, 1).expand(-1, steps + 1, 1)
                probabilities.append(p.gather(2, tgt).squeeze(2))
        fractions = counts.double() / (h * w)
        return PerturbationCurve(fractions.cpu(), torch.cat(probabilities).double().cpu())


def deletion_curve(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    attribution: torch.Tensor,
    *,
    steps: int = 28,
    baseline: float | torch.Tensor = 0.0,
    batch_size: int = 1024,
    generator: torch.Generator | None = None,
) -> PerturbationCurve:
    """Deletion curve: replace the most important pixels (per ``attribution``) by the
    baseline, ``steps`` times, and record the target's probability. Lower AUC = more
    faithful.

    Args:
        model: classifier, pixels in [0, 1] -> logits [N, K] (eval mode during the
            call; its mode is restored).
        x: images [N, C, H, W] in [0, 1] (not modified).
        target: int or long tensor [N], the class whose probability is tracked.
        attribution: [N, 1, H, W], larger = more important.
        steps: number of deletion steps (the curve has ``steps + 1`` points).
        baseline: the value deleted pixels take (in [0, 1]), or images like ``x``
            (e.g. a blurred copy).
        batch_size: perturbed images per forward pass.
        generator: random tie-breaking between equal attribution values.

    Returns:
        :class:`PerturbationCurve` (CPU tensors); ``probabilities[:, 0]`` is the
        probability on ``x`` and ``probabilities[:, -1]`` on the baseline.

    Raises:
        TypeError / ValueError: bad ``x``, ``target``, ``attribution`` shape (must be
            [N, 1, H, W]), ``steps``, ``baseline`` or ``batch_size``.
    """
    return _curve(
        model,
        x,
        target,
        attribution,
        steps=steps,
        baseline=baseline,
        batch_size=batch_size,
        generator=generator,
        start_from_baseline=False,
    )


def insertion_curve(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    attribution: torch.Tensor,
    *,
    steps: int = 28,
    baseline: float | torch.Tensor = 0.0,
    batch_size: int = 1024,
    generator: torch.Generator | None = None,
) -> PerturbationCurve:
    """Insertion curve: start from the baseline and put back the most important
    pixels of ``x`` first; higher AUC = more faithful. Arguments as in
    :func:`deletion_curve`; ``probabilities[:, 0]`` is the probability on the
    baseline and ``probabilities[:, -1]`` on ``x``."""
    return _curve(
        model,
        x,
        target,
        attribution,
        steps=steps,
        baseline=baseline,
        batch_size=batch_size,
        generator=generator,
        start_from_baseline=True,
    )
