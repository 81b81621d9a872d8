"""Figures of the consistency chapters (11, 12) and the reproduction report (15).

- :func:`consistency_histogram_figure`: the paper's Figure 5, histograms of consis(n) /
  consis_adv(n) over a layer's neurons, one :class:`HistogramPanel` per axes (chapters
  11, 12 and 15 all draw it).
- :func:`adversarial_pairs_figure`: source images beside their adversarial versions.
- :func:`top_images_figure`: a neuron's top real and top adversarial images with their
  discrepancy maps (the paper's Figures 2-3).
- :func:`direction_intervals_figure`: Table 1's direction under each sensitivity variant.
- :func:`ablation_figure`: chapter 12's ablation over seeds (gain of consis_adv, strong accuracy).
- :func:`verdict_bars_figure` and :func:`share_bars_figure`: the report's verdicts per
  group and the share of consistency left on adversarial images.

Every function takes the numbers from its caller, draws, and returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..consistency.sensitivity import Variant
from .grids import image_grid
from .maps import overlay

__all__ = [
    "HistogramPanel",
    "consistency_histogram_figure",
    "adversarial_pairs_figure",
    "top_images_figure",
    "direction_intervals_figure",
    "ablation_figure",
    "verdict_bars_figure",
    "share_bars_figure",
]


@dataclass(frozen=True)
class HistogramPanel:
    """One axes of Figure 5: histograms over the same bins.

    Attributes:
        title: the axes' title.
        edges: the ``bins + 1`` bin edges (increasing).
        bars: ``{label: counts}``, each drawn as translucent bars (``bins`` counts each).
        outlines: ``{label: counts}``, each drawn as a black step outline over the bars.
    """

    title: str
    edges: Sequence[float]
    bars: Mapping[str, Sequence[float]]
    outlines: Mapping[str, Sequence[float]] = field(default_factory=dict)


def _check_panel(i: int, panel: HistogramPanel) -> np.ndarray:
    if not isinstance(panel, HistogramPanel):
        raise TypeError(f"panels[{i}]: expected a HistogramPanel, got {type(panel).__name__}")
    edges = np.asarray(panel.edges, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"panels[{i}].edges: expected at least two increasing edges, got {panel.edges!r}")
    if not panel.bars and not panel.outlines:
        raise ValueError(f"panels[{i}] ({panel.title!r}): nothing to draw (no bars, no outlines)")
    for label, counts in {**panel.bars, **panel.outlines}.items():
        if len(counts) != len(edges) - 1:
            raise ValueError(
                f"panels[{i}] {label!r}: expected {len(edges) - 1} counts (one per bin), got {len(counts)}"
            )
    return edges


def consistency_histogram_figure(
    panels: Sequence[HistogramPanel],
    *,
    ncols: int | None = None,
    xlabel: str = "consistency of a neuron",
    suptitle: str | None = None,
    panel_size: tuple[float, float] = (4.2, 3.2),
    alpha: float = 0.55,
) -> Figure:
    """Figure 5: histograms of consis(n) / consis_adv(n) over a layer's neurons.

    Each panel draws its ``bars`` as translucent bars (one colour per label, in order)
    and its ``outlines`` as black steps; every panel gets a legend, the first column the
    y label "neurons".

    Args:
        panels: one :class:`HistogramPanel` per axes, in reading order.
        ncols: panels per row (default: all in one row).
        xlabel: every panel's x label.
        suptitle: the figure's title (None: none).
        panel_size: width and height of one panel, inches.
        alpha: the bars' opacity.

    Returns:
        The figure.

    Raises:
        ValueError: no panels, ``ncols < 1``, edges not increasing, counts of another
            length than the bins, a panel with nothing to draw.
        TypeError: a panel that is not a :class:`HistogramPanel`.
    """
    panels = list(panels)
    if not panels:
        raise ValueError("panels: expected at least one HistogramPanel, got none")
    checked = [_check_panel(i, p) for i, p in enumerate(panels)]
    ncols = len(panels) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_axis_off()
            continue
        panel, edges = panels[i], checked[i]
        centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        for label, counts in panel.bars.items():
            ax.bar(centres, np.asarray(counts, dtype=float), width=widths, alpha=alpha, label=label)
        for label, counts in panel.outlines.items():
            ax.stairs(np.asarray(counts, dtype=float), edges, color="k", label=label)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(xlabel)
        if i % ncols == 0:
            ax.set_ylabel("neurons")
        ax.legend(fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def standard_vs_adv_figure(
    histograms: Mapping[str, Mapping[str, Any]],
    archs: Sequence[str],
    set_titles: Mapping[str, str],
    *,
    adv_row: str = "consistent-AT",
    suptitle: str | None = None,
) -> Figure:
    """Figure 5 as chapter 12 draws it: one panel per set of adversarial images and
    architecture (sets in rows, architectures in columns), consis_adv of the standard
    model and of its -Adv version.

    Args:
        histograms: :func:`~advinterp_lib.consistency.evaluation.consis_adv_histograms`'s
            ``{set: {arch: {"standard": counts, adv_row: counts}, "edges": [...]}}``.
        archs: the architectures, in column order.
        set_titles: ``{set: what it is}``, in row order (each a key of ``histograms``).
        adv_row: the -Adv model's row.

    Raises:
        KeyError: a set, architecture or row missing from ``histograms``.
    """
    panels = [
        HistogramPanel(
            f"{arch}: {title}",
            histograms[kind]["edges"],
            {arch: histograms[kind][arch]["standard"], f"{arch}-Adv": histograms[kind][arch][adv_row]},
        )
        for kind, title in set_titles.items()
        for arch in archs
    ]
    return consistency_histogram_figure(panels, ncols=len(archs), xlabel="consis_adv(n)", suptitle=suptitle)


def adversarial_pairs_figure(
    source_images: torch.Tensor,
    source_labels: torch.Tensor,
    adversarial_images: torch.Tensor,
    targets: torch.Tensor,
    class_names: Sequence[str],
    *,
    k: int,
    show: int = 6,
    suptitle: str | None = None,
) -> Figure:
    """The first ``show`` source images, each followed by its ``k`` adversarial versions
    (an adversarial set stores source ``i``'s versions at rows ``i k ... i k + k - 1``),
    titled by the source's class and by each version's target.

    Args:
        source_images: [N, C, H, W] in [0, 1]; source_labels: int [N].
        adversarial_images: [N k, C, H, W]; targets: int [N k], each version's target class.
        class_names: a name per class index.
        k: adversarial versions per source; show: sources shown (at most N).
        suptitle: the figure's title.

    Raises:
        ValueError: ``k < 1``, or an adversarial set shorter than ``show * k`` rows.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    show = min(int(show), len(source_images))
    if len(adversarial_images) < show * k or len(targets) < show * k:
        raise ValueError(f"expected at least {show * k} adversarial images and targets ({show} sources x k = {k})")
    images = torch.stack(
        [im for i in range(show) for im in [source_images[i]] + [adversarial_images[i * k + j] for j in range(k)]]
    )
    titles = [
        t
        for i in range(show)
        for t in [f"{class_names[int(source_labels[i])]}"]
        + [f"→ {class_names[int(targets[i * k + j])]}" for j in range(k)]
    ]
    return image_grid(images, ncols=2 * (k + 1), titles=titles, size=1.3, suptitle=suptitle)


def top_images_figure(
    rows: Mapping[str, tuple[torch.Tensor, torch.Tensor, Sequence[str]]], *, suptitle: str | None = None
) -> Figure:
    """A neuron's top images, one row per set, each with its heat map in red
    (:func:`~advinterp_lib.plotting.maps.overlay`, graded opacity).

    Args:
        rows: ``{row label: (images [n, C, H, W] in [0, 1], heat [n, H, W] in [0, 1],
            n titles)}``; every row shows the same number of images n.
        suptitle: the figure's title.

    Raises:
        ValueError: no rows, rows of different lengths, or images, maps and titles of
            different lengths within a row.
    """
    if not rows:
        raise ValueError("rows: expected at least one row, got none")
    lengths = {label: (len(im), len(heat), len(titles)) for label, (im, heat, titles) in rows.items()}
    shown = next(iter(lengths.values()))[0]
    if any(set(n) != {shown} for n in lengths.values()) or shown < 1:
        raise ValueError(f"every row needs the same number (>= 1) of images, maps and titles; got {lengths}")
    fig, axes = plt.subplots(len(rows), shown, figsize=(1.5 * shown, 1.8 * len(rows)), squeeze=False)
    for r, (label, (images, heat, titles)) in enumerate(rows.items()):
        for j in range(shown):
            overlay(axes[r, j], images[j], heat[j], titles[j])
        axes[r, 0].text(-4, images.shape[-2] / 2, label, rotation=90, va="center", ha="right", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def direction_intervals_figure(variants: Mapping[str, Variant], models: Sequence[str]) -> Figure:
    """Table 1's direction under each variant: per model (a panel) and variant (a row),
    consis_adv − consis (dot) and its interval (bar), blue where the direction holds
    (the interval lies below 0) and red where it does not; a dashed line at 0.

    Args:
        variants: ``{key: Variant}`` in the order of the rows.
        models: the models to draw, each a key of every variant's checks.

    Raises:
        ValueError: no variants or models; a model that a variant did not check.
    """
    if not variants or not models:
        raise ValueError("expected at least one variant and one model")
    for key, v in variants.items():
        missing = [m for m in models if m not in v.checks]
        if missing:
            raise ValueError(f"variant {key!r} has no check for {missing}")
    fig, axes = plt.subplots(1, len(models), figsize=(2.8 * len(models) + 3.5, 0.36 * len(variants) + 1.5),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, m in zip(axes[0], models, strict=True):
        for y, v in enumerate(variants.values()):
            d, colour = v.checks[m].difference, "tab:blue" if v.checks[m].holds else "tab:red"
            ax.hlines(y, d.low, d.high, color=colour, lw=2.5)
            ax.plot(d.mean, y, "o", color=colour, ms=4)
        ends = [x for v in variants.values() for x in (v.checks[m].difference.low, v.checks[m].difference.high)]
        ends.append(0.0)
        pad = 0.08 * (max(ends) - min(ends)) or 0.01
        ax.set_xlim(min(ends) - pad, max(ends) + pad)
        ax.axvline(0, color="k", lw=0.8, ls="--")
        ax.set_title(m)
        ax.set_xlabel("consis_adv − consis")
    axes[0, 0].set_yticks(range(len(variants)), [v.label for v in variants.values()], fontsize=8)
    axes[0, 0].invert_yaxis()
    fig.suptitle("Table 1's direction under each variant: consis_adv − consis with its 95% interval "
                 "(blue: below 0, the direction holds; red: it does not)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    return fig


def ablation_figure(
    summary: Mapping[str, Mapping[str, Any]], variants: Sequence[str], *, eps: float, strong_key: str = "strong:apgd-t"
) -> Figure:
    """Chapter 12's ablation over seeds, one row of two panels per architecture: the gain
    of consis_adv over the standard model per variant, and top-1 accuracy under the
    strong attack (standard and variants). Bars: means over seeds with their intervals;
    dots: the seeds.

    Args:
        summary: ``{arch: {"rows": {row: {...}}}}`` of
            :func:`~advinterp_lib.runs.ablation.summarize_ablation` (rows hold
            ``{mean, low, high}`` per measure, ``gain_consis_adv`` and ``per_seed``).
        variants: the variants to show, in order (each a row of every architecture).
        eps: the strong attack's budget (for the title).
        strong_key: the accuracy measure of the right panels.

    Raises:
        ValueError: no architectures; a variant (or ``"standard"``) missing from an architecture's rows.
    """
    if not summary:
        raise ValueError("summary: expected at least one architecture, got none")
    for arch, entry in summary.items():
        missing = [v for v in ("standard", *variants) if v not in entry["rows"]]
        if missing:
            raise ValueError(f"summary[{arch!r}] has no rows {missing}")
    fig, axes = plt.subplots(len(summary), 2, figsize=(12, 3.6 * len(summary)), squeeze=False)
    for r, (arch, entry) in enumerate(summary.items()):
        rows = entry["rows"]
        panels = ((list(variants), "gain_consis_adv", "consis_adv", f"{arch}: Δ consis_adv vs standard (shared set)"),
                  (["standard", *variants], strong_key, strong_key,
                   f"{arch}: top-1 under the strong attack (ε = {eps:g})"))  # fmt: skip
        for ax, (names, key, seed_key, title) in zip(axes[r], panels, strict=True):
            vals = [rows[v][key] for v in names]
            yerr = np.array([[v["mean"] - v["low"] for v in vals], [v["high"] - v["mean"] for v in vals]])
            ax.bar(range(len(names)), [v["mean"] for v in vals], color="C0", alpha=0.6, yerr=yerr, capsize=4)
            offset = rows["standard"]["consis_adv"]["mean"] if key.startswith("gain") else 0.0
            for j, v in enumerate(names):  # one dot per seed
                pts = [p[seed_key] - offset for p in rows[v]["per_seed"]]
                ax.scatter(np.full(len(pts), j) + np.linspace(-0.15, 0.15, len(pts)), pts, color="black", s=12,
                           zorder=3)  # fmt: skip
            ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


#: The colour of each verdict in the report's bars.
VERDICT_COLOURS = {
    "reproduced": "tab:green",
    "not reproduced": "tab:red",
    "not comparable": "tab:gray",
    "no result yet": "gainsboro",
}


def verdict_bars_figure(counts: Mapping[str, Mapping[str, Sequence[int]]], groups: Sequence[str]) -> Figure:
    """The report's verdicts per group of claims: one panel per profile, one stacked
    horizontal bar per group, one colour per verdict.

    Args:
        counts: ``{panel title: {verdict: counts per group}}``, verdicts in stacking order.
        groups: the group names, one per bar (top to bottom).

    Raises:
        ValueError: no panels; counts of another length than ``groups``.
    """
    if not counts:
        raise ValueError("counts: expected at least one panel, got none")
    for title, by_verdict in counts.items():
        bad = [v for v, n in by_verdict.items() if len(n) != len(groups)]
        if bad:
            raise ValueError(f"counts[{title!r}]: expected {len(groups)} counts (one per group) for {bad}")
    fig, axes = plt.subplots(1, len(counts), figsize=(5.5 * len(counts), 0.4 * len(groups) + 1.6), squeeze=False,
                             sharey=True)  # fmt: skip
    for ax, (title, by_verdict) in zip(axes[0], counts.items(), strict=True):
        left = np.zeros(len(groups))
        for verdict, n in by_verdict.items():
            ax.barh(list(groups), n, left=left, color=VERDICT_COLOURS.get(verdict), label=verdict)
            left += np.asarray(n, dtype=float)
        ax.set_xlabel("number of claims")
        ax.set_title(title)
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.suptitle("Verdict of every claim, per group")
    fig.tight_layout()
    return fig


def share_bars_figure(shares: Mapping[str, Mapping[str, float]], models: Sequence[str]) -> Figure:
    """consis_adv / consis per model, one bar group per model and one bar per source
    (the paper's, each profile's); a model a source lacks is left without a bar.

    Args:
        shares: ``{source label: {model: share}}``.
        models: the models, in order along x.

    Raises:
        ValueError: no sources or no models.
    """
    if not shares or not models:
        raise ValueError("expected at least one source of shares and one model")
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / len(shares)
    for i, (label, values) in enumerate(shares.items()):
        ax.bar([j + (i - (len(shares) - 1) / 2) * width for j in range(len(models))],
               [values.get(m, np.nan) for m in models], width=width, label=label)  # fmt: skip
    ax.set_xticks(range(len(models)), list(models), rotation=15)
    ax.set_ylabel("consis_adv / consis")
    ax.set_ylim(0, 1)
    ax.set_title("Share of a layer's consistency left on adversarial images")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
