"""What layers and neurons respond to (chapters 1 and 2): how often neighbours share a
class, each neuron's class frequencies, and how class-pure the neurons of a layer are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = ["agreement_bars", "class_frequency_bars", "purity_histograms"]


def agreement_bars(agreement: Mapping[str, float], *, xlabel: str, title: str, reference: str = "pixels") -> Figure:
    """Horizontal bars of fractions in [0, 1], one per space, each labelled in percent;
    the ``reference`` space grey, the others blue.

    Args:
        agreement: space -> fraction (e.g. of neighbours sharing the query's class).
        xlabel, title: the axis label and the title.
        reference: the space drawn grey (raw pixels).

    Returns:
        The figure (one axes, one bar and one text per space).

    Raises:
        ValueError: no spaces, a fraction outside [0, 1].
    """
    if not agreement:
        raise ValueError("agreement: need at least one space")
    names = list(agreement)
    values = [float(agreement[n]) for n in names]
    if not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"agreement: fractions must lie in [0, 1], got {values}")
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.barh(names, values, color=["grey" if n == reference else "tab:blue" for n in names])
    for i, v in enumerate(values):
        ax.text(v + 0.005, i, f"{v:.1%}", va="center", fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def class_frequency_bars(
    frequencies: Mapping[str, torch.Tensor],
    neurons: Mapping[str, Sequence[int]],
    class_names: Sequence[str],
    *,
    title: str,
    chance: float = 0.1,
) -> Figure:
    """Bars of ``consis(n, c)`` over the classes, one row per model, one panel per neuron.

    Args:
        frequencies: model -> [C, K] class frequencies of every neuron.
        neurons: model -> the neurons to show (the same number for every model).
        class_names: K names; the bottom row shows the first word's first 7 letters.
        title: the figure's title.
        chance: the dotted line (one class in K for a neuron indifferent to class).

    Returns:
        The figure: ``len(frequencies) x len(neurons[model])`` axes with ``K`` bars each.

    Raises:
        ValueError: no models, models of ``neurons`` and ``frequencies`` that differ,
            different numbers of neurons, ``K`` not ``len(class_names)``.
    """
    if not frequencies or list(frequencies) != list(neurons):
        raise ValueError(f"frequencies and neurons must name the same models, got {list(frequencies)}, {list(neurons)}")
    counts = {len(v) for v in neurons.values()}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(f"neurons: expected the same number (at least 1) per model, got {sorted(counts)}")
    k = len(class_names)
    for model, f in frequencies.items():
        if f.dim() != 2 or f.shape[1] != k:
            raise ValueError(f"frequencies[{model!r}]: expected [C, {k}] (one column per class), got {tuple(f.shape)}")
    n, rows = counts.pop(), len(frequencies)
    fig, axes = plt.subplots(rows, n, figsize=(2.1 * n, 1.9 * rows), sharey=True, squeeze=False)
    short = [name.split("/")[0][:7] for name in class_names]
    for row, (model, f) in enumerate(frequencies.items()):
        for col, c in enumerate(neurons[model]):
            ax = axes[row, col]
            ax.bar(range(k), f[c].detach().cpu().numpy(), color="tab:blue")
            ax.axhline(chance, color="grey", lw=0.8, ls=":")
            ax.set_title(f"{model}, neuron {c}: max {float(f[c].max()):.2f}", fontsize=8)
            ax.set_xticks(range(k))
            ax.set_xticklabels(short if row == rows - 1 else [], rotation=90, fontsize=7)
        axes[row, 0].set_ylabel("consis(n, c)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def purity_histograms(
    purity: Mapping[str, torch.Tensor], *, xlabel: str, title: str, chance: float = 0.1, bins: int = 20
) -> Figure:
    """Step histograms over [0, 1] of each model's neuron purities (largest class
    frequency per neuron), the mean in the legend and a dotted line at ``chance``.

    Args:
        purity: model -> float [n] in [0, 1].
        xlabel, title: the axis label and the title.
        chance: where the dotted line goes.
        bins: equal bins over [0, 1].

    Returns:
        The figure (one axes, one histogram per model).

    Raises:
        ValueError: no models, an empty or 2-D purity, ``bins < 1``.
    """
    if not purity:
        raise ValueError("purity: need at least one model")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    for model, p in purity.items():
        if not isinstance(p, torch.Tensor) or p.dim() != 1 or len(p) == 0:
            raise ValueError(f"purity[{model!r}]: expected a non-empty 1-D tensor, got {getattr(p, 'shape', p)}")
    fig, ax = plt.subplots(figsize=(6, 2.6))
    edges = np.linspace(0, 1, bins + 1)
    for model, p in purity.items():
        ax.hist(
            p.detach().cpu().numpy(),
            bins=edges,  # type: ignore[arg-type]  # matplotlib's stubs take Sequence[float]; an array works
            histtype="step",
            lw=1.5,
            label=f"{model} (mean {p.mean():.2f})",
        )
    ax.axvline(chance, color="grey", ls=":", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("neurons")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
