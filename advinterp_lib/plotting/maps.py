"""Heat maps over images: where in the picture a neuron, a patch or an explanation points."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = ["overlay", "receptive_field_row"]


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


def receptive_field_row(
    images: torch.Tensor,
    maps: torch.Tensor,
    titles: Sequence[str],
    mean_map: torch.Tensor,
    field_size: tuple[int, int],
    *,
    mean_title: str,
    suptitle: str,
    threshold: float | None = None,
    opacity: float = 0.65,
) -> Figure:
    """One unit's top images with their discrepancy maps laid over them (:func:`overlay`),
    and, last, the mean centred map with its half-maximum contour (solid) and the
    theoretical receptive field, a dashed square of ``field_size`` about the centre.

    Args:
        images: [n, 1 or 3, H, W] in [0, 1].
        maps: [n, H, W] in [0, 1], one calibrated map per image.
        titles: one per image.
        mean_map: [h, w], the centred mean map (its centre is the unit's position).
        field_size: (rows, cols) of the theoretical field, in pixels.
        mean_title, suptitle: the last panel's title and the figure's.
        threshold, opacity: as :func:`overlay`.

    Returns:
        The figure: ``n + 1`` axes in one row.

    Raises:
        ValueError: images, maps and titles of different lengths, no image, a
            ``mean_map`` that is not 2-D; as :func:`overlay`.
    """
    if len(images) == 0 or not len(images) == len(maps) == len(titles):
        raise ValueError(
            f"images, maps and titles: expected the same number (at least 1), got "
            f"{len(images)}, {len(maps)}, {len(titles)}"
        )
    if not isinstance(mean_map, torch.Tensor) or mean_map.dim() != 2:
        raise ValueError(f"mean_map: expected a tensor [h, w], got {getattr(mean_map, 'shape', mean_map)}")
    n_cols = len(images) + 1
    fig, axes = plt.subplots(1, n_cols, figsize=(1.25 * n_cols, 1.65))
    for ax, image, heat, title in zip(axes[:-1], images, maps, titles, strict=True):
        overlay(ax, image, heat, title, threshold=threshold, opacity=opacity)
    ax = axes[-1]
    mean = mean_map.detach().cpu()
    ax.imshow(mean.numpy(), cmap="Reds", vmin=0, vmax=1)
    ax.contour(mean.numpy(), levels=[0.5 * float(mean.max())], colors="k", linewidths=0.8)
    centre = mean.shape[0] // 2
    rows, cols = field_size
    ax.add_patch(Rectangle((centre - cols / 2, centre - rows / 2), cols, rows, fill=False, ls="--", ec="tab:blue"))
    ax.set_xlim(-0.5, mean.shape[1] - 0.5)
    ax.set_ylim(mean.shape[0] - 0.5, -0.5)
    ax.set_title(mean_title, fontsize=7)
    ax.set_axis_off()
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig
