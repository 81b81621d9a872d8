"""Chapter 4 -- perturbation explanations: the bookkeeping around occlusion and the
deletion and insertion curves.

The methods themselves (:func:`~advinterp_lib.interpret.attribution.occlusion`, the
gradient maps of chapter 3, :func:`~advinterp_lib.interpret.faithfulness.deletion_curve`
and :func:`~advinterp_lib.interpret.faithfulness.insertion_curve`) live in
:mod:`advinterp_lib.interpret`; the chapter calls them, and this module times them,
compares their maps and lays the numbers out as its tables:

- :func:`forward_passes_table`: what occlusion costs per image, per window size;
- :func:`timed_map`: a map and its wall time per image;
- :func:`occlusion_agreement`, :func:`agreement_statistics`, :func:`agreement_table`:
  how far each gradient map (and the image itself) ranks the pixels as occlusion does;
- :func:`faithfulness_curves`, :func:`mean_auc`, :func:`auc_table`: each map's deletion
  and insertion curves, their mean areas, the best one per curve in bold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..interpret.attribution import occlusion_forward_passes
from ..interpret.faithfulness import PerturbationCurve, deletion_curve, insertion_curve
from ..stats import spearman_correlation
from ..tables import markdown_table
from ..timing import timed
from ..validation import same_methods

__all__ = [
    "AGREEMENT_REFERENCES",
    "forward_passes_table",
    "timed_map",
    "occlusion_agreement",
    "agreement_statistics",
    "agreement_table",
    "faithfulness_curves",
    "mean_auc",
    "auc_table",
]

#: The gradient maps compared with occlusion, in the order of the chapter's table (the
#: image's own intensity, the naive reference, comes after them).
AGREEMENT_REFERENCES = ("Grad-CAM", "saliency", "guided backprop")


def forward_passes_table(passes: Mapping[int, int], *, stride: int) -> str:
    """Markdown: the forward passes occlusion needs per image, one row per window size.

    Args:
        passes: ``{window k: forward passes per image}`` for a k×k window
            (:func:`~advinterp_lib.interpret.attribution.occlusion_forward_passes`).
        stride: the windows' stride in pixels (the same for all rows).

    Raises:
        ValueError: no windows.
    """
    if not passes:
        raise ValueError("passes: expected at least one window size, got none")
    return markdown_table(
        ["window", "stride", "forward passes per image"], [[f"{k}×{k}", stride, passes[k]] for k in passes]
    )


def timed_map(
    method: Callable[..., torch.Tensor], model: nn.Module, images: torch.Tensor, target: torch.Tensor, **options: Any
) -> tuple[torch.Tensor, float]:
    """``method(model, images, target, **options)`` and the wall time it took per image.

    Args:
        method: an attribution method with the library's call shape, e.g.
            :func:`~advinterp_lib.interpret.attribution.occlusion`.
        model, images, target, options: passed to ``method`` as they are.

    Returns:
        ``(map, seconds per image)``.

    Raises:
        ValueError: no images (nothing to time per image).
    """
    n = int(images.shape[0]) if isinstance(images, torch.Tensor) and images.dim() > 0 else 0
    if n == 0:
        raise ValueError("images: expected a batch of at least one image, got none")
    heat, seconds = timed(method, model, images, target, **options)
    return heat, seconds / n


def occlusion_agreement(
    occlusion_map: torch.Tensor, gradient_maps: Mapping[str, torch.Tensor], images: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Per image, the Spearman rank correlation of the occlusion map with each map of
    :data:`AGREEMENT_REFERENCES` and with the image itself (``"image intensity"``: bright
    pixels = important, the naive reference).

    Args:
        occlusion_map: float [N, 1, H, W].
        gradient_maps: ``{method: float [N, 1, H, W]}`` with every method of
            :data:`AGREEMENT_REFERENCES` (others are ignored).
        images: float [N, 1, H, W], the explained images.

    Returns:
        ``{method: float64 [N]}`` in the order Grad-CAM, saliency, guided backprop, image
        intensity; NaN where a map is constant.

    Raises:
        ValueError: a reference map missing, or a map of another shape than the occlusion map.
    """
    missing = [m for m in AGREEMENT_REFERENCES if m not in gradient_maps]
    if missing:
        raise ValueError(f"gradient_maps: expected {list(AGREEMENT_REFERENCES)}, missing {missing}")
    references = {m: gradient_maps[m] for m in AGREEMENT_REFERENCES} | {"image intensity": images}
    for name, heat in references.items():
        if tuple(heat.shape) != tuple(occlusion_map.shape):
            raise ValueError(
                f"{name}: expected the occlusion map's shape {tuple(occlusion_map.shape)}, got {tuple(heat.shape)}"
            )
    return {m: spearman_correlation(heat, occlusion_map) for m, heat in references.items()}


def agreement_statistics(
    agreement: Mapping[str, Mapping[str, torch.Tensor]],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """The mean and the median over the images (NaN ignored) of each correlation.

    Args:
        agreement: ``{model: {method: float [N]}}`` (:func:`occlusion_agreement` per model).

    Returns:
        ``(mean, median)``, each ``{model: {method: float}}`` in ``agreement``'s order.
    """
    mean = {a: {m: float(np.nanmean(v.numpy())) for m, v in per.items()} for a, per in agreement.items()}
    median = {a: {m: float(np.nanmedian(v.numpy())) for m, v in per.items()} for a, per in agreement.items()}
    return mean, median


def agreement_table(
    mean: Mapping[str, Mapping[str, float]],
    seconds_per_image: Mapping[tuple[str, str], float],
    *,
    window: int,
    stride: int,
    image_size: tuple[int, int] = (28, 28),
) -> str:
    """Markdown: a sentence on occlusion's cost, then per model the mean correlation of
    each map with the occlusion map and the milliseconds per image of occlusion and of
    Grad-CAM.

    Args:
        mean: ``{model: {method: mean correlation}}`` (:func:`agreement_statistics`);
            the columns are the first model's methods.
        seconds_per_image: ``{(model, "occlusion" or "Grad-CAM"): seconds per image}``
            (:func:`timed_map`) for every model of ``mean``.
        window, stride: the occlusion window (k×k) and stride, in pixels.
        image_size: (H, W) of the images, for the forward passes per image.

    Raises:
        ValueError: no models, or a model's time missing.
    """
    if not mean:
        raise ValueError("mean: expected at least one model, got none")
    missing = [(a, m) for a in mean for m in ("occlusion", "Grad-CAM") if (a, m) not in seconds_per_image]
    if missing:
        raise ValueError(f"seconds_per_image: missing {missing}")
    compared = list(next(iter(mean.values())))
    rows = [
        [
            a,
            *(f"{mean[a][m]:.2f}" for m in compared),
            *(f"{1000 * seconds_per_image[(a, m)]:.1f}" for m in ("occlusion", "Grad-CAM")),
        ]
        for a in mean
    ]
    passes = occlusion_forward_passes(image_size, window, stride)
    return (
        f"Mean Spearman correlation with the occlusion map ({window}×{window} window, {passes} forward passes "
        "per image; Grad-CAM needs one forward and one backward pass):\n\n"
        + markdown_table(["model", *compared, "occlusion ms/image", "Grad-CAM ms/image"], rows)
    )


def faithfulness_curves(
    model: nn.Module,
    images: torch.Tensor,
    target: torch.Tensor,
    maps: Mapping[str, torch.Tensor],
    *,
    steps: int,
    generator: torch.Generator | None = None,
) -> dict[str, tuple[PerturbationCurve, PerturbationCurve]]:
    """Each map's deletion and insertion curves: for every map in order,
    :func:`~advinterp_lib.interpret.faithfulness.deletion_curve` then
    :func:`~advinterp_lib.interpret.faithfulness.insertion_curve`, both drawing their
    tie-breaks from ``generator`` (so a run repeats exactly).

    Args:
        model: the classifier the maps explain.
        images: float [N, C, H, W] in [0, 1]; target: int64 [N], the explained classes.
        maps: ``{method: float [N, 1, H, W]}``, larger = more important.
        steps: the curves' steps (each curve has ``steps + 1`` points).
        generator: random tie-breaking between equal map values.

    Returns:
        ``{method: (deletion curve, insertion curve)}`` in ``maps``' order.

    Raises:
        ValueError: no maps; bad images, target, maps or steps (from the curves).
    """
    if not maps:
        raise ValueError("maps: expected at least one map, got none")
    return {
        method: (
            deletion_curve(model, images, target, heat, steps=steps, generator=generator),
            insertion_curve(model, images, target, heat, steps=steps, generator=generator),
        )
        for method, heat in maps.items()
    }


def mean_auc(
    curves: Mapping[str, Mapping[str, tuple[PerturbationCurve, PerturbationCurve]]],
) -> dict[str, dict[str, dict[str, float]]]:
    """The mean area under each curve over the images.

    Args:
        curves: ``{model: {method: (deletion, insertion)}}`` (:func:`faithfulness_curves`
            per model).

    Returns:
        ``{model: {method: {"deletion": mean AUC, "insertion": mean AUC}}}``.
    """
    return {
        a: {m: {"deletion": float(d.auc().mean()), "insertion": float(i.auc().mean())} for m, (d, i) in per.items()}
        for a, per in curves.items()
    }


def auc_table(auc: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """Markdown: per model a deletion row and an insertion row of each method's mean
    AUC (3 decimals), the best in bold (the smallest deletion AUC, the largest insertion
    AUC; ties all bold).

    Args:
        auc: ``{model: {method: {"deletion": float, "insertion": float}}}``
            (:func:`mean_auc`), the same methods for every model.

    Raises:
        ValueError: no models, or models with different methods.
    """
    methods = same_methods(auc, "auc")
    rows = []
    for a, per in auc.items():
        for kind in ("deletion", "insertion"):
            best = (min if kind == "deletion" else max)(per[m][kind] for m in methods)
            rows.append(
                [
                    a,
                    f"{kind} AUC",
                    *(f"**{per[m][kind]:.3f}**" if per[m][kind] == best else f"{per[m][kind]:.3f}" for m in methods),
                ]
            )
    return markdown_table(["model", "curve", *methods], rows)
