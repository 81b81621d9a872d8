"""How adversarial images fare on a model: success rates, transfer between models, baselines.

An adversarial image is crafted on some models (its *sources*) and judged by others.
The chapters on iterative, ensemble and black-box attacks (7, 8) and FGSM's
least-likely variant (5) ask the same few questions of it, answered here once:

- :func:`classified_correctly`: which images every model gets right (the ones an attack
  can fool).
- :func:`misclassification_rate`, :func:`target_rate`: the fraction of adversarial
  images a model gets wrong, or labels as the attack's target.
- :func:`target_rates`: the same from probabilities already computed, per model and for
  the ensemble's summed probabilities.
- :func:`leave_one_out_sources`, :func:`transfer_matrix`, :func:`held_out_rates`: every
  model alone and every ensemble that leaves one out, judged by every model; and, per
  model, the transfer from the sources that never saw it.
- :func:`perturbation_norms`, :func:`random_sign_noise`: the size of a perturbation, and
  the random +-eps baseline an attack must beat.

Every model runs in eval mode (restored), under ``no_grad``, on the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn

from ..validation import check_images
from .base import attack_mode, check_budget, model_device

__all__ = [
    "TransferMatrix",
    "classified_correctly",
    "held_out_rates",
    "leave_one_out_sources",
    "misclassification_rate",
    "perturbation_norms",
    "random_sign_noise",
    "target_rate",
    "target_rates",
    "transfer_matrix",
]


def _labels_like(t: object, n: int, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dim() != 1 or t.shape[0] != n or t.is_floating_point():
        raise ValueError(f"{name}: expected integer labels [{n}], got {getattr(t, 'shape', type(t).__name__)}")
    return t


def _predictions(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Top-1 classes of ``x`` [N] (one forward pass, eval mode, no gradients), on x's device."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_images(x)
    device = model_device(model, x.device)
    with attack_mode(model), torch.no_grad():
        return model(x.to(device)).argmax(1).to(x.device)


def classified_correctly(models: Sequence[nn.Module] | nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """bool [N]: the images that every model of ``models`` classifies as ``y``.

    Args:
        models: one classifier or several (logits of images in [0, 1]).
        x: float images [N, C, H, W] in [0, 1].
        y: int labels [N].

    Returns:
        bool [N] on ``x``'s device.

    Raises:
        TypeError / ValueError: no models, a model that is not a module, bad images or labels.
    """
    models = [models] if isinstance(models, nn.Module) else list(models)
    if not models:
        raise ValueError("models: need at least one model")
    y = _labels_like(y, len(x), "y")
    ok = torch.ones(len(y), dtype=torch.bool, device=x.device)
    for model in models:
        ok = ok & (_predictions(model, x) == y.to(x.device))
    return ok


def misclassification_rate(
    model: nn.Module, x_adv: torch.Tensor, y: torch.Tensor, *, among: torch.Tensor | None = None
) -> float:
    """The fraction of ``x_adv`` that ``model`` does not label ``y``.

    Args:
        model: a classifier of images in [0, 1].
        x_adv: float images [N, C, H, W] in [0, 1] (adversarial or not).
        y: int [N], the true labels.
        among: optional bool [N]: count only these images (e.g. those the model gets
            right before the attack, for a transfer success).

    Returns:
        A fraction in [0, 1].

    Raises:
        TypeError / ValueError: bad images, labels or mask; a mask that selects nothing.
    """
    y = _labels_like(y, len(x_adv), "y").to(x_adv.device)
    pred = _predictions(model, x_adv)
    if among is not None:
        if not isinstance(among, torch.Tensor) or among.dtype != torch.bool or tuple(among.shape) != (len(y),):
            raise ValueError(f"among: expected a bool mask [{len(y)}], got {getattr(among, 'shape', among)}")
        if not among.any():
            raise ValueError("among: the mask selects no image")
        among = among.to(x_adv.device)
        pred, y = pred[among], y[among]
    return (pred != y).float().mean().item()


def target_rate(model: nn.Module, x_adv: torch.Tensor, target: torch.Tensor) -> float:
    """The fraction of ``x_adv`` that ``model`` labels as its ``target`` (int [N]): a
    targeted attack's success. Raises as :func:`misclassification_rate`."""
    target = _labels_like(target, len(x_adv), "target").to(x_adv.device)
    return (_predictions(model, x_adv) == target).float().mean().item()


def target_rates(probabilities: Mapping[str, torch.Tensor], target: torch.Tensor) -> dict[str, float]:
    """Per model, the fraction of images whose top class is the target; and under the key
    ``"ensemble"``, the same for the models' summed probabilities (the ensemble's average).

    Args:
        probabilities: model name -> float [N, K] (softmax outputs of the same images).
        target: int [N].

    Returns:
        ``{name: fraction, ..., "ensemble": fraction}``, in the order of ``probabilities``.

    Raises:
        ValueError: no models, a model named "ensemble", shapes that differ.
    """
    if not probabilities or "ensemble" in probabilities:
        raise ValueError(f"probabilities: need at least one model, none named 'ensemble'; got {list(probabilities)}")
    shapes = {tuple(p.shape) for p in probabilities.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"probabilities: expected one shape [N, K] for every model, got {shapes}")
    target = _labels_like(target, next(iter(shapes))[0], "target")
    hit = {name: (p.argmax(1) == target).float().mean().item() for name, p in probabilities.items()}
    total = cast(torch.Tensor, sum(probabilities.values()))  # not 0: at least one model (checked)
    hit["ensemble"] = (total.argmax(1) == target).float().mean().item()
    return hit


def leave_one_out_sources(names: Sequence[str]) -> dict[str, list[str]]:
    """The sources of a transfer experiment: each model alone, then, for each model, the
    ensemble of all the others (named ``"a + b"``), in the order of ``names``.

    Raises:
        ValueError: fewer than three names (with two, the "others" of one model are the
            other model alone, already a source), or repeated names.
    """
    names = list(names)
    if len(names) < 3 or len(set(names)) != len(names):
        raise ValueError(f"names: need three or more distinct model names, got {names}")
    sources = {name: [name] for name in names}
    for held_out in names:
        members = [n for n in names if n != held_out]
        sources[" + ".join(members)] = members
    return sources


@dataclass(frozen=True)
class TransferMatrix:
    """Adversarial images from each source, judged by each model.

    Attributes:
        sources: the row names (how each set of images was crafted).
        evaluated_on: the column names (the models that judge).
        targeted: float64 [sources, models]: the fraction labelled as the target.
        misclassified: float64 [sources, models]: the fraction not labelled as the true class.
    """

    sources: list[str]
    evaluated_on: list[str]
    targeted: np.ndarray
    misclassified: np.ndarray


def transfer_matrix(
    models: Mapping[str, nn.Module], crafted: Mapping[str, torch.Tensor], y: torch.Tensor, target: torch.Tensor
) -> TransferMatrix:
    """Judge every set of adversarial images by every model.

    Args:
        models: name -> classifier (the columns).
        crafted: source name -> adversarial images [N, C, H, W] in [0, 1] (the rows), all
            of the same N source images.
        y: int [N], the source images' true labels.
        target: int [N], the class each adversarial image was meant to reach.

    Returns:
        A :class:`TransferMatrix`.

    Raises:
        ValueError: no models or no sources, sets of another size than the labels.
    """
    if not models or not crafted:
        raise ValueError("models and crafted must each hold at least one entry")
    targeted = np.zeros((len(crafted), len(models)))
    misclassified = np.zeros((len(crafted), len(models)))
    for i, x_adv in enumerate(crafted.values()):
        for j, model in enumerate(models.values()):
            targeted[i, j] = target_rate(model, x_adv, target)
            misclassified[i, j] = misclassification_rate(model, x_adv, y)
    return TransferMatrix(list(crafted), list(models), targeted, misclassified)


def held_out_rates(matrix: np.ndarray, sources: Sequence[str], evaluated_on: Sequence[str]) -> tuple[dict, dict]:
    """Transfer to a model the attack never saw, per model of ``evaluated_on``.

    Args:
        matrix: [sources, models] rates (e.g. ``TransferMatrix.targeted``), rows named as
            :func:`leave_one_out_sources` names them.
        sources, evaluated_on: the row and column names.

    Returns:
        ``(single, pair)``: ``single[m]`` is the mean rate on ``m`` over the sources that
        are one *other* model; ``pair[m]`` the rate on ``m`` of the ensemble of all the others.

    Raises:
        ValueError: a matrix of another shape than the names, a missing source row.
    """
    sources, evaluated_on = list(sources), list(evaluated_on)
    matrix = np.asarray(matrix)
    if matrix.shape != (len(sources), len(evaluated_on)):
        raise ValueError(f"matrix: expected shape {(len(sources), len(evaluated_on))}, got {matrix.shape}")
    expected = leave_one_out_sources(evaluated_on)
    missing = [name for name in expected if name not in sources]
    if missing:
        raise ValueError(f"sources: missing the rows {missing}")
    single_rows = [sources.index(a) for a in evaluated_on]
    single = {
        a: float(np.mean([matrix[single_rows[i], j] for i in range(len(evaluated_on)) if i != j]))
        for j, a in enumerate(evaluated_on)
    }
    pair = {
        a: float(matrix[sources.index(" + ".join(b for b in evaluated_on if b != a)), j])
        for j, a in enumerate(evaluated_on)
    }
    return single, pair


def perturbation_norms(x_adv: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(linf, l2)``: float [N] each, the L-inf and L2 norms of ``x_adv - x`` per image.

    Raises:
        ValueError: the shapes differ.
    """
    if not isinstance(x_adv, torch.Tensor) or not isinstance(x, torch.Tensor) or x_adv.shape != x.shape:
        raise ValueError(
            f"x_adv and x must be tensors of one shape, got {getattr(x_adv, 'shape', None)}, "
            f"{getattr(x, 'shape', None)}"
        )
    delta = (x_adv - x).flatten(1)
    return delta.abs().amax(1), delta.norm(dim=1)


def random_sign_noise(x: torch.Tensor, eps: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``clip(x + eps * s)`` with s uniformly +-1 per pixel: the noise of an attack's
    budget that knows nothing about the model (the baseline an attack must beat).

    Args:
        x: float images [N, C, H, W] in [0, 1]; not modified.
        eps: the L-inf budget in [0, 1].
        generator: the random source (``None``: torch's global one).

    Returns:
        float images shaped like ``x``, in [0, 1].

    Raises:
        TypeError / ValueError: bad images or budget.
    """
    check_images(x)
    eps = check_budget(eps, "eps")
    noise = torch.randint(0, 2, x.shape, generator=generator).float() * 2 - 1
    return (x + eps * noise.to(x.device)).clamp(0, 1)
