"""The paper's adversarial images: every source image attacked toward its ``k``
least-likely classes under an ensemble (Dong et al., section 3).

:class:`AdversarialSetRecipe` is the one description of such a set -- ``k``, Adam's
step in [0, 1] pixel units, the number of steps, the L-inf bound, the ensemble's loss --
checked once when it is made. :func:`least_likely_rows` computes the rows for a batch of
source images; writing them to disk in resumable shards is
:func:`advinterp_lib.artifacts.store.generate_adversarial_set`'s job, and caching a
set per configuration is :mod:`advinterp_lib.artifacts.advsets`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .base import check_budget, check_count
from .ensemble import EnsembleLoss, average_cross_entropy_loss, ensemble_attack_result, least_likely_targets


@dataclass(frozen=True)
class AdversarialSetRecipe:
    """How the paper's adversarial set is made, in [0, 1] pixel units.

    Each source image is attacked toward each of its ``k`` least-likely classes under
    the ensemble's average probability (its true label excluded) with ``steps`` Adam
    steps of ``step_size`` on the ensemble's ``loss``
    (:func:`~advinterp_lib.attacks.ensemble.ensemble_attack_result`); the perturbation
    is clipped to ``[-eps, eps]`` when ``eps`` is given. ``random_start`` draws the
    start uniformly from that ball. The paper: ``k`` = 10, step 5/255 (``5 / 255``
    here), 10-20 steps, no bound.

    Raises (when made):
        TypeError: an argument of the wrong type.
        ValueError: ``k`` or ``steps`` < 1, ``step_size`` not in (0, 1], ``eps`` not in
            [0, 1], ``random_start`` without ``eps``.
    """

    k: int
    step_size: float
    steps: int
    eps: float | None = None
    loss: EnsembleLoss = average_cross_entropy_loss
    random_start: bool = False

    def __post_init__(self) -> None:
        check_count(self.k, "k")
        check_count(self.steps, "steps")
        step_size = check_budget(self.step_size, "step_size")
        if step_size == 0:
            raise ValueError("step_size must be > 0 (pixel units; the paper's 5 is 5/255), got 0")
        object.__setattr__(self, "step_size", step_size)
        if self.eps is not None:
            object.__setattr__(self, "eps", check_budget(self.eps, "eps"))
        if not isinstance(self.random_start, bool):
            raise TypeError(f"random_start must be a bool, got {type(self.random_start).__name__}")
        if self.random_start and self.eps is None:
            raise ValueError("random_start=True needs an eps budget to draw the start from, got eps=None")
        if not callable(self.loss):
            raise TypeError(
                f"loss must be a callable (logits list, target) -> loss per image, got {type(self.loss).__name__}"
            )

    def __repr__(self) -> str:
        start = ", random_start=True" if self.random_start else ""
        return (
            f"AdversarialSetRecipe(k={self.k}, step_size={self.step_size:.4g} (= {255 * self.step_size:.3g}/255), "
            f"steps={self.steps}, eps={self.eps}, loss={self.loss_name}{start})"
        )

    @property
    def loss_name(self) -> str:
        """The loss's name, as cache keys and manifests record it."""
        return getattr(self.loss, "__name__", repr(self.loss))


def least_likely_rows(
    models: Sequence[nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: AdversarialSetRecipe,
    *,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """The adversarial rows of ``images`` (float [n, C, H, W] in [0, 1], on any device)
    with true ``labels`` (int64 [n]): ``n * recipe.k`` rows ordered by source image,
    then by target (least likely first), attacked ``batch_size`` rows at a time on
    ``device``; ``generator`` draws the random starts (``recipe.random_start``).

    Returns a dict of CPU tensors: ``images`` uint8 [n k, C, H, W] (``round(255 x_adv)``),
    ``source_index`` int64 [n k] (0..n-1, each ``k`` times), ``label`` and ``target``
    int64 [n k]. The caller has checked the images, labels and models.
    """
    k = recipe.k
    targets = least_likely_targets(models, images.to(device), k, exclude=labels.to(device)).cpu()
    source = torch.arange(images.shape[0]).repeat_interleave(k)
    rows_label = labels.repeat_interleave(k)
    rows_target = targets.reshape(-1)
    out = []
    for lo in range(0, source.shape[0], batch_size):
        idx = source[lo : lo + batch_size]
        result = ensemble_attack_result(
            models,
            images[idx].to(device),
            rows_target[lo : lo + batch_size].to(device),
            step_size=recipe.step_size,
            steps=recipe.steps,
            eps=recipe.eps,
            loss=recipe.loss,
            random_start=recipe.random_start,
            generator=generator,
        )
        out.append((result.x_adv.cpu() * 255).round().to(torch.uint8))
    return {"images": torch.cat(out), "source_index": source, "label": rows_label, "target": rows_target}


__all__ = ["AdversarialSetRecipe", "least_likely_rows"]
