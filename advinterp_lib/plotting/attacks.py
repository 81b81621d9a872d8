"""Figures of the attack chapters (5-8): adversarial images beside their sources, loss
surfaces, DeepFool's steps, perturbation sizes, error curves, transfer matrices and the
black-box attack's progress (matplotlib only; the numbers come from the caller).

Each function draws a new figure and returns it, or draws on the axes it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .grids import deepfool_path_plot, image_grid, loss_surface_plot

__all__ = [
    "adversarial_rows",
    "black_box_progress",
    "deepfool_steps_figure",
    "error_curves",
    "image_and_perturbation",
    "loss_surface_figure",
    "perturbation_histograms",
    "score_per_step",
    "targets_grid",
    "transfer_heatmaps",
]

Values = torch.Tensor | np.ndarray | Sequence[float]


def _np(t: Values) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _check_titles(titles: Sequence[str] | None, n: int, name: str) -> None:
    if titles is not None and len(titles) != n:
        raise ValueError(f"{name}: expected {n} titles (one per image), got {len(titles)}")


def adversarial_rows(
    x: torch.Tensor,
    x_adv: torch.Tensor,
    *,
    clean_titles: Sequence[str],
    adversarial_titles: Sequence[str],
    perturbation: torch.Tensor | None = None,
    perturbation_titles: Sequence[str] | None = None,
    suptitle: str | None = None,
    figsize: tuple[float, float] = (11, 5.6),
) -> Figure:
    """Three rows: the clean images, their adversarial versions, the perturbations
    (red +, blue -, each centred at 0 on its own range).

    Args:
        x, x_adv: float [N, C, H, W] in [0, 1], N >= 1.
        clean_titles, adversarial_titles: one title per image for the first two rows.
        perturbation: [N, C, H, W] (default ``x_adv - x``).
        perturbation_titles: optional titles of the third row.
        suptitle: the figure's title.
        figsize: the figure's size in inches.

    Returns:
        The figure (3 x N axes).

    Raises:
        ValueError: images of different shapes, titles of another count.
    """
    if x.dim() != 4 or x.shape != x_adv.shape or len(x) == 0:
        raise ValueError(
            f"x and x_adv must be [N >= 1, C, H, W] of one shape, got {tuple(x.shape)}, {tuple(x_adv.shape)}"
        )
    n = len(x)
    perturbation = x_adv - x if perturbation is None else perturbation
    if perturbation.shape != x.shape:
        raise ValueError(f"perturbation: expected shape {tuple(x.shape)}, got {tuple(perturbation.shape)}")
    for titles, name in (
        (clean_titles, "clean_titles"),
        (adversarial_titles, "adversarial_titles"),
        (perturbation_titles, "perturbation_titles"),
    ):
        _check_titles(titles, n, name)
    fig, axes = plt.subplots(3, n, figsize=figsize, squeeze=False)
    image_grid(x, ncols=n, titles=list(clean_titles), axes=axes[0])
    image_grid(x_adv, ncols=n, titles=list(adversarial_titles), axes=axes[1])
    image_grid(perturbation, ncols=n, normalize="symmetric", titles=perturbation_titles, axes=axes[2])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def loss_surface_figure(
    surface: torch.Tensor,
    eps1: Values,
    eps2: Values,
    *,
    source: str,
    other: str,
    view: tuple[float, float] = (25, -130),
) -> Figure:
    """The loss around one image (3-D, left) and its mean over images (contours, right).

    Args:
        surface: float [N, n1, n2] from :func:`advinterp_lib.attacks.loss_surface`.
        eps1, eps2: the grid along g (n1) and g_perp (n2).
        source: the model whose loss is drawn and whose gradient sign is g.
        other: the model whose direction gives g_perp.
        view: the 3-D axes' (elevation, azimuth).

    Returns:
        The figure (two axes, the first 3-D).

    Raises:
        ValueError: a surface that is not [N >= 1, n1, n2] for the grid.
    """
    if surface.dim() != 3 or len(surface) == 0 or tuple(surface.shape[1:]) != (len(eps1), len(eps2)):
        raise ValueError(f"surface: expected [N >= 1, {len(eps1)}, {len(eps2)}], got {tuple(surface.shape)}")
    fig = plt.figure(figsize=(11, 4.2))
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    loss_surface_plot(ax3d, surface[0], eps1, eps2, title=f"{source}: loss around one image")
    ax3d.view_init(elev=view[0], azim=view[1])
    ax2 = fig.add_subplot(1, 2, 2)
    loss_surface_plot(
        ax2, surface.mean(0), eps1, eps2, title=f"mean over {len(surface)} images (g: {source}, g⊥: {other})"
    )
    fig.tight_layout()
    return fig


def score_per_step(ax: Axes, scores: torch.Tensor, iterations: torch.Tensor, *, n_lines: int = 40) -> Axes:
    """One line per image: f(x_i) * sign f(x_0) against the step i, up to the image's
    last step, with the boundary 0 in black.

    Args:
        ax: the axes to draw on.
        scores: float [T + 1, N], the binary score at each iterate (``DeepFoolBinaryResult.scores``).
        iterations: int [N], each image's steps.
        n_lines: at most this many images (the first ones).

    Returns:
        ``ax``.

    Raises:
        ValueError: shapes that do not match, n_lines < 1.
    """
    if scores.dim() != 2 or iterations.shape != (scores.shape[1],) or n_lines < 1:
        raise ValueError(
            f"scores [T + 1, N] and iterations [N] must match and n_lines >= 1, got "
            f"{tuple(scores.shape)}, {tuple(iterations.shape)}, {n_lines}"
        )
    n = min(n_lines, scores.shape[1])
    for j in range(n):
        t = int(iterations[j])
        ax.plot(range(t + 1), scores[: t + 1, j] * torch.sign(scores[0, j]), color="tab:blue", alpha=0.4)
    ax.axhline(0, color="k")
    ax.set_xlabel("step i")
    ax.set_ylabel("f(x_i) · sign f(x_0)")
    ax.set_title(f"the score per step, {n} images")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def deepfool_steps_figure(
    plane: torch.Tensor,
    eps1: Values,
    eps2: Values,
    path: torch.Tensor,
    scores: torch.Tensor,
    iterations: torch.Tensor,
    *,
    title: str,
    n_lines: int = 40,
) -> Figure:
    """Left: one image's DeepFool path on the plane of its score (see
    :func:`~advinterp_lib.plotting.grids.deepfool_path_plot`); right: the score per step
    of many images (:func:`score_per_step`).

    Args:
        plane: float [n1, n2], the score on the plane; eps1, eps2: its grid.
        path: float [T + 1, 2], the iterates on the plane.
        scores, iterations, n_lines: as in :func:`score_per_step`.
        title: the left panel's title.

    Returns:
        The figure (two axes plus the colour bar).

    Raises:
        ValueError: see the two panels.
    """
    if plane.dim() != 2 or path.dim() != 2 or path.shape[1] != 2:
        raise ValueError(f"plane must be [n1, n2] and path [T + 1, 2], got {tuple(plane.shape)}, {tuple(path.shape)}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.25, 1]})
    deepfool_path_plot(axes[0], plane, eps1, eps2, path, title=title)
    axes[0].set_aspect("equal")
    score_per_step(axes[1], scores, iterations, n_lines=n_lines)
    fig.tight_layout()
    return fig


def image_and_perturbation(
    x: torch.Tensor,
    x_adv: torch.Tensor,
    perturbation: torch.Tensor,
    *,
    titles: Sequence[str] = ("x", "x + r̂ (shown clipped)", "r̂ (red +, blue −)"),
) -> Figure:
    """One image, its adversarial version (clipped to [0, 1] for display) and the
    perturbation (diverging colours), side by side.

    Args:
        x, x_adv, perturbation: [C, H, W] each.
        titles: three titles.

    Returns:
        The figure (three axes).

    Raises:
        ValueError: shapes that differ, not three titles.
    """
    if not (x.shape == x_adv.shape == perturbation.shape) or x.dim() != 3 or len(titles) != 3:
        raise ValueError("x, x_adv and perturbation must be [C, H, W] of one shape, with three titles")
    fig, axes = plt.subplots(1, 3, figsize=(5.4, 2.1))
    image_grid(torch.stack([x, x_adv.clamp(0, 1)]), ncols=2, titles=list(titles[:2]), axes=axes[:2])
    image_grid(perturbation[None], ncols=1, normalize="symmetric", titles=[titles[2]], axes=axes[2:])
    fig.tight_layout()
    return fig


def perturbation_histograms(
    sizes: Mapping[str, tuple[Values, Values]],
    *,
    labels: tuple[str, str] = ("DeepFool", "FGSM (minimal ε)"),
    bins: int = 30,
    title: str = "L2 size of the perturbation that fools each image",
) -> Figure:
    """Per model, a histogram of two attacks' perturbation sizes (one panel each, shared y).

    Args:
        sizes: model name -> (sizes of the first attack, sizes of the second), float [M].
        labels: the two attacks' names (the legend).
        bins: histogram bins.
        title: the figure's title.

    Returns:
        The figure (one axes per model).

    Raises:
        ValueError: no models.
    """
    if not sizes:
        raise ValueError("sizes: need at least one model")
    fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.2), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, (first, second)) in zip(axes, sizes.items(), strict=True):
        ax.hist([_np(first), _np(second)], bins=bins, label=list(labels))
        ax.set_xlabel("‖r‖₂")
        ax.set_title(name)
    axes[0].set_ylabel("images")
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


_STYLES = ("o-", "s--", "^-.", "d:")


def error_curves(
    eps_values: Values,
    curves: Mapping[str, Mapping[str, Values]],
    *,
    baseline: Mapping[str, float] | None = None,
    baseline_label: str = "clean error",
    title: str | None = None,
) -> Figure:
    """One panel per model: error rate against eps (log scale) for each attack.

    Args:
        eps_values: the budgets [E] (> 0: the axis is logarithmic).
        curves: model -> attack label -> error rates [E] in [0, 1] (at most four attacks).
        baseline: optional model -> a rate drawn as a dotted grey line (the clean error).
        baseline_label: its legend entry.
        title: the figure's title.

    Returns:
        The figure (one axes per model; the first holds the legend).

    Raises:
        ValueError: no models, more than four attacks, a curve of another length than
            eps_values, a baseline missing a model.
    """
    e = _np(eps_values)
    if not curves:
        raise ValueError("curves: need at least one model")
    for name, attacks in curves.items():
        if len(attacks) > len(_STYLES) or any(len(_np(v)) != len(e) for v in attacks.values()):
            raise ValueError(f"curves[{name!r}]: at most {len(_STYLES)} attacks, each with {len(e)} values")
        if baseline is not None and name not in baseline:
            raise ValueError(f"baseline: no value for {name!r}")
    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.2), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, attacks) in zip(axes, curves.items(), strict=True):
        for style, (label, values) in zip(_STYLES, attacks.items(), strict=False):
            ax.plot(e, _np(values), style, label=label)
        if baseline is not None:
            ax.axhline(baseline[name], color="grey", lw=0.8, ls=":", label=baseline_label)
        ax.set_xscale("log")
        ax.set_xlabel("ε (L∞, pixels in [0, 1])")
        ax.set_title(name)
    axes[0].set_ylabel("error rate on attacked images")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def targets_grid(
    sources: torch.Tensor,
    adversarial: torch.Tensor,
    *,
    source_titles: Sequence[str],
    adversarial_titles: Sequence[str],
    size: float = 1.5,
    suptitle: str | None = None,
) -> Figure:
    """One row per source image: the source, then its k adversarial versions.

    Args:
        sources: [S, C, H, W].
        adversarial: [S * k, C, H, W], source i's versions at rows i * k .. i * k + k - 1.
        source_titles: S titles; adversarial_titles: S * k titles.
        size: inches per image.
        suptitle: the figure's title.

    Returns:
        The figure (S x (k + 1) axes).

    Raises:
        ValueError: no sources, an adversarial count that is not a multiple of S, titles
            of another count.
    """
    s = len(sources)
    if s == 0 or len(adversarial) == 0 or len(adversarial) % s:
        raise ValueError(f"adversarial: expected k >= 1 images per source ({s} sources), got {len(adversarial)}")
    k = len(adversarial) // s
    _check_titles(source_titles, s, "source_titles")
    _check_titles(adversarial_titles, s * k, "adversarial_titles")
    images, titles = [], []
    for i in range(s):
        images.append(sources[i])
        titles.append(source_titles[i])
        images.extend(adversarial[i * k : (i + 1) * k])
        titles.extend(adversarial_titles[i * k : (i + 1) * k])
    return image_grid(torch.stack(images), ncols=k + 1, titles=titles, size=size, suptitle=suptitle)


def transfer_heatmaps(
    targeted: np.ndarray,
    misclassified: np.ndarray,
    sources: Sequence[str],
    evaluated_on: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """Two matrices side by side (rows: crafted on, columns: evaluated on), each cell
    labelled with its percentage: targeted success and misclassification.

    Args:
        targeted, misclassified: [sources, models] fractions in [0, 1].
        sources, evaluated_on: the row and column names.
        title: the figure's title.

    Returns:
        The figure (two axes and a colour bar).

    Raises:
        ValueError: matrices of another shape than the names.
    """
    shape = (len(sources), len(evaluated_on))
    targeted, misclassified = np.asarray(targeted), np.asarray(misclassified)
    if targeted.shape != shape or misclassified.shape != shape:
        raise ValueError(f"targeted and misclassified must be {shape}, got {targeted.shape}, {misclassified.shape}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    panels = (targeted, "targeted success (predicts the target)"), (misclassified, "misclassified (any wrong class)")
    for ax, (matrix, panel_title) in zip(axes, panels, strict=True):
        im = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                colour = "white" if matrix[i, j] < 0.6 else "black"
                ax.text(j, i, f"{matrix[i, j]:.0%}", ha="center", va="center", color=colour, fontsize=9)
        ax.set_xticks(range(len(evaluated_on)), list(evaluated_on))
        ax.set_xlabel("evaluated on")
        ax.set_title(panel_title, fontsize=10)
    axes[0].set_yticks(range(len(sources)), list(sources))
    axes[0].set_ylabel("crafted on")
    fig.colorbar(im, ax=axes, shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


_REFERENCE_STYLES = (("tab:red", "--"), ("tab:purple", "-."), ("grey", ":"), ("tab:brown", (0, (1, 3))))


def black_box_progress(
    queries: Sequence[int],
    transfer_success: Values,
    agreement: Values,
    *,
    references: Mapping[str, float],
    ylabel: str = "fraction",
    title: str | None = None,
) -> Figure:
    """The black-box attack per round: transfer success and surrogate-oracle agreement
    against the queries spent (log 2 scale), with horizontal reference lines.

    Args:
        queries: cumulative oracle queries per round (> 0).
        transfer_success, agreement: fractions per round.
        references: label -> a fraction drawn as a horizontal line (at most four).
        ylabel, title: the axes' labels.

    Returns:
        The figure (one axes).

    Raises:
        ValueError: series of different lengths, a query count <= 0, too many references.
    """
    q = [int(v) for v in queries]
    if not q or len(_np(transfer_success)) != len(q) or len(_np(agreement)) != len(q) or min(q) <= 0:
        raise ValueError("queries (> 0), transfer_success and agreement must be non-empty and of one length")
    if len(references) > len(_REFERENCE_STYLES):
        raise ValueError(f"references: at most {len(_REFERENCE_STYLES)}, got {len(references)}")
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(q, _np(transfer_success), "o-", label="black-box: surrogate from oracle labels")
    ax.plot(q, _np(agreement), "s:", color="tab:green", label="surrogate–oracle agreement")
    for (label, value), (colour, style) in zip(references.items(), _REFERENCE_STYLES, strict=False):
        ax.axhline(value, color=colour, ls=style, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(q, [str(v) for v in q])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("oracle queries (cumulative, log scale)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7.5, loc="lower right")
    fig.tight_layout()
    return fig
