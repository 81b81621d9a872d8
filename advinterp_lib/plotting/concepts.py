"""Figures of concepts and of the neurons behind a decision (chapters 10 and 13).

Chapter 10: the WordNet tree of the classes (:func:`lay_out`, :func:`hypernym_tree_plot`),
matrices with their numbers written in (:func:`heat_map`), the matrix A at several
widths (:func:`correlation_panels`) and consis against sigma (:func:`consistency_curves`).

Chapter 13: a neuron's top images side by side (:func:`image_strip`), decisions traced to
their most influential neurons (:func:`trace_figure`), and what removing neurons does
(:func:`removal_curves`, :func:`adversarial_removal_figure`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from ..consistency.concepts import HypernymTree
from ..consistency.tracing import NeuronInfluence

__all__ = [
    "heat_map",
    "lay_out",
    "hypernym_tree_plot",
    "correlation_panels",
    "consistency_curves",
    "image_strip",
    "trace_figure",
    "removal_curves",
    "adversarial_removal_figure",
]


def _matrix(m: object, name: str = "matrix") -> np.ndarray:
    if isinstance(m, torch.Tensor):
        m = m.detach().cpu().numpy()
    if not isinstance(m, np.ndarray) or m.ndim != 2 or 0 in m.shape:
        raise ValueError(
            f"{name}: expected a non-empty 2-D tensor or array, got {getattr(m, 'shape', type(m).__name__)}"
        )
    return m


# ------------------------------------------------------------------ chapter 10


def heat_map(
    ax: Axes,
    matrix: torch.Tensor | np.ndarray,
    labels: Sequence[str],
    title: str,
    *,
    fmt: str = ".2f",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    fontsize: float = 7,
) -> AxesImage:
    """A square matrix as an image with each entry written in its cell.

    Args:
        ax: the axes to draw on.
        matrix: [K, K] (tensor or array).
        labels: K row/column names.
        title: the axes' title.
        fmt: the format of each entry (``format(value, fmt)``).
        cmap, vmin, vmax: as ``imshow``.
        fontsize: of the numbers (the tick labels are one point larger).

    Returns:
        The image (for a colour bar). A number is white on the darker half of the range,
        black on the lighter half.

    Raises:
        ValueError: a matrix that is not square [K, K], or not K labels.
    """
    m = _matrix(matrix)
    if m.shape[0] != m.shape[1] or len(labels) != m.shape[0]:
        raise ValueError(f"expected a square matrix and one label per row; got {m.shape} and {len(labels)} labels")
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
    span = m.max() - m.min() + 1e-12
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            dark = (m[i, j] - m.min()) / span < 0.5
            ax.text(j, i, format(float(m[i, j]), fmt), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=fontsize + 1)
    ax.set_yticks(range(len(labels)), labels, fontsize=fontsize + 1)
    ax.set_title(title)
    return im


def lay_out(
    children: Mapping[Hashable, Sequence[Hashable]], depth: Mapping[Hashable, int], root: Hashable
) -> dict[Hashable, tuple[float, float]]:
    """Positions for drawing a tree top-down: leaves at consecutive x (0, 1, ...) in the
    order of ``children``, each parent above the middle of its children, y = -depth.

    Args:
        children: each inner node's children (a node absent or without children is a leaf).
        depth: every node's depth (the root's is usually 0).
        root: where to start.

    Returns:
        ``{node: (x, y)}`` for every node below and including ``root``.

    Raises:
        KeyError: a node without a depth.
        ValueError: a cycle (a node reached twice).
    """
    position: dict[Hashable, tuple[float, float]] = {}
    next_leaf = 0

    def place(node: Hashable) -> None:
        nonlocal next_leaf
        if node in position:
            raise ValueError(f"the tree reaches {node!r} twice (a cycle or a shared child)")
        kids = children.get(node, [])
        if not kids:
            position[node] = (next_leaf, -depth[node])
            next_leaf += 1
            return
        for kid in kids:
            place(kid)
        position[node] = (cast(float, np.mean([position[k][0] for k in kids])), -depth[node])  # np.float64

    place(root)
    return position


def hypernym_tree_plot(
    ax: Axes, tree: HypernymTree, leaf_labels: Mapping[Any, str], *, title: str = ""
) -> dict[Any, tuple[float, float]]:
    """Draw a tree of WordNet synsets (:func:`~advinterp_lib.consistency.concepts.hypernym_tree`):
    grey edges, each node as a box with its lemma (``name().split(".")[0]``); the nodes in
    ``leaf_labels`` (the classes) in orange with their label below; y is the depth below
    the root.

    Returns:
        The layout, ``{node: (x, y)}`` (:func:`lay_out`).

    Raises:
        as :func:`lay_out`.
    """
    children, depth, root = tree.children, tree.depth, tree.root
    position: dict[Any, tuple[float, float]] = lay_out(children, depth, root)  # nodes: synsets
    for parent, kids in children.items():
        for kid in kids:
            (x0, y0), (x1, y1) = position[parent], position[kid]
            ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)
    for node, (x, y) in position.items():
        is_class = node in leaf_labels
        label = node.name().split(".")[0] + (f"\n[{leaf_labels[node]}]" if is_class else "")
        box = {"boxstyle": "round,pad=0.25", "fc": "tab:orange" if is_class else "white", "ec": "0.4", "alpha": 0.95}
        ax.text(x, y, label, ha="center", va="center", fontsize=7.5, zorder=2, bbox=box)
    deepest = max(depth[n] for n in position)
    leaves = sum(1 for n in position if not children.get(n))
    ax.set_xlim(-1, leaves)
    ax.set_ylim(-deepest - 0.7, 0.7)
    ax.set_yticks(-np.arange(deepest + 1), np.arange(deepest + 1))
    ax.set_ylabel(f"depth below {root.name()}")
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title)
    return position


def correlation_panels(
    matrices: Mapping[float, torch.Tensor | np.ndarray], labels: Sequence[str], *, title: str = ""
) -> Figure:
    """One panel per kernel width: ``{sigma: A}`` on a shared 0-1 colour scale, one colour bar.

    Raises:
        ValueError: no matrices, or one that is not [K, K] with K = len(labels).
    """
    if not matrices:
        raise ValueError("matrices: expected at least one {sigma: matrix} entry")
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.5 * len(matrices), 3.6), squeeze=False)
    for ax, (sigma, a) in zip(axes[0], matrices.items(), strict=True):
        m = _matrix(a)
        if m.shape != (len(labels), len(labels)):
            raise ValueError(f"A at sigma={sigma:g}: expected [{len(labels)}, {len(labels)}], got {m.shape}")
        im = ax.imshow(m, cmap="magma", vmin=0, vmax=1)
        ax.set_title(f"A at σ = {sigma:g}")
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
        ax.set_yticks(range(len(labels)), labels, fontsize=6)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def consistency_curves(
    ax: Axes, sigmas: Sequence[float], scores: Mapping[str, Sequence[float]], *, chosen: float | None = None
) -> Axes:
    """consis(n) of some neurons against the kernel width: one line per neuron, a dotted
    vertical line at the ``chosen`` width.

    Raises:
        ValueError: no neurons, or a neuron with not one score per width.
    """
    if not scores:
        raise ValueError("scores: expected at least one neuron")
    for name, values in scores.items():
        if len(values) != len(sigmas):
            raise ValueError(f"{name}: expected {len(sigmas)} scores (one per sigma), got {len(values)}")
        ax.plot(sigmas, values, "o-", label=name)
    if chosen is not None:
        ax.axvline(chosen, color="grey", ls=":", lw=1)
    ax.set_xlabel("σ")
    ax.set_ylabel("consis(n) = pᵀ A p")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"consis of {len(scores)} example neurons as σ grows")
    ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------ chapter 13


def image_strip(images: torch.Tensor, indices: Sequence[int] | torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` of ``images[indices]`` side by side: float [H, n * W] (grey: channel 0).

    Raises:
        ValueError: images that are not [M, C, H, W], no indices, or ``n`` < 1.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(
            f"images: expected a tensor [M, C, H, W], got {getattr(images, 'shape', type(images).__name__)}"
        )
    if len(indices) == 0 or n < 1:
        raise ValueError(f"expected at least one index and n >= 1, got {len(indices)} indices and n={n}")
    return torch.cat([images[int(i), 0] for i in indices[:n]], dim=1)


def _traced(inf: NeuronInfluence, names: Sequence[str]) -> str:
    what = names[int(inf.target[0])]
    return what + (f" − {names[int(inf.contrast[0])]}" if inf.contrast is not None else "")


def trace_figure(
    decisions: Mapping[str, tuple[torch.Tensor, int, NeuronInfluence]],
    *,
    top_images: torch.Tensor,
    images: torch.Tensor,
    image_labels: torch.Tensor,
    consis: torch.Tensor,
    consis_adv: torch.Tensor,
    names: Sequence[str],
    top_k: int,
    n_shown: int = 5,
    model_name: str = "",
) -> Figure:
    """Decisions traced to their most influential neurons, one row a decision (chapter 13):
    the image; bars of the prediction difference and gradient x activation of its
    ``top_k`` most supporting neurons; and each neuron's top real images, titled with the
    share of its top images that show the traced class and its consis / consis_adv.

    Args:
        decisions: ``{case: (image [1, H, W], true class, influence)}``, the influence of
            that one image (:func:`~advinterp_lib.consistency.tracing.neuron_influence`).
        top_images: int64 [C, q], each neuron's top images (indices into ``images``).
        images: float [M, 1, H, W]; image_labels: int64 [M].
        consis, consis_adv: float [C].
        names: the class names.
        top_k: neurons per decision; n_shown: top images per neuron.
        model_name: for the title.

    Returns:
        The figure: per row 1 + 1 + ``top_k`` axes.

    Raises:
        ValueError: no decisions; ``top_k`` outside [1, C].
    """
    if not decisions:
        raise ValueError("decisions: expected at least one {case: (image, label, influence)} entry")
    fig = plt.figure(figsize=(12, 3.6 * len(decisions)))
    outer = fig.add_gridspec(len(decisions), 3, width_ratios=[1.0, 2.0, 2.4], wspace=0.25, hspace=0.45)
    for r, (case, (image, label, inf)) in enumerate(decisions.items()):
        neurons, pd = (t[0] for t in inf.top(top_k))
        gxa = inf.gradient_x_activation[0, neurons]
        traced = int(inf.target[0])
        ax = fig.add_subplot(outer[r, 0])
        ax.imshow(image[0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
        ax.set_title(f"{case}: true {names[label]}\npredicted {names[int(inf.prediction[0])]}", fontsize=8)
        ax = fig.add_subplot(outer[r, 1])
        ypos = np.arange(top_k)
        ax.barh(ypos - 0.2, pd.numpy(), height=0.4, label="prediction difference")
        ax.barh(ypos + 0.2, gxa.numpy(), height=0.4, label="gradient × activation")
        ax.set_yticks(ypos, [f"n{int(n)}" for n in neurons])
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.5)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(f"contribution to the score of {_traced(inf, names)}", fontsize=7)
        if r == 0:
            ax.legend(fontsize=6, loc="lower right")
        inner = outer[r, 2].subgridspec(top_k, 1, hspace=0.5)
        for j, n in enumerate(neurons.tolist()):
            ax = fig.add_subplot(inner[j])
            ax.imshow(image_strip(images, top_images[n], n_shown).cpu().numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(f"n{n}", rotation=0, ha="right", va="center", fontsize=7)
            share = (image_labels[top_images[n]] == traced).float().mean().item()
            ax.set_title(
                f"{share:.0%} {names[traced]} · consis {consis[n]:.2f} · consis_adv {consis_adv[n]:.2f}",
                fontsize=6.5,
                loc="left",
                pad=2,
            )
    fig.suptitle(f"{model_name}: decisions traced to the neurons of {inf.layer}", y=0.995)
    return fig


def removal_curves(
    curves: Mapping[str, torch.Tensor | Sequence[float]],
    flipped: Mapping[str, torch.Tensor | Sequence[float]],
    *,
    title: str = "",
) -> Figure:
    """Two panels, one line per order of removal: the mean true-class logit and the share
    of correct decisions that flip, against the number of neurons removed
    (:func:`~advinterp_lib.consistency.tracing.removal_effect`).

    Raises:
        ValueError: no curves, other orders in ``flipped``, or lines of different lengths.
    """
    if not curves or list(curves) != list(flipped):
        raise ValueError(f"curves and flipped need the same orders, got {list(curves)} and {list(flipped)}")
    lengths = {len(v) for v in curves.values()} | {len(v) for v in flipped.values()}
    if len(lengths) != 1:
        raise ValueError(f"every line needs the same length (steps + 1), got {sorted(lengths)}")
    steps = range(lengths.pop())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for label in curves:
        axes[0].plot(steps, np.asarray(curves[label]), marker=".", label=label)
        axes[1].plot(steps, np.asarray(flipped[label]), marker=".", label=label)
    axes[0].set(xlabel="neurons removed", ylabel="mean logit of the true class", title="score as the top neurons go")
    axes[1].set(xlabel="neurons removed", ylabel="share of correct predictions lost", title="decisions that flip")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def adversarial_removal_figure(
    margin: torch.Tensor | Sequence[float],
    shares: Mapping[str, torch.Tensor | Sequence[float]],
    *,
    margin_label: str,
    title: str,
) -> Figure:
    """Left: one adversarial image's margin (adversarial over true class) as neurons go,
    with the zero line; right: the share of adversarial images classified correctly
    again, one line per order of removal, on a 0-1 scale.

    Raises:
        ValueError: no shares, or lines of different lengths.
    """
    if not shares:
        raise ValueError("shares: expected at least one {order: share} entry")
    lengths = {len(margin)} | {len(v) for v in shares.values()}
    if len(lengths) != 1:
        raise ValueError(f"every line needs the same length (steps + 1), got {sorted(lengths)}")
    steps = range(lengths.pop())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    axes[0].plot(steps, np.asarray(margin), marker=".")
    axes[0].axhline(0, color="k", lw=0.5)
    axes[0].set(xlabel="neurons removed", ylabel=margin_label, title="the adversarial image above")
    for label, share in shares.items():
        axes[1].plot(steps, np.asarray(share), marker=".", label=label)
    axes[1].legend(fontsize=8)
    axes[1].set(xlabel="neurons removed", ylabel="share classified as the true class", ylim=(0, 1), title=title)
    fig.tight_layout()
    return fig
