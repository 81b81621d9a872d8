"""Chapter 7 -- iterative and ensemble attacks: the chapter's steps around the attacks
that are not the attacks themselves.

The chapter calls the attacks (``fgsm_sweep``, ``pgd``, ``ensemble_attack_result``, the
cached ``adversarial_set``, ``ensemble_attack`` on every source of the transfer
experiment) and the transfer measures of :mod:`advinterp_lib.attacks.transfer` in its own
cells; this module holds what it does around those calls:

- :func:`error_rate`, :func:`ifgsm_errors`, :func:`step_curves`: one FGSM step against
  ``steps`` I-FGSM steps at several budgets, as the curves of the chapter's first figure;
- :func:`describe_paper_setting`: what the paper's own Adam setting reaches, in a sentence;
- :func:`target_rate_table`, :func:`describe_perturbation`,
  :func:`ensemble_attack_record`: how the adversarial set fares on each model and the
  ensemble, how far it moves the pixels, and its entry of the chapter's results;
- :func:`first_target_rows`: each source image's first (least-likely) target in a set;
- :func:`held_out_transfer`, :func:`held_out_table`, :func:`transfer_record`: the transfer
  to a model the attack never saw, its table and the transfer entry of the results.

Everything computes and returns; the chapter prints and displays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..attacks.advset import AdversarialSetRecipe
from ..attacks.ensemble import EnsembleAttackResult
from ..attacks.pgd import pgd
from ..attacks.transfer import TransferMatrix, held_out_rates
from ..data import AdversarialSet
from ..tables import markdown_table
from ..training import evaluate
from ..validation import check_int

__all__ = [
    "HELD_OUT_KEYS",
    "describe_paper_setting",
    "describe_perturbation",
    "ensemble_attack_record",
    "error_rate",
    "first_target_rows",
    "held_out_table",
    "held_out_transfer",
    "ifgsm_errors",
    "step_curves",
    "target_rate_table",
    "transfer_record",
]

# The keys of :func:`held_out_transfer`, as the chapter's results name them.
HELD_OUT_KEYS = (
    "held_out_targeted_single",
    "held_out_targeted_pair",
    "held_out_misclassified_single",
    "held_out_misclassified_pair",
)


def error_rate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """``1 - top-1 accuracy`` of ``model`` on images ``x`` (float [N, C, H, W] in [0, 1])
    with labels ``y`` (int [N]): on adversarial images, the attack's success. Raises as
    :func:`~advinterp_lib.training.evaluate`."""
    return 1 - evaluate(model, x, y)["top1"]


def ifgsm_errors(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps_values: Sequence[float], steps: int
) -> list[float]:
    """The error rate of ``model`` under I-FGSM at each budget: ``steps`` steps of
    :func:`~advinterp_lib.attacks.pgd.pgd` with Madry et al.'s step ``2.5 * eps / steps``,
    from ``x`` itself (no random start).

    Args:
        model: a classifier of images in [0, 1].
        x: float images [N, C, H, W] in [0, 1]; y: int [N], their true labels.
        eps_values: the L-inf budgets, in [0, 1] pixel units.
        steps: iterations per budget, >= 1.

    Returns:
        One error rate per budget, in the order of ``eps_values``.

    Raises:
        ValueError: no budget, ``steps`` < 1; TypeError / ValueError: as ``pgd``.
    """
    steps = check_int(steps, "steps", minimum=1)
    if len(eps_values) == 0:
        raise ValueError("eps_values: need at least one budget")
    return [
        error_rate(model, pgd(model, x, y, eps=eps, step_size=2.5 * eps / steps, steps=steps), y) for eps in eps_values
    ]


def step_curves(
    fgsm: Mapping[str, list[float]], ifgsm: Mapping[str, list[float]], *, steps: int
) -> dict[str, dict[str, list[float]]]:
    """The curves of :func:`~advinterp_lib.plotting.attacks.error_curves`: per model,
    ``"FGSM (1 step)"`` and ``"I-FGSM (<steps> steps)"``.

    Args:
        fgsm, ifgsm: model name -> error rate per budget, for the same models.
        steps: the I-FGSM iterations (for the label).

    Raises:
        ValueError: the two mappings name different models.
    """
    if list(fgsm) != list(ifgsm):
        raise ValueError(f"fgsm and ifgsm must name the same models in one order, got {list(fgsm)}, {list(ifgsm)}")
    return {a: {"FGSM (1 step)": fgsm[a], f"I-FGSM ({steps} steps)": ifgsm[a]} for a in fgsm}


def describe_paper_setting(result: EnsembleAttackResult) -> str:
    """One sentence: the share of images the paper's setting takes to their target on the
    ensemble, and its mean L-inf perturbation (in [0, 1] and on the 0..255 scale)."""
    return (
        f"paper's setting: {result.success_rate:.0%} of the images reach their least-likely class on the ensemble "
        f"(mean L-inf {result.linf.mean():.3f} = {255 * result.linf.mean():.0f}/255)"
    )


def target_rate_table(hit: Mapping[str, float]) -> str:
    """Markdown: one row, the fraction of adversarial images each model (and the
    ensemble) labels as the target (:func:`~advinterp_lib.attacks.transfer.target_rates`).

    Raises:
        ValueError: no rates.
    """
    if not hit:
        raise ValueError("hit: need at least one rate")
    return markdown_table(
        ["predicts the target", *hit], [["fraction of adversarial images", *(f"{v:.1%}" for v in hit.values())]]
    )


def _check_norms(linf: torch.Tensor, l2: torch.Tensor) -> None:
    if linf.dim() != 1 or linf.shape != l2.shape or len(linf) == 0:
        raise ValueError(f"linf and l2: expected two float tensors [M], M >= 1, got {linf.shape}, {l2.shape}")


def describe_perturbation(linf: torch.Tensor, l2: torch.Tensor) -> str:
    """One sentence: how many adversarial images, their mean L-inf (also on the 0..255
    scale) and mean L2 perturbation (:func:`~advinterp_lib.attacks.transfer.perturbation_norms`).

    Raises:
        ValueError: ``linf`` and ``l2`` not two non-empty float tensors [M].
    """
    _check_norms(linf, l2)
    return (
        f"{len(linf)} adversarial images; mean L-inf {linf.mean():.3f} ({255 * linf.mean():.0f}/255), "
        f"mean L2 {l2.mean():.2f}"
    )


def ensemble_attack_record(
    recipe: AdversarialSetRecipe, hit: Mapping[str, float], linf: torch.Tensor, l2: torch.Tensor
) -> dict[str, Any]:
    """The ``"ensemble_attack"`` entry of the chapter's results: the set's size, each
    model's (and the ensemble's) targeted success ``hit``, the mean L-inf and L2
    perturbation (``linf``, ``l2``: float [M], one per adversarial image) and the recipe's
    Adam step, steps and targets per image.

    Raises:
        ValueError: as :func:`describe_perturbation`.
    """
    _check_norms(linf, l2)
    return {
        "images": len(linf),
        "targeted_success": dict(hit),
        "mean_linf": float(linf.mean()),
        "mean_l2": float(l2.mean()),
        "step_size": recipe.step_size,
        "steps": int(recipe.steps),
        "k_targets": int(recipe.k),
    }


def first_target_rows(advset: AdversarialSet) -> torch.Tensor:
    """int64 [num_sources]: for each source image, the first row of ``advset`` made from
    it (its first target, the least-likely class in the book's sets).

    Raises:
        ValueError: a source index outside ``[0, num_sources)``, a source image with no
            row in the set.
    """
    n = advset.num_sources
    if len(advset) and not 0 <= int(advset.source_index.min()) <= int(advset.source_index.max()) < n:
        raise ValueError(f"advset: source indices outside [0, {n})")
    rows = torch.arange(len(advset))
    first = torch.full((n,), len(advset), dtype=torch.int64)
    first = first.scatter_reduce(0, advset.source_index, rows, reduce="amin")
    missing = (first == len(advset)).nonzero().flatten().tolist()
    if missing:
        raise ValueError(f"advset: the source images {missing[:10]} have no adversarial image")
    return first


def held_out_transfer(transfer: TransferMatrix) -> dict[str, dict[str, float]]:
    """Transfer to a model the attack never saw
    (:func:`~advinterp_lib.attacks.transfer.held_out_rates`), targeted and untargeted.

    Args:
        transfer: a :class:`~advinterp_lib.attacks.transfer.TransferMatrix` whose rows
            are :func:`~advinterp_lib.attacks.transfer.leave_one_out_sources` (and any others).

    Returns:
        ``{key: {model: rate}}`` for the keys of :data:`HELD_OUT_KEYS`: the targeted and
        misclassified rates on each model from one other model alone (``single``, the
        mean over them) and from the ensemble of all the others (``pair``).

    Raises:
        ValueError: as ``held_out_rates`` (a missing source row).
    """
    rates = [
        held_out_rates(m, transfer.sources, transfer.evaluated_on) for m in (transfer.targeted, transfer.misclassified)
    ]
    (targeted_single, targeted_pair), (fooled_single, fooled_pair) = rates
    return dict(zip(HELD_OUT_KEYS, (targeted_single, targeted_pair, fooled_single, fooled_pair), strict=True))


def held_out_table(held_out: Mapping[str, Mapping[str, float]]) -> str:
    """Markdown: per held-out model, the four rates of :func:`held_out_transfer`.

    Raises:
        ValueError: ``held_out`` lacks one of :data:`HELD_OUT_KEYS`.
    """
    missing = [k for k in HELD_OUT_KEYS if k not in held_out]
    if missing:
        raise ValueError(f"held_out: missing {missing}")
    headers = ["held-out model", "targeted, from one other model", "targeted, from the other two",
               "misclassified, from one", "misclassified, from two"]  # fmt: skip
    columns = [held_out[k] for k in HELD_OUT_KEYS]
    rows = [[a, *(f"{d[a]:.1%}" for d in columns)] for a in columns[0]]
    return markdown_table(headers, rows)


def transfer_record(transfer: TransferMatrix, held_out: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """The ``"transfer"`` entry of the chapter's results: the matrix (its row and column
    names, the targeted and misclassified rates as lists of rows) and the held-out rates
    of :func:`held_out_transfer`.

    Raises:
        ValueError: ``held_out`` lacks one of :data:`HELD_OUT_KEYS`.
    """
    missing = [k for k in HELD_OUT_KEYS if k not in held_out]
    if missing:
        raise ValueError(f"held_out: missing {missing}")
    return {
        "sources": list(transfer.sources),
        "evaluated_on": list(transfer.evaluated_on),
        "targeted": transfer.targeted.tolist(),
        "misclassified": transfer.misclassified.tolist(),
        **{k: dict(held_out[k]) for k in HELD_OUT_KEYS},
    }
