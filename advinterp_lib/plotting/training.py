"""Figures of adversarial training (chapter 9): accuracies under attack per objective, and
the loss surfaces of a standard and an FGSM-trained model side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .grids import loss_surface_plot

__all__ = ["robustness_bars", "surface_pair"]


def robustness_bars(
    ax: Axes,
    results: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    kinds: Sequence[str] = ("clean", "fgsm", "pgd"),
    title: str = "",
) -> Axes:
    """Grouped bars of top-1 accuracy: one group per model (training objective), one bar
    per kind of image (clean, FGSM, PGD), on a 0-1 scale.

    Args:
        ax: the axes to draw on.
        results: ``{model: {kind: {"top1": ...}}}`` (each value from
            :func:`~advinterp_lib.training.evaluate_robustness`).
        kinds: the kinds to show, in order (legend: ``clean`` as is, others upper-case).
        title: the axes' title.

    Returns:
        ``ax``.

    Raises:
        ValueError: no models or kinds, or a model without a kind's top-1 accuracy.
    """
    rows = list(results)
    if not rows or not kinds:
        raise ValueError("results and kinds must each name at least one entry")
    width = 0.81 / len(kinds)
    for i, kind in enumerate(kinds):
        try:
            heights = [results[r][kind]["top1"] for r in rows]
        except (KeyError, TypeError) as err:
            raise ValueError(f"every model needs a top-1 accuracy for {kind!r}") from err
        offset = (i - (len(kinds) - 1) / 2) * width
        ax.bar(
            [j + offset for j in range(len(rows))],
            heights,
            width=width,
            label=kind if kind == "clean" else kind.upper(),
        )
    ax.set_xticks(range(len(rows)), rows, rotation=20)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def surface_pair(
    surfaces: Mapping[str, torch.Tensor],
    grid: torch.Tensor | Sequence[float],
    *,
    arch: str,
    elev: float = 25,
    azim: float = -130,
) -> Figure:
    """The mean loss surface of each model in a 3-D panel of its own, side by side.

    Args:
        surfaces: ``{model: float [N, n, n]}`` (from
            :func:`~advinterp_lib.training.gradient_masking.masking_surfaces`).
        grid: the n steps along both directions.
        arch: the architecture, for the titles.
        elev, azim: the 3-D view.

    Returns:
        The figure, one 3-D axes per model, titled with the number of images.

    Raises:
        ValueError: no surfaces, or one that is not [N, n, n] with n = len(grid).
    """
    if not surfaces:
        raise ValueError("surfaces: expected at least one {model: surface} entry")
    n = len(grid)
    fig = plt.figure(figsize=(5.5 * len(surfaces), 4.2))
    for i, (name, s) in enumerate(surfaces.items()):
        if not isinstance(s, torch.Tensor) or s.dim() != 3 or tuple(s.shape[1:]) != (n, n):
            raise ValueError(f"{name}: expected a surface [N, {n}, {n}], got {getattr(s, 'shape', type(s).__name__)}")
        ax = fig.add_subplot(1, len(surfaces), i + 1, projection="3d")
        loss_surface_plot(ax, s.mean(0), grid, grid, title=f"{arch}, {name}: mean loss over {len(s)} images")
        ax.view_init(elev=elev, azim=azim)
    fig.tight_layout()
    return fig
