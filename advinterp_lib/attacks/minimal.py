"""DeepFool's minimal perturbations against FGSM's smallest successful ones (the DeepFool
paper's Table 1): per image, FGSM's minimal budget on a grid of eps (one gradient,
:func:`~advinterp_lib.attacks.fgsm.fgsm_sweep`), and the robustness rho_adv of both
attacks on the images both fool among those the model classifies correctly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .deepfool import DeepFoolResult, rho_adv
from .fgsm import FgsmSweep, fgsm_sweep

__all__ = ["MinimalPerturbations", "compare_with_fgsm"]


@dataclass(frozen=True)
class MinimalPerturbations:
    """DeepFool and FGSM's minimal budget on one batch.

    Attributes:
        deepfool: the DeepFool result on the batch.
        sweep: FGSM on the eps grid, against DeepFool's starting class (the prediction).
        correct: bool [N], the model's prediction is the true label.
        both: bool [N], correct, fooled by DeepFool, and by FGSM within the grid.
        numbers: the per-model summary: ``images``, ``deepfool_success``,
            ``deepfool_mean_iterations``, ``deepfool_mean_l2``, ``deepfool_rho``,
            ``deepfool_images_per_second``, ``fgsm_success_within_eps_max``,
            ``fgsm_mean_minimal_eps``, ``fgsm_mean_l2``, ``fgsm_rho``.
    """

    deepfool: DeepFoolResult
    sweep: FgsmSweep
    correct: torch.Tensor
    both: torch.Tensor
    numbers: dict[str, Any]

    @property
    def l2(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(deepfool, fgsm)``: float [M] each, the L2 sizes on the images of :attr:`both`."""
        return self.deepfool.l2[self.both], self.sweep.minimal_l2[self.both]


def compare_with_fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    result: DeepFoolResult,
    eps_grid: Sequence[float] | torch.Tensor,
    *,
    seconds: float,
) -> MinimalPerturbations:
    """Compare DeepFool's perturbations of ``x`` with FGSM's smallest successful ones.

    Args:
        model: the classifier DeepFool attacked.
        x: float images [N, C, H, W] in [0, 1], the images of ``result``.
        y: int [N], their true labels.
        result: ``deepfool(model, x)``.
        eps_grid: the FGSM budgets to sweep, ascending, in [0, 1].
        seconds: how long DeepFool took (for its images per second).

    Returns:
        A :class:`MinimalPerturbations`.

    Raises:
        ValueError: a result of another batch size, no image that both attacks fool,
            a non-positive time; and what :func:`fgsm_sweep` raises.
    """
    if not isinstance(result, DeepFoolResult) or len(result.label) != len(x) or len(y) != len(x):
        raise ValueError("result and y must belong to the images x (one entry per image)")
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    sweep = fgsm_sweep(model, x, result.label, eps_values=eps_grid)  # the predicted class, as DeepFool
    correct = result.label == y
    both = correct & result.success & torch.isfinite(sweep.minimal_l2)
    if not both.any():
        raise ValueError("no image is classified correctly and fooled by both attacks")
    numbers = {
        "images": int(both.sum()),
        "deepfool_success": float(result.success.float().mean()),
        "deepfool_mean_iterations": float(result.iterations.float().mean()),
        "deepfool_mean_l2": float(result.l2[both].mean()),
        "deepfool_rho": rho_adv(result.perturbation[both], x[both]),
        "deepfool_images_per_second": len(x) / seconds,
        "fgsm_success_within_eps_max": float(torch.isfinite(sweep.minimal_l2[correct]).float().mean()),
        "fgsm_mean_minimal_eps": float(sweep.minimal_eps[both].mean()),
        "fgsm_mean_l2": float(sweep.minimal_l2[both].mean()),
        "fgsm_rho": rho_adv(sweep.minimal_l2[both], x[both]),
    }
    return MinimalPerturbations(result, sweep, correct, both, numbers)
