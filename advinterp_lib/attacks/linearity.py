"""How linear the loss is along FGSM's step (Goodfellow et al. 2015, section 3).

If the loss were linear in the input, FGSM's step would raise it by exactly the first-order
prediction grad_x L(x, y) . (x_adv - x). :func:`fgsm_linearity` compares that prediction
with the actual rise, averaged over images, for several budgets: a ratio near 1 says the
loss is locally linear; above 1 that it curves upwards along the step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import attack_mode, check_attack_inputs, check_budget
from .fgsm import fgsm

__all__ = ["fgsm_linearity"]


def fgsm_linearity(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps_values: Sequence[float]
) -> list[dict[str, float]]:
    """Actual against first-order rise of the cross-entropy under FGSM, per budget.

    Args:
        model: classifier of images in [0, 1] (eval mode inside, restored).
        x: float images [N, C, H, W] in [0, 1].
        y: int [N], the true labels.
        eps_values: the L-inf budgets in [0, 1] (at least one; none 0: the ratio would be 0/0).

    Returns:
        One dict per budget, in order: ``{"eps", "actual", "predicted", "ratio"}``, where
        ``actual`` is the mean rise of the per-image loss, ``predicted`` the mean of
        grad . (x_adv - x), and ``ratio = actual / predicted``.

    Raises:
        TypeError / ValueError: bad images, labels or budgets; no budget, a zero budget.
    """
    eps_values = list(eps_values)
    if not eps_values:
        raise ValueError("eps_values: need at least one budget")
    for eps in eps_values:
        if check_budget(eps, "eps_values") == 0:
            raise ValueError("eps_values: a budget of 0 has no first-order rise to compare with")
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y)
        xr = xd.clone().requires_grad_(True)
        loss0 = F.cross_entropy(model(xr), yd, reduction="none")
        (grad,) = torch.autograd.grad(loss0.sum(), xr)
        loss0 = loss0.detach()
        rows = []
        for eps in eps_values:
            x_adv = fgsm(model, xd, yd, eps=eps)
            with torch.no_grad():
                actual = (F.cross_entropy(model(x_adv), yd, reduction="none") - loss0).mean().item()
            predicted = ((x_adv - xd) * grad).flatten(1).sum(1).mean().item()
            rows.append({"eps": eps, "actual": actual, "predicted": predicted, "ratio": actual / predicted})
    return rows
