"""A two-class problem for DeepFool's Algorithm 1 (the binary case), and the plane of its path.

- :func:`two_class_subset`: the images of two classes of a data set, labelled 0 and 1.
- :func:`two_class_score`: a two-logit classifier as the score f = logit_1 - logit_0
  whose sign is the class (what :func:`~advinterp_lib.attacks.deepfool.deepfool_binary` takes).
- :func:`deepfool_path_slice`: the score on the plane through an image spanned by its
  total DeepFool perturbation and its first step, and the iterates' coordinates on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .base import check_count
from .surface import plane_values

__all__ = ["PathSlice", "deepfool_path_slice", "two_class_score", "two_class_subset"]


def two_class_subset(
    images: torch.Tensor, labels: torch.Tensor, classes: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of ``classes[0]`` and ``classes[1]``, in their order in the data set.

    Args:
        images: [N, ...] any tensor of N items.
        labels: int [N].
        classes: two distinct class indices.

    Returns:
        ``(images, y)``: the kept images and int64 labels, 1 for ``classes[1]``, 0 for ``classes[0]``.

    Raises:
        ValueError: not two distinct classes, labels of another length.
    """
    classes = list(classes)
    if len(classes) != 2 or classes[0] == classes[1]:
        raise ValueError(f"classes: expected two distinct class indices, got {classes}")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        raise ValueError(f"labels: expected [{len(images)}], got {getattr(labels, 'shape', type(labels).__name__)}")
    keep = (labels == classes[0]) | (labels == classes[1])
    return images[keep], (labels[keep] == classes[1]).long()


def two_class_score(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """f(x) = logit_1(x) - logit_0(x) of a two-logit ``model``: > 0 means class 1.

    Raises:
        TypeError: ``model`` is not a module.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")

    def f(v: torch.Tensor) -> torch.Tensor:
        logits = model(v)
        if logits.dim() != 2 or logits.shape[1] != 2:
            raise ValueError(f"two_class_score: the model must return [N, 2] logits, got {tuple(logits.shape)}")
        return logits[:, 1] - logits[:, 0]

    return f


@dataclass(frozen=True)
class PathSlice:
    """A binary score on the plane x0 + a u1 + b u2 and a DeepFool path on it.

    Attributes:
        scores: float [n, n], f at (eps1[i], eps2[j]).
        eps1, eps2: float [n], the coordinates along u1 (the total perturbation's
            direction) and u2 (the first step's part orthogonal to u1).
        path: float [T + 1, 2], the iterates x_0 .. x_T on the plane.
    """

    scores: torch.Tensor
    eps1: torch.Tensor
    eps2: torch.Tensor
    path: torch.Tensor


def deepfool_path_slice(
    f: Callable[[torch.Tensor], torch.Tensor], iterates: torch.Tensor, *, points: int = 41
) -> PathSlice:
    """The score ``f`` around one DeepFool path, on the plane of its total perturbation
    and its first step (u2: the first step made orthogonal to u1 by Gram-Schmidt).

    The plane spans -0.3..1.5 times the total perturbation's length along u1 and
    +-0.9 times it along u2; points are not clipped to [0, 1] (Algorithm 1 ignores the box).

    Args:
        f: the binary score, batch [B, ...] -> [B].
        iterates: [T + 1, ...] the path x_0 .. x_T of one image (T >= 2 and the
            first step not parallel to the total, so the plane exists).
        points: grid points per axis (>= 2).

    Returns:
        A :class:`PathSlice`.

    Raises:
        ValueError: fewer than three iterates, a zero total, a first step along the total.
    """
    points = check_count(points, "points", minimum=2)
    if not isinstance(iterates, torch.Tensor) or iterates.dim() < 2 or len(iterates) < 3:
        raise ValueError(f"iterates: expected [T + 1 >= 3, ...], got {getattr(iterates, 'shape', None)}")
    x0 = iterates[:1]
    path = (iterates - x0[0]).flatten(1)  # x_j - x_0
    if path[-1].norm() == 0:
        raise ValueError("iterates: the path does not move")
    u1 = path[-1] / path[-1].norm()
    u2 = path[1] - (path[1] @ u1) * u1
    if u2.norm() <= 1e-12:
        raise ValueError("iterates: the first step is parallel to the total perturbation; no plane")
    u2 = u2 / u2.norm()
    coords = torch.stack([path @ u1, path @ u2], dim=1)
    extent = float(path[-1].norm())
    e1 = torch.linspace(-0.3 * extent, 1.5 * extent, points)
    e2 = torch.linspace(-0.9 * extent, 0.9 * extent, points)
    with torch.no_grad():
        plane = plane_values(lambda p, _: f(p), x0, u1.view_as(x0), u2.view_as(x0), e1, e2, clip=False)[0]
    return PathSlice(plane, e1, e2, coords)
