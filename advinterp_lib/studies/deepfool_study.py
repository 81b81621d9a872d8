"""Chapter 6 -- DeepFool: the bookkeeping around Algorithm 1 on a two-class net and the
multiclass attack on the zoo models.

The chapter calls the method itself (:func:`~advinterp_lib.attacks.deepfool.deepfool_binary`,
:func:`~advinterp_lib.attacks.deepfool.deepfool`,
:func:`~advinterp_lib.attacks.minimal.compare_with_fgsm`) and shows its from-scratch
Algorithm 1 checked against the library; this module holds what it does around those calls:

- :func:`two_class_sample`: a seeded sample of the two classes' training images;
- :func:`iteration_counts`, :func:`describe_binary` and :func:`binary_numbers`: how
  Algorithm 1 fared on the test images, as a sentence and as the results record it;
- :func:`longest_path`: the image whose path the chapter draws;
- :func:`deepfool_titles`: the titles of the rows of clean, adversarial and perturbation images;
- :func:`fgsm_comparison_table`: per model, DeepFool against FGSM's minimal budgets
  (the DeepFool paper's Table 1).

Everything computes and returns; the chapter prints, displays and draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..attacks.deepfool import DeepFoolBinaryResult, DeepFoolResult
from ..attacks.two_class import two_class_subset
from ..tables import markdown_table
from ..validation import check_int

__all__ = [
    "binary_numbers",
    "deepfool_titles",
    "describe_binary",
    "fgsm_comparison_table",
    "iteration_counts",
    "longest_path",
    "two_class_sample",
]


#: The keys of :attr:`~advinterp_lib.attacks.minimal.MinimalPerturbations.numbers` the table shows.
_TABLE_KEYS = (
    "deepfool_success",
    "deepfool_mean_iterations",
    "deepfool_images_per_second",
    "deepfool_rho",
    "fgsm_mean_minimal_eps",
    "fgsm_rho",
)


def two_class_sample(
    images: torch.Tensor, labels: torch.Tensor, classes: Sequence[int], size: int, *, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` images of ``classes`` drawn without replacement, labelled 0 and 1.

    :func:`~advinterp_lib.attacks.two_class.two_class_subset`, then the first ``size`` of
    a random permutation from a generator seeded with ``seed`` (the global generator is
    not touched).

    Args:
        images: [N, ...] the data set's images.
        labels: int [N].
        classes: two distinct class indices; ``classes[1]`` becomes label 1.
        size: how many to draw (1 .. the images of the two classes).
        seed: the permutation's seed.

    Returns:
        ``(images, y)``: [size, ...] and int64 [size].

    Raises:
        TypeError: ``size`` is not an int.
        ValueError: ``size`` below 1 or above the images of the two classes; and what
            :func:`~advinterp_lib.attacks.two_class.two_class_subset` raises.
    """
    size = check_int(size, "size", minimum=1)
    x, y = two_class_subset(images, labels, classes)
    if size > len(x):
        raise ValueError(f"size: the two classes {list(classes)} have {len(x)} images, cannot draw {size}")
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:size]
    return x[pick], y[pick]


def _check_iterations(iterations: torch.Tensor) -> torch.Tensor:
    if not isinstance(iterations, torch.Tensor) or iterations.dim() != 1 or len(iterations) == 0:
        raise ValueError(f"iterations: expected a non-empty 1-D tensor, got {getattr(iterations, 'shape', iterations)}")
    if iterations.is_floating_point() or iterations.is_complex() or iterations.dtype == torch.bool:
        raise ValueError(f"iterations: expected integer steps per image, got {iterations.dtype}")
    return iterations


def iteration_counts(iterations: torch.Tensor) -> dict[int, int]:
    """How many images took each number of steps: ``{steps: images}``, steps ascending.

    Args:
        iterations: int [N], the steps per image (e.g. ``DeepFoolBinaryResult.iterations``).

    Raises:
        ValueError: not a non-empty 1-D integer tensor.
    """
    _check_iterations(iterations)
    values, counts = torch.unique(iterations, return_counts=True)
    return {int(k): int(v) for k, v in zip(values, counts, strict=True)}


def longest_path(iterations: torch.Tensor) -> int:
    """The index of the first image with the most steps.

    Raises:
        ValueError: as :func:`iteration_counts`.
    """
    _check_iterations(iterations)
    return int(torch.nonzero(iterations == iterations.max())[0])


def _check_binary(result: DeepFoolBinaryResult) -> None:
    if not isinstance(result, DeepFoolBinaryResult):
        raise ValueError(f"result: expected a DeepFoolBinaryResult, got {type(result).__name__}")
    if len(result.iterations) == 0:
        raise ValueError("result: no images")


def describe_binary(result: DeepFoolBinaryResult) -> str:
    """One line: the share of images Algorithm 1 flipped and :func:`iteration_counts`.

    Raises:
        ValueError: not a :class:`~advinterp_lib.attacks.deepfool.DeepFoolBinaryResult`, no images.
    """
    _check_binary(result)
    return f"success {result.success.float().mean():.1%}; steps per image: {iteration_counts(result.iterations)}"


def binary_numbers(result: DeepFoolBinaryResult) -> dict[str, float | int]:
    """Algorithm 1's results as the chapter records them: ``binary_success`` (the share
    flipped), ``binary_mean_iterations``, ``binary_mean_l2`` (mean L2 norm of the
    perturbation) and ``binary_max_iterations``.

    Raises:
        ValueError: as :func:`describe_binary`.
    """
    _check_binary(result)
    return {
        "binary_success": float(result.success.float().mean()),
        "binary_mean_iterations": float(result.iterations.float().mean()),
        "binary_mean_l2": float(result.perturbation.flatten(1).norm(dim=1).mean()),
        "binary_max_iterations": int(result.iterations.max()),
    }


def deepfool_titles(
    result: DeepFoolResult, names: Sequence[str], show: Sequence[int] | torch.Tensor
) -> dict[str, list[str]]:
    """The titles of :func:`~advinterp_lib.plotting.attacks.adversarial_rows` for the
    images ``show`` of a DeepFool result: the clean class, ``→`` the adversarial class,
    and the perturbation's L2 norm.

    Args:
        result: ``deepfool(model, x)``.
        names: the class names, indexed by class.
        show: the indices of the images shown.

    Returns:
        ``{"clean_titles", "adversarial_titles", "perturbation_titles"}``, one title per image shown.

    Raises:
        ValueError: not a :class:`~advinterp_lib.attacks.deepfool.DeepFoolResult`, an index
            outside the result, a class without a name.
    """
    if not isinstance(result, DeepFoolResult):
        raise ValueError(f"result: expected a DeepFoolResult, got {type(result).__name__}")
    idx = torch.as_tensor(show, dtype=torch.long).reshape(-1)
    n = len(result.label)
    if len(idx) and not bool(((idx >= -n) & (idx < n)).all()):
        raise ValueError(f"show: indices must lie in [{-n}, {n}), got {idx.tolist()}")
    label, adversarial = result.label[idx], result.adversarial_label[idx]
    top = int(torch.cat([label, adversarial]).max()) if len(idx) else -1
    if top >= len(names):
        raise ValueError(f"names: {len(names)} names, but the images shown reach class {top}")
    return {
        "clean_titles": [names[int(k)] for k in label],
        "adversarial_titles": [f"→ {names[int(k)]}" for k in adversarial],
        "perturbation_titles": [f"‖r‖={float(v):.2f}" for v in result.l2[idx]],
    }


def fgsm_comparison_table(per_model: Mapping[str, Mapping[str, float]]) -> str:
    """Markdown: per model, DeepFool's success, mean steps, images per second and
    ρ̂_adv, FGSM's mean minimal ε and ρ̂_adv, and how many times larger FGSM's ρ̂_adv is.

    Args:
        per_model: model name -> :attr:`~advinterp_lib.attacks.minimal.MinimalPerturbations.numbers`.

    Raises:
        ValueError: no models, a model's numbers without one of the keys shown.
    """
    if not per_model:
        raise ValueError("per_model: no models")
    for name, p in per_model.items():
        missing = [k for k in _TABLE_KEYS if k not in p]
        if missing:
            raise ValueError(f"per_model[{name!r}]: missing {missing}")
    headers = ["model", "DeepFool success", "mean steps", "images/s", "ρ̂ DeepFool", "FGSM minimal ε (mean)",
               "ρ̂ FGSM", "FGSM / DeepFool"]  # fmt: skip
    rows = [
        [
            name,
            f"{p['deepfool_success']:.1%}",
            f"{p['deepfool_mean_iterations']:.1f}",
            f"{p['deepfool_images_per_second']:.0f}",
            f"{p['deepfool_rho']:.3f}",
            f"{p['fgsm_mean_minimal_eps']:.3f}",
            f"{p['fgsm_rho']:.3f}",
            f"{p['fgsm_rho'] / p['deepfool_rho']:.1f}×",
        ]
        for name, p in per_model.items()
    ]
    return markdown_table(headers, rows)
