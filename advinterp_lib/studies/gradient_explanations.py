"""Chapter 3 -- gradient explanations: the bookkeeping around saliency, guided backprop,
Grad-CAM and guided Grad-CAM.

The methods themselves (:func:`~advinterp_lib.interpret.attribution.saliency`,
:func:`~advinterp_lib.interpret.attribution.guided_backprop`,
:func:`~advinterp_lib.interpret.attribution.grad_cam`,
:func:`~advinterp_lib.interpret.attribution.guided_grad_cam`) and the measure of
class-discriminativeness (:mod:`advinterp_lib.interpret.discriminative`) live in
:mod:`advinterp_lib.interpret`; the chapter calls them, and this module lays their maps
out for its figures and turns the correlations into its numbers and table:

- :func:`prediction_captions`, :func:`runner_up_captions`, :func:`map_rows`: the rows of
  the map figures (each image, its caption, its maps);
- :func:`runner_up_maps`: each method's map for the top class and for the runner-up;
- :func:`class_map_correlations`, :func:`correlation_statistics`, :func:`correlation_table`:
  per model and method, the correlation of the top class's map with the runner-up's, its
  mean and the share of images where it is undefined, and the chapter's table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..interpret.discriminative import runner_up_correlation, top_two_classes
from ..tables import markdown_table
from ..validation import same_methods

__all__ = [
    "MapRow",
    "prediction_captions",
    "runner_up_captions",
    "map_rows",
    "runner_up_maps",
    "class_map_correlations",
    "correlation_statistics",
    "correlation_table",
]

#: One row of a map figure: (image [C, H, W], caption, {column title: map [1, H, W]}).
MapRow = tuple[torch.Tensor, str, dict[str, torch.Tensor]]

#: An attribution method of the library's call shape, ``method(model, x, target, **options)``.
Method = Callable[..., torch.Tensor]


def _check_pair(classes: tuple[torch.Tensor, torch.Tensor], n: int) -> None:
    if len(classes) != 2 or any(tuple(c.shape) != (n,) for c in classes):
        raise ValueError(f"classes: expected a pair of int tensors [{n}], got {[tuple(c.shape) for c in classes]}")


def prediction_captions(labels: torch.Tensor, predicted: torch.Tensor, names: Sequence[str]) -> list[str]:
    """Per image, ``"true <class>\\npred <class>"``: its true and its predicted class.

    Args:
        labels, predicted: int [N], the true and the predicted classes.
        names: the class names, indexed by class.

    Raises:
        ValueError: ``labels`` and ``predicted`` of different lengths.
    """
    if len(labels) != len(predicted):
        raise ValueError(f"predicted: expected {len(labels)} classes (one per label), got {len(predicted)}")
    return [f"true {names[int(t)]}\npred {names[int(p)]}" for t, p in zip(labels, predicted, strict=True)]


def runner_up_captions(classes: tuple[torch.Tensor, torch.Tensor], names: Sequence[str]) -> list[str]:
    """Per image, ``"top: <class>\\nrunner-up: <class>"``.

    Args:
        classes: ``(first, second)``, int [N] each
            (:func:`~advinterp_lib.interpret.discriminative.top_two_classes`).
        names: the class names, indexed by class.

    Raises:
        ValueError: ``classes`` not a pair of [N] tensors.
    """
    _check_pair(classes, len(classes[0]) if len(classes) else 0)
    first, second = classes
    return [f"top: {names[int(a)]}\nrunner-up: {names[int(b)]}" for a, b in zip(first, second, strict=True)]


def map_rows(images: torch.Tensor, captions: Sequence[str], maps: Mapping[str, torch.Tensor]) -> list[MapRow]:
    """The rows of a map figure (``plotting.explanations.show_maps``): per image, the
    image, its caption and its slice of every map, the columns in ``maps``' order.

    Args:
        images: float [N, C, H, W] in [0, 1].
        captions: N row labels.
        maps: ``{column title: float [N, 1, H, W]}``.

    Returns:
        N rows ``(images[i], captions[i], {title: maps[title][i]})``.

    Raises:
        ValueError: no maps; a caption count or a map's batch other than N.
    """
    n = len(images)
    if not maps:
        raise ValueError("maps: expected at least one map, got none")
    if len(captions) != n:
        raise ValueError(f"captions: expected {n} (one per image), got {len(captions)}")
    for title, heat in maps.items():
        if len(heat) != n:
            raise ValueError(f"maps[{title!r}]: expected {n} maps (one per image), got {len(heat)}")
    return [(images[i], captions[i], {title: heat[i] for title, heat in maps.items()}) for i in range(n)]


def runner_up_maps(
    model: nn.Module, x: torch.Tensor, classes: tuple[torch.Tensor, torch.Tensor], methods: Mapping[str, Method]
) -> dict[str, torch.Tensor]:
    """Each method's map of ``x`` for the top class, then for the runner-up.

    Args:
        model: the classifier the maps explain.
        x: float [N, C, H, W] in [0, 1].
        classes: ``(first, second)``, int [N] each
            (:func:`~advinterp_lib.interpret.discriminative.top_two_classes`).
        methods: ``{name: method}``, each called as ``method(model, x, target)``.

    Returns:
        ``{"<name>: top class": map, "<name>: runner-up": map}`` per method in
        ``methods``' order, each float [N, 1, H, W].

    Raises:
        ValueError: no methods, or ``classes`` not a pair of [N] tensors; as the methods.
    """
    if not methods:
        raise ValueError("methods: expected at least one method, got none")
    _check_pair(classes, len(x))
    first, second = classes
    return {
        f"{name}: {which}": method(model, x, target)
        for name, method in methods.items()
        for which, target in (("top class", first), ("runner-up", second))
    }


def class_map_correlations(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    methods: Mapping[str, tuple[Method, Mapping[str, Any]]],
) -> tuple[dict[str, dict[str, torch.Tensor]], float]:
    """Per model and method, the correlation of each image's map for the top class with
    its map for the runner-up, and the wall time of the whole loop.

    For each model, :func:`~advinterp_lib.interpret.discriminative.top_two_classes` of the
    images, then :func:`~advinterp_lib.interpret.discriminative.runner_up_correlation` of
    each method with its options.

    Args:
        models: ``{name: classifier}``.
        images: float [N, C, H, W] in [0, 1].
        methods: ``{name: (method, options)}``, e.g. ``{"Grad-CAM (no ReLU)": (grad_cam,
            {"relu": False})}``.

    Returns:
        ``({model: {method: float64 [N] in [-1, 1], NaN where a map is constant}}, seconds)``.

    Raises:
        ValueError: no models or no methods; as the methods.
    """
    if not models:
        raise ValueError("models: expected at least one model, got none")
    if not methods:
        raise ValueError("methods: expected at least one method, got none")
    correlation, start = {}, time.perf_counter()
    for arch, model in models.items():
        classes = top_two_classes(model, images)
        correlation[arch] = {
            name: runner_up_correlation(method, model, images, classes, **options)
            for name, (method, options) in methods.items()
        }
    return correlation, time.perf_counter() - start


def correlation_statistics(
    correlation: Mapping[str, Mapping[str, torch.Tensor]],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """The mean correlation over the images (NaN ignored) and the share of images where
    it is undefined (NaN: a constant map).

    Args:
        correlation: ``{model: {method: float [N]}}`` (:func:`class_map_correlations`).

    Returns:
        ``(mean, undefined share)``, each ``{model: {method: float}}`` in ``correlation``'s
        order; the mean is NaN where every image's correlation is.
    """
    mean = {a: {m: float(np.nanmean(c.numpy())) for m, c in per.items()} for a, per in correlation.items()}
    nan_share = {a: {m: float(torch.isnan(c).float().mean()) for m, c in per.items()} for a, per in correlation.items()}
    return mean, nan_share


def correlation_table(mean: Mapping[str, Mapping[str, float]], *, n_images: int) -> str:
    """Markdown: a sentence, then per model the mean correlation (2 decimals) of each
    method's maps for the top class and the runner-up.

    Args:
        mean: ``{model: {method: mean correlation}}`` (:func:`correlation_statistics`),
            the same methods for every model; the columns are in their order.
        n_images: the number of test images the means are over.

    Raises:
        ValueError: no models, or models with different methods.
    """
    methods = same_methods(mean, "mean")
    return (
        "Mean correlation between the maps of the top class and the runner-up "
        f"({n_images} test images; lower = more class-discriminative):\n\n"
        + markdown_table(["model", *methods], [[a, *(f"{per[m]:.2f}" for m in methods)] for a, per in mean.items()])
    )
