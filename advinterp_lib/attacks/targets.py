"""Target selection for targeted attacks: small functions, passed in, not flags.

Both return class indices of shape [N, k] (k targets per image, distinct, never the
image's own class where that is known); take column 0 for a one-target attack::

    t = least_likely(model, x=x)[:, 0]
    x_adv = fgsm(model, x, t, eps=0.1, targeted=True)   # the least-likely-class FGSM
"""

from __future__ import annotations

import torch
from torch import nn

from ..validation import check_images
from .base import attack_mode, check_count, model_device


def least_likely(source: nn.Module | torch.Tensor, x: torch.Tensor | None = None, k: int = 1) -> torch.Tensor:
    """The ``k`` least-likely classes per image, least likely first: int64 [N, k].

    The call shape of :func:`~advinterp_lib.attacks.ensemble.least_likely_targets`
    (``(models, x, k)``), for one model or for scores already computed: ``source`` is
    either a model (then ``x``, float images [N, C, H, W] in [0, 1], is
    required; it runs in eval mode under no_grad) or a score tensor [N, num_classes]
    whose order matches the classes' probabilities: logits of one model, or the
    *averaged probabilities* of an ensemble (not averaged logits, whose order can
    differ). Ties are broken by the lower class index.

    Raises TypeError/ValueError for a wrong source, missing ``x``, or k outside
    [1, num_classes - 1].
    """
    if x is not None and not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be images [N, C, H, W] or None (pass k by name: k={x!r}), got {type(x).__name__}")
    if isinstance(source, nn.Module):
        if x is None:
            raise ValueError("least_likely(model, ...) needs the images: pass x=[N, C, H, W]")
        x = check_images(x, model=source)
        with attack_mode(source), torch.no_grad():
            scores = source(x.to(model_device(source, x.device))).to(x.device)
    elif isinstance(source, torch.Tensor):
        if x is not None:
            raise ValueError("x is only used with a model; got a score tensor and x")
        scores = source.detach()
    else:
        raise TypeError(f"source must be a model or a score tensor [N, num_classes], got {type(source).__name__}")
    if scores.dim() != 2 or not scores.is_floating_point():
        raise ValueError(f"scores must be a float tensor [N, num_classes], got {scores.dtype} {tuple(scores.shape)}")
    if not torch.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf values")
    num_classes = scores.shape[1]
    check_count(k, "k")
    if k > num_classes - 1:
        raise ValueError(f"k must be <= num_classes - 1 = {num_classes - 1}, got {k}")
    # A stable ascending sort: equal scores keep class order.
    return torch.sort(scores, dim=1, stable=True).indices[:, :k]


def random_targets(
    y: torch.Tensor, num_classes: int, k: int = 1, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``k`` distinct random classes per image, each different from ``y``: int64 [N, k],
    drawn uniformly (reproducible with a seeded ``generator``; drawn on the generator's
    device, returned on ``y``'s).

    Raises TypeError/ValueError for non-integer or out-of-range ``y``, or k outside
    [1, num_classes - 1].
    """
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(
            f"y must be an integer tensor [N], got {getattr(y, 'dtype', type(y).__name__)} "
            f"{tuple(getattr(y, 'shape', ()))}"
        )
    check_count(num_classes, "num_classes", minimum=2)
    check_count(k, "k")
    if k > num_classes - 1:
        raise ValueError(f"k must be <= num_classes - 1 = {num_classes - 1}, got {k}")
    if y.numel() and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must be class indices in [0, {num_classes}), got values in [{y.min()}, {y.max()}]")
    device = generator.device if generator is not None else torch.device("cpu")
    # A random permutation of the other num_classes - 1 classes per image: sort random
    # keys, then skip over y by shifting indices >= y up by one.
    keys = torch.rand(y.shape[0], num_classes - 1, generator=generator, device=device)
    others = keys.argsort(dim=1)[:, :k].to(y.device)
    y64 = y.to(torch.int64).unsqueeze(1)
    return others + (others >= y64).to(torch.int64)
