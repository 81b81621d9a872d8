"""Chapter 5 -- adversarial examples: the tables and records around FGSM.

The chapter calls FGSM, its sweep over ε, the linearity check and the loss surface
itself; this module holds what it shows around them:

- :func:`linearity_table`: the actual loss increase over the first-order prediction;
- :func:`least_likely_fgsm` and :func:`least_likely_table`: FGSM aimed at each image's
  least-likely class, against the untargeted attack;
- :func:`surface_record` and :func:`describe_surface`: the loss at three corners of the
  slice spanned by the signed gradient and an orthogonal direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..attacks import fgsm, least_likely
from ..attacks.transfer import misclassification_rate, target_rate
from ..tables import markdown_table


def linearity_table(linearity: Mapping[str, Sequence[Mapping[str, float]]], eps_values: Sequence[float]) -> str:
    """Markdown, one row per ε: per model, the ratio of the actual loss increase to the
    first-order prediction (:func:`~advinterp_lib.attacks.linearity.fgsm_linearity`)."""
    archs = list(linearity)
    rows = [[eps, *(f"{linearity[a][e]['ratio']:.2f}" for a in archs)] for e, eps in enumerate(eps_values)]
    return markdown_table(["ε", *archs], rows)


def least_likely_fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float) -> tuple[float, float]:
    """FGSM aimed at each image's least-likely class (one targeted step of ``eps``):
    ``(share that reaches its target, share misclassified)``."""
    targets = least_likely(model, x=x)[:, 0]
    x_ll = fgsm(model, x, targets, eps=eps, targeted=True)
    return target_rate(model, x_ll, targets), misclassification_rate(model, x_ll, y)


def least_likely_table(
    success: Mapping[str, float], fooled: Mapping[str, float], untargeted_error: Mapping[str, float]
) -> str:
    """Markdown, one row per model: :func:`least_likely_fgsm`'s two shares beside the
    untargeted FGSM's error at the same ε."""
    rows = [[a, f"{success[a]:.1%}", f"{fooled[a]:.1%}", f"{untargeted_error[a]:.1%}"] for a in success]
    headers = ["model", "reaches the least-likely class", "misclassified", "misclassified by untargeted FGSM"]
    return markdown_table(headers, rows)


def surface_record(surface: torch.Tensor, *, surface_range: float) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The loss on a slice [images, eps1, eps2] (``attacks.loss_surface``, first axis along
    g, second along g⊥, both from 0 to ``surface_range``) at x, at x + r·g and at x + r·g⊥.

    Returns:
        ``(means, per image)``: ``{"images", "loss_at_x_mean", "loss_along_g_mean",
        "loss_along_g_perp_mean", "range"}`` and ``{"at_x", "along_g", "along_g_perp"}``.

    Raises:
        ValueError: not a 3-d tensor.
    """
    if not isinstance(surface, torch.Tensor) or surface.dim() != 3:
        raise ValueError(f"surface: expected [images, eps1, eps2], got {getattr(surface, 'shape', type(surface))}")
    at_x, along_g, along_perp = surface[:, 0, 0], surface[:, -1, 0], surface[:, 0, -1]
    means = {
        "images": len(surface),
        "loss_at_x_mean": float(at_x.mean()),
        "loss_along_g_mean": float(along_g.mean()),
        "loss_along_g_perp_mean": float(along_perp.mean()),
        "range": surface_range,
    }
    return means, {"at_x": at_x.tolist(), "along_g": along_g.tolist(), "along_g_perp": along_perp.tolist()}


def describe_surface(means: Mapping[str, Any]) -> str:
    """One markdown sentence of :func:`surface_record`'s means."""
    r = means["range"]
    return (
        f"Mean loss at $x$: {means['loss_at_x_mean']:.3f}; at $x + {r} g$: {means['loss_along_g_mean']:.3f}; "
        f"at $x + {r} g^\\perp$: {means['loss_along_g_perp_mean']:.3f}."
    )
