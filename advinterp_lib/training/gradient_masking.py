"""Signs that adversarial training fooled itself: gradient masking (chapter 9).

A model whose gradient is *masked* resists the attack it was trained with and falls to
a stronger one (Tramer et al. 2018; Wong et al. 2020):

- :func:`fgsm_pgd_gap`: FGSM accuracy minus PGD accuracy, large for a masked gradient;
- :func:`catastrophic_overfitting`: the flag for the extreme case (high FGSM, near-zero
  PGD accuracy);
- :func:`masking_surfaces` and :func:`surface_corners`: the loss on the slice
  ``x + e1 g + e2 g_perp`` (``g`` the model's own FGSM direction, ``g_perp`` another
  model's, made orthogonal), where a masked model's loss bends back along ``g``.

The accuracies are the records of :func:`~advinterp_lib.training.evaluate_robustness`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..attacks.surface import loss_surface, orthogonal_direction, signed_gradient
from ..models.state import predicted_labels
from ..validation import check_images, check_int, check_labels

__all__ = [
    "fgsm_pgd_gap",
    "catastrophic_overfitting",
    "jointly_correct",
    "masking_surfaces",
    "surface_corners",
]

Accuracies = Mapping[str, Mapping[str, float]]


def _top1(result: Accuracies, attack: str) -> float:
    try:
        return result[attack]["top1"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"expected evaluate_robustness's record with {attack!r} -> 'top1', got {result!r}") from err


def fgsm_pgd_gap(result: Accuracies) -> float:
    """FGSM top-1 accuracy minus PGD top-1 accuracy of one model.

    Args:
        result: ``{"fgsm": {"top1": ...}, "pgd": {"top1": ...}, ...}`` (from
            :func:`~advinterp_lib.training.evaluate_robustness`).

    Returns:
        The difference, in [-1, 1]; large and positive where the gradient is masked
        (PGD, the stronger attack, should not leave a model *less* robust than FGSM).

    Raises:
        ValueError: a record without ``fgsm``/``pgd`` top-1 accuracies.
    """
    return _top1(result, "fgsm") - _top1(result, "pgd")


def catastrophic_overfitting(result: Accuracies, *, fgsm_above: float = 0.3, pgd_below: float = 0.05) -> bool:
    """Whether a model shows catastrophic overfitting (Wong et al. 2020): it resists FGSM
    (top-1 accuracy > ``fgsm_above``) yet PGD leaves almost nothing (< ``pgd_below``).

    Raises:
        ValueError: a record without ``fgsm``/``pgd`` top-1 accuracies.
    """
    return _top1(result, "pgd") < pgd_below and _top1(result, "fgsm") > fgsm_above


def jointly_correct(
    models: Sequence[nn.Module], x: torch.Tensor, y: torch.Tensor, *, limit: int | None = None
) -> torch.Tensor:
    """Indices of the images every model classifies correctly, in order.

    Args:
        models: classifiers of images in [0, 1] (run in eval mode, restored).
        x: float [N, C, H, W] in [0, 1]; y: int64 [N].
        limit: keep at most the first ``limit`` indices (>= 1; None: all).

    Returns:
        int64 [M] (M <= N, <= limit) on ``x``'s device.

    Raises:
        TypeError/ValueError: no models, bad images, labels or limit.
    """
    if len(models) == 0:
        raise ValueError("models: expected at least one model")
    x = check_images(x, "x", model=models[0])
    y = check_labels(y, len(x), None)
    if limit is not None:
        check_int(limit, "limit", minimum=1)
    ok = torch.ones(len(x), dtype=torch.bool, device=x.device)
    for model in models:
        ok &= predicted_labels(model, x) == y.to(x.device)
    return ok.nonzero().squeeze(1)[:limit]


def masking_surfaces(
    models: Mapping[str, nn.Module],
    other: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    grid: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Each model's loss on the slice ``x + e1 g + e2 g_perp`` (Tramer et al. 2018, Fig. 2).

    ``g`` is the model's own signed gradient (its FGSM direction) and ``g_perp`` the
    signed gradient of ``other`` made orthogonal to ``g``
    (:func:`~advinterp_lib.attacks.surface.orthogonal_direction`): a different model's
    adversarial direction, as in the paper.

    Args:
        models: ``{name: model}``, each a classifier of pixels in [0, 1].
        other: the model whose direction gives ``g_perp``.
        x: float [N, C, H, W] in [0, 1]; y: int64 [N].
        grid: the step sizes (pixel units), used along both directions.

    Returns:
        ``{name: float [N, len(grid), len(grid)]}``: row i at ``e1 = grid[i]`` along
        ``g``, column j at ``e2 = grid[j]`` along ``g_perp``.

    Raises:
        TypeError/ValueError: as :func:`~advinterp_lib.attacks.surface.loss_surface`.
    """
    surfaces = {}
    for name, model in models.items():
        g = signed_gradient(model, x, y)
        g_perp = orthogonal_direction(signed_gradient(other, x, y), g)
        surfaces[name] = loss_surface(model, x, y, g, g_perp, grid, grid)
    return surfaces


def surface_corners(surface: torch.Tensor) -> dict[str, float]:
    """Mean loss at four points of a slice from :func:`masking_surfaces`.

    Args:
        surface: float [N, n1, n2] (n1, n2 >= 2), the grid starting at 0.

    Returns:
        ``{"loss_at_x", "loss_along_g" (the far end along g), "loss_along_g_perp" (the far
        end along g_perp), "loss_at_half_g" (row (n1 - 1) // 2)}``, means over images.

    Raises:
        ValueError: a surface that is not [N, n1, n2] with n1, n2 >= 2.
    """
    if not isinstance(surface, torch.Tensor) or surface.dim() != 3 or min(surface.shape[1:]) < 2:
        raise ValueError(
            f"surface: expected a tensor [N, n1, n2], n1, n2 >= 2, got {getattr(surface, 'shape', surface)}"
        )
    far1, far2 = surface.shape[1] - 1, surface.shape[2] - 1
    return {
        "loss_at_x": float(surface[:, 0, 0].mean()),
        "loss_along_g": float(surface[:, far1, 0].mean()),
        "loss_along_g_perp": float(surface[:, 0, far2].mean()),
        "loss_at_half_g": float(surface[:, far1 // 2, 0].mean()),
    }
