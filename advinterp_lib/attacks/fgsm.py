"""FGSM, the fast gradient sign method (Goodfellow, Shlens & Szegedy 2015).

One gradient of the loss, one step of size eps along its sign:

    untargeted:  x' = clip(x + eps * sign(grad_x L(x, y)))      (raise the true class's loss)
    targeted:    x' = clip(x - eps * sign(grad_x L(x, t)))      (lower the target's loss)

with L the cross-entropy and clip to [0, 1]. It matches Captum's
``captum.robust.FGSM(model, loss_func=per-image cross-entropy, lower_bound=0,
upper_bound=1)`` exactly (a test checks it), including Captum's convention of leaving a
pixel unchanged where the gradient's magnitude is at most 1e-6 (there its sign is noise).
The least-likely-class FGSM is the targeted attack with targets from
:func:`advinterp_lib.attacks.targets.least_likely`.

:func:`fgsm_sweep` evaluates many budgets at the price of one gradient: the sign
direction does not depend on eps, so accuracy-vs-eps curves and each image's minimal
FGSM budget cost one backward pass and one forward pass per eps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .base import attack_mode, check_attack_inputs, check_budget, check_count, loss_gradient

#: Gradient components with |g| <= this are treated as zero (Captum's ``zero_thresh``).
ZERO_THRESHOLD = 1e-6


def _fgsm_direction(model: nn.Module, x: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """sign of the loss gradient (negated when targeted), 0 where |grad| <= 1e-6."""
    grad = loss_gradient(model, x, y)
    direction = grad.sign() if not targeted else -grad.sign()
    return torch.where(grad.abs() > ZERO_THRESHOLD, direction, torch.zeros_like(direction))


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, targeted: bool = False) -> torch.Tensor:
    """One FGSM step.

    Args:
        model: classifier returning logits [N, num_classes] of images in [0, 1]; run in
            eval mode, its previous train/eval state restored afterwards.
        x: float images [N, C, H, W] in [0, 1]; not modified.
        y: int [N], the true labels (untargeted) or the target classes (``targeted``).
        eps: L-inf budget in [0, 1] pixel units.
        targeted: step towards ``y`` instead of away from it.

    Returns:
        x_adv, float [N, C, H, W] in [0, 1] with ``|x_adv - x| <= eps``, on ``x``'s device.

    Raises:
        TypeError/ValueError: x not images in [0, 1] (or NaN), y not class indices of
        the model, eps not in [0, 1].
    """
    eps = check_budget(eps, "eps")
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y, targeted=targeted)
        x_adv = (xd + eps * _fgsm_direction(model, xd, yd, targeted)).clamp(0.0, 1.0)
    return x_adv.detach().to(x.device)


@dataclass(frozen=True)
class FgsmSweep:
    """FGSM at several budgets on one batch.

    Attributes:
        eps: float [E], the budgets, ascending.
        correct: bool [E, N], whether image n is still classified as its label at eps[e].
        l2: float [E, N], ||x_adv - x||_2 of image n at eps[e] (after clipping to [0, 1]).
    """

    eps: torch.Tensor
    correct: torch.Tensor
    l2: torch.Tensor

    @property
    def accuracy(self) -> torch.Tensor:
        """float [E]: the fraction of images still classified correctly at each eps."""
        return self.correct.float().mean(dim=1)

    @property
    def minimal_eps(self) -> torch.Tensor:
        """float [N]: the smallest swept eps at which FGSM fools the model (0 for an image
        already misclassified, inf where no swept eps fools it)."""
        fooled = ~self.correct
        first = fooled.float().argmax(dim=0)
        out = self.eps[first].clone()
        out[~fooled.any(dim=0)] = float("inf")
        return out

    @property
    def minimal_l2(self) -> torch.Tensor:
        """float [N]: ||x_adv - x||_2 at :attr:`minimal_eps` (inf where no eps fools)."""
        fooled = ~self.correct
        first = fooled.float().argmax(dim=0)
        out = self.l2.gather(0, first.unsqueeze(0)).squeeze(0).clone()
        out[~fooled.any(dim=0)] = float("inf")
        return out


def fgsm_sweep(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps_values: Sequence[float] | torch.Tensor,
    batch_size: int = 512,
) -> FgsmSweep:
    """Untargeted FGSM at every eps in ``eps_values`` (each in [0, 1]; sorted ascending
    in the result) on images ``x`` [N, C, H, W] with labels ``y`` [N], in batches of
    ``batch_size``. ``x_adv`` at eps equals ``fgsm(model, x, y, eps=eps)``."""
    batch_size = check_count(batch_size, "batch_size")
    eps_list = sorted(check_budget(float(e), "eps_values[i]") for e in torch.as_tensor(eps_values).flatten().tolist())
    if not eps_list:
        raise ValueError("eps_values must hold at least one budget")
    correct, l2 = [], []
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y)
        for start in range(0, xd.shape[0], batch_size):
            xb, yb = xd[start : start + batch_size], yd[start : start + batch_size]
            direction = _fgsm_direction(model, xb, yb, targeted=False)
            with torch.no_grad():
                x_advs = [(xb + e * direction).clamp(0.0, 1.0) for e in eps_list]
                correct.append(torch.stack([model(xa).argmax(dim=1) == yb for xa in x_advs]))
                l2.append(torch.stack([(xa - xb).flatten(1).norm(dim=1) for xa in x_advs]))
    return FgsmSweep(eps=torch.tensor(eps_list), correct=torch.cat(correct, dim=1).cpu(), l2=torch.cat(l2, dim=1).cpu())
