"""Heat maps over images: where in the picture a neuron, a patch or an explanation points."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes

__all__ = ["overlay"]


def _image_hw(image: torch.Tensor) -> np.ndarray:
    """[C, H, W] in [0, 1] -> [H, W] (grey) or [H, W, 3] (colour) for imshow."""
    if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"image: expected a tensor [1 or 3, H, W], got {getattr(image, 'shape', type(image).__name__)}"
        )
    image = image.detach().cpu()
    return (image.permute(1, 2, 0) if image.shape[0] == 3 else image[0]).numpy()


def overlay(
    ax: Axes,
    image: torch.Tensor,
    heat: torch.Tensor,
    title: str = "",
    *,
    threshold: float | None = None,
    opacity: float = 0.65,
    fontsize: float = 7,
) -> Axes:
    """Draw ``heat`` in red over ``image`` on ``ax``, axes hidden.

    Args:
        ax: the axes to draw on.
        image: [1 or 3, H, W] in [0, 1] (grey or colour).
        heat: [H, W] in [0, 1], the image's size.
        title: the axes' title.
        threshold: ``None`` (default): each pixel's red is as opaque as ``opacity *
            heat``, so the map fades in. A number: a pixel is red at ``opacity`` where
            ``heat > threshold`` and clear elsewhere (a sharp outline of a region).
        opacity: the most opaque the red gets, in [0, 1].
        fontsize: of the title.

    Returns:
        ``ax``.

    Raises:
        ValueError: an image that is not [1 or 3, H, W], a heat map of another size.
    """
    picture = _image_hw(image)
    if not isinstance(heat, torch.Tensor) or tuple(heat.shape) != tuple(picture.shape[:2]):
        raise ValueError(
            f"heat: expected a tensor of the image's size {tuple(picture.shape[:2])}, "
            f"got {getattr(heat, 'shape', type(heat).__name__)}"
        )
    heat = heat.detach().cpu().float()
    alpha = (opacity * (heat > threshold).float()) if threshold is not None else (opacity * heat).clamp(0, 1)
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
    ax.imshow(heat.numpy(), cmap="Reds", alpha=alpha.numpy(), vmin=0, vmax=1)
    ax.set_title(title, fontsize=fontsize)
    ax.set_axis_off()
    return ax
