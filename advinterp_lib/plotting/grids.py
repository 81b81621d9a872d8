"""Image grids and curves shared by the chapters (matplotlib only; no computation)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import torch

if TYPE_CHECKING:
    from mpl_toolkits.mplot3d import Axes3D


def _as_hw(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """[C,H,W] or [H,W] tensor/array -> [H,W] (gray) or [H,W,3] array for imshow."""
    a = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    return a


def image_grid(
    images: torch.Tensor | Sequence[torch.Tensor],
    *,
    ncols: int = 8,
    titles: Sequence[str] | None = None,
    cmap: str = "gray",
    size: float = 1.3,
    normalize: str = "none",
    suptitle: str | None = None,
    axes: Sequence[plt.Axes] | None = None,
) -> plt.Figure:
    """Show images ([N,C,H,W] or a list of [C,H,W]/[H,W]) in a grid.

    ``normalize``: ``"none"`` shows values as they are in [0, 1]; ``"each"`` stretches
    each image to its own min..max (for feature maps and filters); ``"symmetric"``
    centres each at 0 with a diverging colour map (for signed filters or gradients).
    """
    if normalize not in ("none", "each", "symmetric"):
        raise ValueError(f"normalize must be 'none', 'each' or 'symmetric', got {normalize!r}")
    items = [_as_hw(im) for im in images]
    n = len(items)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    cells: Iterable[plt.Axes]
    if axes is None:
        fig, ax = plt.subplots(
            nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)), squeeze=False
        )
        cells = ax.ravel()
    else:
        fig = cast(plt.Figure, axes[0].figure)  # axes of a figure, not of a subfigure
        cells = axes
    for i, a in enumerate(cells):
        a.set_axis_off()
        if i >= n:
            continue
        im = items[i]
        if normalize == "symmetric":
            m = float(np.abs(im).max()) or 1.0
            a.imshow(im, cmap="RdBu_r", vmin=-m, vmax=m)
        elif normalize == "each":
            a.imshow(im, cmap=cmap)
        else:
            a.imshow(im, cmap=cmap, vmin=0.0, vmax=1.0)
        if titles is not None:
            a.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def neighbour_grid(
    queries: torch.Tensor,
    neighbours: torch.Tensor,
    *,
    query_labels: torch.Tensor,
    neighbour_labels: torch.Tensor,
    class_names: Sequence[str],
    title: str | None = None,
    size: float = 1.0,
) -> plt.Figure:
    """One row per query: the query image, then its neighbours ([Q,k,C,H,W]); a
    neighbour of another class than its query is framed in red and titled with its class."""
    q, k = neighbours.shape[:2]
    fig, axes = plt.subplots(q, k + 1, figsize=(size * (k + 1.3), size * q + 0.5), squeeze=False)
    for i in range(q):
        axes[i, 0].imshow(_as_hw(queries[i]), cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(class_names[int(query_labels[i])], fontsize=7, fontweight="bold")
        for j in range(k):
            ax = axes[i, j + 1]
            ax.imshow(_as_hw(neighbours[i, j]), cmap="gray", vmin=0, vmax=1)
            wrong = int(neighbour_labels[i, j]) != int(query_labels[i])
            if wrong:
                ax.set_title(class_names[int(neighbour_labels[i, j])], fontsize=6, color="red")
            for spine in ax.spines.values():
                spine.set_visible(wrong)
                spine.set_color("red")
                spine.set_linewidth(2)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_axis_off()
    axes[0, 1].annotate("nearest  →", xy=(0, 1.35), xycoords="axes fraction", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# --- attacks (chapters 5-6) ---------------------------------------------------------


def _np(t: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def accuracy_curves(
    ax: plt.Axes,
    eps: torch.Tensor | Sequence[float],
    curves: dict[str, torch.Tensor | Sequence[float]],
    *,
    title: str | None = None,
    xlabel: str = "ε (L∞, pixels in [0, 1])",
) -> plt.Axes:
    """One accuracy-vs-eps line per entry of ``curves`` (name -> accuracies [E] in [0, 1])."""
    e = _np(eps)
    for name, acc in curves.items():
        ax.plot(e, _np(acc), marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def loss_surface_plot(
    ax: plt.Axes,
    surface: torch.Tensor | np.ndarray,
    eps1: torch.Tensor | np.ndarray | Sequence[float],
    eps2: torch.Tensor | np.ndarray | Sequence[float],
    *,
    title: str | None = None,
    labels: tuple[str, str] = ("ε₁ (along g)", "ε₂ (along g⊥)"),
    zlabel: str = "loss",
) -> plt.Axes:
    """Draw a loss surface [n1, n2] (row i at eps1[i], column j at eps2[j]; from
    ``attacks.surface.loss_surface``): a 3-D surface on a 3-D axes
    (``projection="3d"``), filled contours otherwise."""
    z = _np(surface)
    e1, e2 = np.meshgrid(_np(eps1), _np(eps2), indexing="ij")
    if getattr(ax, "name", "") == "3d":
        ax3d = cast("Axes3D", ax)
        ax3d.plot_surface(e1, e2, z, cmap="viridis", linewidth=0, antialiased=True)
        ax3d.set_zlabel(zlabel)
    else:
        cs = ax.contourf(e1, e2, z, levels=20, cmap="viridis")
        ax.figure.colorbar(cs, ax=ax, label=zlabel)
        ax.plot([0], [0], "w+", markersize=10)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if title:
        ax.set_title(title)
    return ax


def deepfool_path_plot(
    ax: plt.Axes,
    scores: torch.Tensor | np.ndarray,
    eps1: torch.Tensor | np.ndarray | Sequence[float],
    eps2: torch.Tensor | np.ndarray | Sequence[float],
    path: torch.Tensor | np.ndarray,
    *,
    title: str | None = None,
    labels: tuple[str, str] = ("along r̂ (total perturbation)", "orthogonal direction"),
) -> plt.Axes:
    """A binary score f on a 2-D slice [n1, n2] (diverging colours, the boundary f = 0 in
    black) with the DeepFool iterates ``path`` [T + 1, 2] (slice coordinates) as arrows."""
    z = _np(scores)
    e1, e2 = np.meshgrid(_np(eps1), _np(eps2), indexing="ij")
    m = float(np.abs(z).max()) or 1.0
    levels = matplotlib.ticker.MaxNLocator(nbins=20, symmetric=True).tick_values(-m, m)
    cs = ax.contourf(e1, e2, z, levels=levels, cmap="RdBu_r")
    ax.figure.colorbar(cs, ax=ax, label="f(x)")
    ax.contour(e1, e2, z, levels=[0.0], colors="k", linewidths=2)
    p = _np(path)
    ax.plot(p[:, 0], p[:, 1], "o-", color="gold", markeredgecolor="k", zorder=3)
    for i, (a, b) in enumerate(p):
        ax.annotate(f"x{i}", (a, b), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if title:
        ax.set_title(title)
    return ax
