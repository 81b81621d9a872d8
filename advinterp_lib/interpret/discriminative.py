"""Class-discriminativeness of an explanation: does the map change with the class?

Selvaraju et al. (2017) call a map class-discriminative when it shows evidence for one
class and not for another. Chapter 3 measures it per image as the Pearson correlation
between the map of the top class and the map of the runner-up,

.. math::  \\rho = \\operatorname{corr}\\big(M^{c_1}(x),\\, M^{c_2}(x)\\big),

near 1 for a map that draws the same picture whatever the class (guided backprop),
lower for one that moves with it (Grad-CAM).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..models.state import eval_mode, model_device
from ..stats import pearson_correlation
from ..validation import check_images

__all__ = ["top_two_classes", "runner_up_correlation"]


def top_two_classes(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The top class and the runner-up of each image, by logit.

    One forward pass over all of ``x`` on the model's device, in eval mode (each
    submodule's mode restored) and without gradients.

    Args:
        model: a classifier returning logits [N, K], K >= 2.
        x: images [N, C, H, W] in [0, 1].

    Returns:
        ``(first, second)``: int64 [N] each, on ``x``'s device.

    Raises:
        TypeError / ValueError: bad images.
    """
    check_images(x, "x", model=model)
    with eval_mode(model), torch.no_grad():
        first, second = model(x.to(model_device(model, x.device))).topk(2, dim=1).indices.to(x.device).unbind(1)
    return first, second


def runner_up_correlation(
    attribute: Callable[..., torch.Tensor],
    model: nn.Module,
    x: torch.Tensor,
    classes: tuple[torch.Tensor, torch.Tensor],
    **params: Any,
) -> torch.Tensor:
    """Per image, the Pearson correlation between ``attribute``'s map for the first class
    and its map for the second (e.g. the top class and the runner-up).

    Args:
        attribute: an attribution method of the library's call shape,
            ``attribute(model, x, target, **params) -> [N, 1, H, W]`` (e.g. ``grad_cam``).
        model, x: the classifier and the images [N, C, H, W].
        classes: ``(first, second)``, int [N] each, e.g. :func:`top_two_classes`.
        **params: passed on to ``attribute`` (e.g. ``relu=False``).

    Returns:
        float64 [N] in [-1, 1]; NaN where either map is constant.

    Raises:
        ValueError: ``classes`` not a pair of [N] tensors; as ``attribute``.
    """
    if len(classes) != 2 or any(tuple(c.shape) != (len(x),) for c in classes):
        raise ValueError(f"classes: expected a pair of int tensors [{len(x)}], got {[tuple(c.shape) for c in classes]}")
    first, second = classes
    return pearson_correlation(attribute(model, x, first, **params), attribute(model, x, second, **params))
