"""Chapter 14's figures: explanations of attacked images, the attack on the explanation,
and the spectra of adversarial perturbations (matplotlib only; no computation).

Each function draws a new figure from numbers the caller computed (with
:mod:`advinterp_lib.studies.explanations_under_attack`) and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = [
    "attacked_maps_figure",
    "agreement_figure",
    "explanation_attack_figure",
    "spectra_figure",
    "radial_profiles_figure",
    "filtered_accuracy_figure",
]

#: Colours of the agreement figure's two comparisons.
CLASS_COLOURS = {"true class": "tab:blue", "adv. class": "tab:red"}


def _hw(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _no_ticks(axes: np.ndarray) -> None:
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])


def attacked_maps_figure(
    images: torch.Tensor,
    maps: Sequence[tuple[str, Mapping[str, torch.Tensor]]],
    *,
    titles: Sequence[str],
    methods: Sequence[str],
    signed: Sequence[str] = ("occlusion",),
    suptitle: str = "",
) -> Figure:
    """One row per image: the image, then for each method the maps of every entry of
    ``maps`` (e.g. the clean map, the attacked image's map for the true class and for
    the predicted class).

    Args:
        images: float [n, 1, H, W] in [0, 1], the images of the rows (first column).
        maps: ``(label, method -> maps [>= n, 1, H, W])`` per map column of a method;
            row ``i`` shows map ``i``.
        titles: one title per row's image.
        methods: the methods, in column order; the first row's map titles name the
            method and the label.
        signed: methods whose maps are signed (diverging colours, symmetric range);
            the others are shown from 0 to their maximum.
        suptitle: the figure's title.

    Returns:
        The figure: ``n`` rows of ``1 + len(methods) * len(maps)`` axes.

    Raises:
        ValueError: no images, titles not one per image, a method missing from a map
            entry, or fewer maps than images.
    """
    n = images.shape[0] if isinstance(images, torch.Tensor) and images.dim() == 4 else 0
    if n == 0:
        raise ValueError("images must be a non-empty tensor [n, 1, H, W]")
    if len(titles) != n:
        raise ValueError(f"titles: expected one per image ({n}), got {len(titles)}")
    for label, entry in maps:
        for method in methods:
            if method not in entry:
                raise ValueError(f"maps[{label!r}] has no {method!r} maps")
            if entry[method].shape[0] < n:
                raise ValueError(f"maps[{label!r}][{method!r}] holds {entry[method].shape[0]} maps for {n} images")
    cols = 1 + len(methods) * len(maps)
    fig, axes = plt.subplots(n, cols, figsize=(1.25 * cols, 1.45 * n), squeeze=False)
    for i in range(n):
        axes[i, 0].imshow(_hw(images[i, 0]), cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(titles[i], fontsize=6)
        col = 1
        for method in methods:
            for label, entry in maps:
                heat = entry[method][i, 0]
                v = float(heat.abs().max()) or 1.0
                cmap, lo = ("RdBu_r", -v) if method in signed else ("inferno", 0.0)
                axes[i, col].imshow(_hw(heat), cmap=cmap, vmin=lo, vmax=v)
                if i == 0:
                    axes[i, col].set_title(f"{method}\n{label}", fontsize=5.5)
                col += 1
    _no_ticks(axes)
    fig.suptitle(suptitle, fontsize=8)
    fig.tight_layout()
    return fig


def agreement_figure(
    agreement: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    attacks: Sequence[str],
    *,
    reference: str = "noise",
    measure: str = "spearman",
) -> Figure:
    """Per model (rows) and method (columns): for the reference and every attack, the
    mean and interval of ``measure`` between the clean and the perturbed map, for the
    true class (blue) and the adversarial class (red); a dashed line at the agreement
    with another image.

    Args:
        agreement: model -> method -> comparison (``"<setting>, true class"``,
            ``"<attack>, adv. class"``, ``"another image"``) -> measure ->
            ``{"mean", "low", "high"}``; a missing comparison is skipped.
        attacks: the attacks, in x-axis order after ``reference``.
        reference: the first x-axis entry.
        measure: ``"spearman"`` or ``"overlap"``.

    Returns:
        The figure, ``len(agreement) x len(methods)`` axes sharing y.

    Raises:
        ValueError: no models, or models with different methods.
    """
    names = list(agreement)
    if not names:
        raise ValueError("agreement must hold at least one model")
    methods = list(agreement[names[0]])
    if any(list(agreement[n]) != methods for n in names):
        raise ValueError("every model of agreement must have the same methods")
    fig, axes = plt.subplots(
        len(names), len(methods), figsize=(3.6 * len(methods), 2.7 * len(names)), squeeze=False, sharey=True
    )
    settings = [reference, *attacks]
    for r, name in enumerate(names):
        for c, method in enumerate(methods):
            ax, e = axes[r, c], agreement[name][method]
            for j, s in enumerate(settings):
                for k, cls in enumerate(CLASS_COLOURS):
                    item = e.get(f"{s}, {cls}")
                    if item is None:
                        continue
                    m = item[measure]
                    ax.errorbar(
                        j + (k - 0.5) * 0.25, m["mean"], yerr=[[m["mean"] - m["low"]], [m["high"] - m["mean"]]],
                        fmt="o", color=CLASS_COLOURS[cls], label=cls if j == 1 else None, markersize=4, capsize=2,
                    )  # fmt: skip
            ax.axhline(
                e["another image"][measure]["mean"], color="grey", linestyle="--", linewidth=1, label="another image"
            )
            ax.set_xticks(range(len(settings)), settings, fontsize=7)
            ax.set_title(f"{name}: {method}", fontsize=9)
            if c == 0:
                ax.set_ylabel("Spearman with the clean map" if measure == "spearman" else "overlap with the clean map")
    axes[0, -1].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        "How much of the clean explanation survives each attack (mean and 95 % interval over images)", fontsize=10
    )
    fig.tight_layout()
    return fig


def explanation_attack_figure(
    clean: torch.Tensor,
    clean_maps: torch.Tensor,
    attacked: torch.Tensor,
    attacked_maps: torch.Tensor,
    *,
    clean_labels: Sequence[str],
    attacked_labels: Sequence[str],
    shift: torch.Tensor,
    suptitle: str = "",
) -> Figure:
    """One row per image: the clean image and its map, the attacked image and its map.

    Args:
        clean, attacked: float [n, 1, H, W] in [0, 1].
        clean_maps, attacked_maps: float [n, 1, H, W], the maps (each shown from its
            own minimum to maximum).
        clean_labels, attacked_labels: the class shown in each image's title.
        shift: float [n], the share of the map moved (in the attacked map's title).
        suptitle: the figure's title.

    Returns:
        The figure: ``n`` rows of 4 axes, axes hidden.

    Raises:
        ValueError: inputs of different lengths, or none.
    """
    n = clean.shape[0]
    lengths = {len(clean_maps), len(attacked), len(attacked_maps), len(clean_labels), len(attacked_labels), len(shift)}
    if n == 0 or lengths != {n}:
        raise ValueError(f"every input must hold the same number (>= 1) of images, got {sorted(lengths | {n})}")
    fig, axes = plt.subplots(n, 4, figsize=(6.4, 1.6 * n), squeeze=False)
    for r in range(n):
        panels = [
            (clean[r, 0], f"clean: {clean_labels[r]}"),
            (clean_maps[r, 0], "Grad-CAM"),
            (attacked[r, 0], f"attacked: {attacked_labels[r]}"),
            (attacked_maps[r, 0], f"Grad-CAM (moved {float(shift[r]):.0%})"),
        ]
        for col, (img, title) in enumerate(panels):
            if col % 2 == 0:
                axes[r, col].imshow(_hw(img), cmap="gray", vmin=0, vmax=1)
            else:
                axes[r, col].imshow(_hw(img), cmap="inferno")
            axes[r, col].set_title(title, fontsize=7)
            axes[r, col].axis("off")
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def spectra_figure(spectra: Mapping[str, Mapping[str, torch.Tensor]]) -> Figure:
    """A grid of log10 amplitude spectra: one row per model, one column per setting.

    Args:
        spectra: model -> setting -> float [H, W] > 0, ``fftshift``-ed (zero frequency
            in the centre); every model with the same settings.

    Returns:
        The figure, axes in [-1/2, 1/2] cycles per pixel, ticks hidden.

    Raises:
        ValueError: no models, or models with different settings.
    """
    names = list(spectra)
    if not names:
        raise ValueError("spectra must hold at least one model")
    settings = list(spectra[names[0]])
    if any(list(spectra[n]) != settings for n in names):
        raise ValueError("every model of spectra must have the same settings")
    fig, axes = plt.subplots(len(names), len(settings), figsize=(1.9 * len(settings), 1.9 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c, s in enumerate(settings):
            axes[r, c].imshow(_hw(spectra[name][s].log10()), cmap="viridis", extent=(-0.5, 0.5, 0.5, -0.5))
            axes[r, c].set_title(f"{name}: {s}", fontsize=7)
    _no_ticks(axes)
    fig.suptitle("Mean amplitude spectrum of the perturbation (log10, zero frequency in the centre)", fontsize=9)
    fig.tight_layout()
    return fig


def radial_profiles_figure(
    radius: torch.Tensor,
    profiles: Mapping[str, Mapping[str, torch.Tensor]],
    attacks: Sequence[str],
    *,
    cutoff: float,
    reference: str = "noise",
) -> Figure:
    """One panel per attack: each model's radial profile (log scale), the first model's
    ``reference`` profile dashed, and a vertical line at ``cutoff``.

    Args:
        radius: float [B], the ring centres (cycles per pixel).
        profiles: model -> setting -> float [B] (the attacks and ``reference``).
        attacks: the settings drawn, one panel each.
        cutoff: the low-frequency cut-off marked.
        reference: the setting drawn dashed in grey.

    Returns:
        The figure, ``len(attacks)`` axes sharing y.

    Raises:
        ValueError: no models or no attacks.
    """
    if not profiles or not attacks:
        raise ValueError("radial_profiles_figure needs at least one model and one attack")
    first = next(iter(profiles))
    fig, axes = plt.subplots(1, len(attacks), figsize=(3.0 * len(attacks), 3.0), sharey=True, squeeze=False)
    r = _hw(radius)
    for c, s in enumerate(attacks):
        ax = axes[0, c]
        for name, per_setting in profiles.items():
            ax.plot(r, _hw(per_setting[s]), marker=".", label=name)
        ax.plot(r, _hw(profiles[first][reference]), color="grey", linestyle="--", label=reference)
        ax.axvline(cutoff, color="black", linewidth=0.6)
        ax.set_yscale("log")
        ax.set_title(s, fontsize=9)
        ax.set_xlabel("radius |f| (cycles / pixel)")
    axes[0, 0].set_ylabel("mean amplitude (unit-norm δ)")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle("Radially averaged spectrum of the perturbation, per attack and model", fontsize=10)
    fig.tight_layout()
    return fig


def filtered_accuracy_figure(
    cutoffs: Sequence[float],
    filtered: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]],
    clean_accuracy: Mapping[str, float],
) -> Figure:
    """One panel per model: for every attack, the accuracy with only the low-pass
    (solid, circles) or only the high-pass (dashed, crosses) part of the perturbation
    against the cut-off, and the clean accuracy as a black line.

    Args:
        cutoffs: the radial cut-offs [R].
        filtered: model -> attack -> ``{"low_pass": [R], "high_pass": [R]}``.
        clean_accuracy: model -> accuracy on the clean images.

    Returns:
        The figure, one axes per model sharing y, with one legend.

    Raises:
        ValueError: no models, or a curve whose length is not that of ``cutoffs``.
    """
    names = list(filtered)
    if not names:
        raise ValueError("filtered must hold at least one model")
    for name in names:
        for s, curves in filtered[name].items():
            if any(len(curves[k]) != len(cutoffs) for k in ("low_pass", "high_pass")):
                raise ValueError(f"filtered[{name!r}][{s!r}]: expected {len(cutoffs)} values per curve")
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names) + 2.2, 3.0), sharey=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, name in enumerate(names):
        ax = axes[0, c]
        for j, (s, curves) in enumerate(filtered[name].items()):
            colour = colours[j % len(colours)]
            ax.plot(cutoffs, curves["low_pass"], color=colour, marker="o", label=f"{s}: low-pass δ")
            ax.plot(cutoffs, curves["high_pass"], color=colour, marker="x", linestyle="--", label=f"{s}: high-pass δ")
        ax.axhline(clean_accuracy[name], color="black", linewidth=0.8, label="clean")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("cut-off radius (cycles / pixel)")
    axes[0, 0].set_ylabel("accuracy")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=7, loc="center right")
    fig.suptitle(
        "Accuracy when only the low (solid) or high (dashed) frequencies of the perturbation are kept", fontsize=10
    )
    fig.tight_layout(rect=(0, 0, 0.78, 1))
    return fig
