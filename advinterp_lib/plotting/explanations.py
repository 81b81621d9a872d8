"""Explanation maps and how they compare (chapters 3 and 4): a table of maps per image,
histograms of per-image correlations, deletion and insertion curves."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..interpret.faithfulness import PerturbationCurve
from ..validation import same_methods

__all__ = ["MapRow", "show_maps", "correlation_histograms", "perturbation_curves"]

#: One row of :func:`show_maps`: the image [C, H, W], the row's label, and the maps
#: [1, H, W] (or [H, W]) by column title.
MapRow = tuple[torch.Tensor, str, Mapping[str, torch.Tensor]]


def _hw(t: torch.Tensor, what: str) -> np.ndarray:
    if not isinstance(t, torch.Tensor) or t.dim() not in (2, 3) or (t.dim() == 3 and t.shape[0] != 1):
        raise ValueError(f"{what}: expected a tensor [1, H, W] or [H, W], got {getattr(t, 'shape', type(t).__name__)}")
    return t.detach().cpu().reshape(t.shape[-2:]).numpy()


def show_maps(rows: Sequence[MapRow], title: str, *, signed: Collection[str] = (), size: float = 1.55) -> Figure:
    """A table of explanation maps: one row per image, the image first, then one column per map.

    A signed column is drawn red (positive) and blue (negative) on a scale symmetric
    about 0; any other column in ``inferno`` from 0 to the map's maximum. Column titles
    break at ``": "``, so ``"Grad-CAM: runner-up"`` reads on two lines.

    Args:
        rows: ``(image [1 or 3, H, W] in [0, 1], row label, {column title: map})``; every
            row has the same columns, in the same order.
        title: the figure's title.
        signed: column titles drawn signed; a title also counts when its part before the
            first ``": "`` is in ``signed`` (``"guided backprop: top class"``).
        size: inches per panel.

    Returns:
        The figure (``len(rows)`` x ``1 + columns`` axes, ticks hidden).

    Raises:
        ValueError: no rows, no maps, rows with other columns, a map or image of a bad shape.
    """
    if not rows or not rows[0][2]:
        raise ValueError("rows: need at least one row with at least one map")
    columns = list(rows[0][2])
    for r, (_, _, maps) in enumerate(rows):
        if list(maps) != columns:
            raise ValueError(f"rows[{r}]: expected the columns {columns}, got {list(maps)}")
    ncols = 1 + len(columns)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, size * len(rows)), squeeze=False)
    for r, (image, label, maps) in enumerate(rows):
        if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] not in (1, 3):
            raise ValueError(f"rows[{r}]: image must be [1 or 3, H, W], got {getattr(image, 'shape', image)}")
        picture = image.detach().cpu().numpy()
        axes[r, 0].imshow(
            picture[0] if picture.shape[0] == 1 else picture.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1
        )
        axes[r, 0].set_ylabel(label, fontsize=8)
        for c, (column, heat) in enumerate(maps.items(), start=1):
            m = _hw(heat, f"rows[{r}][{column!r}]")
            if column in signed or column.split(": ")[0] in signed:
                v = float(np.abs(m).max()) or 1.0
                axes[r, c].imshow(m, cmap="RdBu_r", vmin=-v, vmax=v)
            else:
                axes[r, c].imshow(m, cmap="inferno", vmin=0, vmax=float(m.max()) or 1.0)
            if r == 0:
                axes[r, c].set_title(column.replace(": ", "\n"), fontsize=8)
    axes[0, 0].set_title("image", fontsize=8)
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def correlation_histograms(
    correlations: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    xlabel: str,
    title: str,
    colours: Sequence[str] | None = None,
    bins: int = 40,
) -> Figure:
    """Histograms of per-image correlations in [-1, 1], one panel per model, one histogram
    per method (NaN values, from constant maps, are left out).

    Args:
        correlations: model -> method -> float [N] (every model with the same methods).
        xlabel: the x axis of every panel; title: the figure's title.
        colours: one per method (default: matplotlib's cycle).
        bins: equal bins over [-1, 1].

    Returns:
        The figure: one panel per model (shared y axis), the legend on the last.

    Raises:
        ValueError: no models, models with other methods, too few colours, ``bins < 1``.
    """
    methods = same_methods(correlations, "correlations")
    if colours is not None and len(colours) < len(methods):
        raise ValueError(f"colours: need one per method ({len(methods)}), got {len(colours)}")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    edges = np.linspace(-1, 1, bins + 1)
    fig, axes = plt.subplots(1, len(correlations), figsize=(3.3 * len(correlations), 2.8), sharey=True, squeeze=False)
    for ax, (model, per_method) in zip(axes[0], correlations.items(), strict=True):
        for i, (method, values) in enumerate(per_method.items()):
            v = torch.as_tensor(values).detach().cpu().double().numpy()
            colour = colours[i] if colours is not None else None
            ax.hist(v[np.isfinite(v)], bins=edges, alpha=0.55, color=colour, label=method)
        ax.set_title(model, fontsize=9)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel("images")
    axes[0, -1].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def perturbation_curves(
    curves: Mapping[str, Mapping[str, tuple[PerturbationCurve, PerturbationCurve]]],
    *,
    title: str,
    reference: str = "random",
) -> Figure:
    """Mean deletion (top row) and insertion (bottom row) curves, one column per model.

    Args:
        curves: model -> method -> ``(deletion, insertion)``, each a
            :class:`~advinterp_lib.interpret.PerturbationCurve` (``fractions`` [S],
            ``probabilities`` [N, S]).
        title: the figure's title.
        reference: the method drawn as a dashed black line (random order).

    Returns:
        The figure: 2 x models axes, one line per method in each.

    Raises:
        ValueError: no models.
    """
    if not curves:
        raise ValueError("curves: need at least one model")
    fig, axes = plt.subplots(2, len(curves), figsize=(3.3 * len(curves), 5.2), sharex=True, sharey=True, squeeze=False)
    for j, (model, per_method) in enumerate(curves.items()):
        for method, pair in per_method.items():
            style = {"color": "black", "linestyle": "--"} if method == reference else {}
            for row, curve in enumerate(pair):
                axes[row, j].plot(curve.fractions, curve.probabilities.mean(0), label=method, **style)
        axes[0, j].set_title(f"{model}: deletion (lower is better)", fontsize=9)
        axes[1, j].set_title(f"{model}: insertion (higher is better)", fontsize=9)
        axes[1, j].set_xlabel("fraction of pixels deleted / inserted")
    for r in range(2):
        axes[r, 0].set_ylabel("mean p(predicted class)")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
