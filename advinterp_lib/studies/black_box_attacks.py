"""Chapter 8 -- black-box attacks: the chapter's steps around Papernot et al.'s attack.

The chapter calls the attack itself (:class:`~advinterp_lib.attacks.blackbox.LabelOracle`,
:func:`~advinterp_lib.attacks.blackbox.jacobian_augmentation`,
:func:`~advinterp_lib.attacks.blackbox.blackbox_attack`) in its own cells; this module
holds what it does around those calls:

- :func:`seed_and_eval_sets`: the attacker's seed images and the disjoint images the
  attack is measured on, drawn from one test set;
- :func:`rounds_table`: the attack's rounds as the chapter's markdown table;
- :func:`reference_architecture`, :func:`black_box_baselines`, :func:`reference_lines`:
  the reference points the black-box success is judged against (random noise of the
  same budget, white-box FGSM on the oracle, transfer from a network of another
  architecture trained on labelled data) and their legend in the chapter's figure.

Everything computes and returns; the chapter prints and displays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..attacks.blackbox import BlackBoxRound
from ..attacks.fgsm import fgsm
from ..attacks.transfer import classified_correctly, misclassification_rate, random_sign_noise
from ..data import ImageSet
from ..models.zoo import ZOO
from ..tables import markdown_table
from ..validation import check_int

__all__ = [
    "BlackBoxBaselines",
    "black_box_baselines",
    "reference_architecture",
    "reference_lines",
    "rounds_table",
    "seed_and_eval_sets",
]


def seed_and_eval_sets(images: ImageSet, *, n_seed: int, n_eval: int, seed: int) -> tuple[ImageSet, ImageSet]:
    """The attacker's seed images and the evaluation images, disjoint, from one shuffle.

    One permutation of ``images`` (a ``torch.Generator`` seeded with ``seed``): its first
    ``n_seed`` positions are the seed set, the next ``n_eval`` the evaluation set, so no
    image the attacker starts from is one the attack is measured on.

    Args:
        images: the set to draw from (the test set).
        n_seed: seed images, >= 1.
        n_eval: evaluation images, >= 1; ``n_seed + n_eval <= len(images)``.
        seed: seeds the permutation.

    Returns:
        ``(seed_set, eval_set)``, two :class:`~advinterp_lib.data.ImageSet` in the
        permutation's order.

    Raises:
        TypeError / ValueError: a count that is not an int >= 1, or more images asked
            for than ``images`` holds.
    """
    check_int(n_seed, "n_seed", minimum=1)
    check_int(n_eval, "n_eval", minimum=1)
    if n_seed + n_eval > len(images):
        raise ValueError(f"n_seed + n_eval must be <= {len(images)} (the images given), got {n_seed} + {n_eval}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images.subset(indices=order[:n_seed]), images.subset(indices=order[n_seed : n_seed + n_eval])


def rounds_table(rounds: Sequence[BlackBoxRound]) -> str:
    """Markdown: per round, the training images, the oracle queries spent so far, the
    surrogate's agreement with the oracle and its accuracy, and the transfer success
    (rates as percentages with one decimal).

    Raises:
        ValueError: no rounds.
    """
    if not rounds:
        raise ValueError("rounds: expected at least one round, got none")
    headers = [
        "round",
        "training images",
        "queries (total)",
        "agreement with oracle",
        "surrogate accuracy",
        "transfer success",
    ]
    rows = [
        [
            r.round,
            r.training_size,
            r.queries,
            f"{r.agreement:.1%}",
            f"{r.surrogate_accuracy:.1%}",
            f"{r.transfer_success:.1%}",
        ]
        for r in rounds
    ]
    return markdown_table(headers, rows)


def reference_architecture(oracle_arch: str) -> str:
    """The zoo architecture the chapter's transfer reference is trained with: the first
    of ``"alexnet"``, ``"vgg"``, ``"resnet"`` that is not the oracle's.

    Raises:
        ValueError: ``oracle_arch`` is not a zoo architecture.
    """
    if oracle_arch not in ZOO:
        raise ValueError(f"oracle_arch: expected one of {', '.join(ZOO)}, got {oracle_arch!r}")
    return next(a for a in ZOO if a != oracle_arch)


@dataclass(frozen=True)
class BlackBoxBaselines:
    """The reference points of a black-box attack's success, each the fraction of the
    evaluation images the oracle classifies correctly that it misclassifies afterwards.

    Attributes:
        random_noise: after random ±eps sign noise (what an attacker gets without learning).
        white_box: after FGSM on the oracle's own gradient.
        reference_transfer: after FGSM crafted on the reference model (another
            architecture, trained on labelled data).
    """

    random_noise: float
    white_box: float
    reference_transfer: float


def black_box_baselines(
    oracle_model: nn.Module, reference: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, eps: float, seed: int
) -> BlackBoxBaselines:
    """Random noise, white-box FGSM and transfer from ``reference``, judged by ``oracle_model``.

    Success counts among the images the oracle classifies correctly
    (:func:`~advinterp_lib.attacks.transfer.classified_correctly`); the noise is
    :func:`~advinterp_lib.attacks.transfer.random_sign_noise` drawn from a generator
    seeded with ``seed``.

    Args:
        oracle_model: the attacked classifier (logits of images in [0, 1]).
        reference: the classifier the transfer reference's FGSM is crafted on.
        images: float [N, C, H, W] in [0, 1], the evaluation images.
        labels: int64 [N], their true labels.
        eps: the budget of noise and FGSM, in [0, 1] pixel units.
        seed: seeds the noise.

    Returns:
        A :class:`BlackBoxBaselines`.

    Raises:
        TypeError / ValueError: bad images, labels or eps; no image the oracle gets right.
    """
    ok = classified_correctly(oracle_model, images, labels)
    noise = random_sign_noise(images, eps, generator=torch.Generator().manual_seed(seed))
    return BlackBoxBaselines(
        random_noise=misclassification_rate(oracle_model, noise, labels, among=ok),
        white_box=misclassification_rate(oracle_model, fgsm(oracle_model, images, labels, eps=eps), labels, among=ok),
        reference_transfer=misclassification_rate(
            oracle_model, fgsm(reference, images, labels, eps=eps), labels, among=ok
        ),
    )


def reference_lines(baselines: BlackBoxBaselines, *, reference_arch: str, train_size: int) -> dict[str, float]:
    """The baselines as the chapter's figure draws them: ``{legend: rate}``, white-box
    FGSM first, then the transfer from ``reference_arch`` (trained on ``train_size``
    labelled images), then random noise."""
    return {
        "white-box FGSM on the oracle": baselines.white_box,
        f"transfer from {reference_arch} ({train_size} labelled images)": baselines.reference_transfer,
        "random ±ε noise": baselines.random_noise,
    }
