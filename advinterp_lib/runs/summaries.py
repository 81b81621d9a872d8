"""What each chapter sets beside its committed full-profile run.

A chapter's quick run (the book's default) measures on a few hundred images and
briefly trained models; the committed ``full`` run measures the same things at full
scale (``results/full/<chapter>.json``). :func:`chapter_summary` renders the chapter's
headline numbers from both, side by side (:func:`~advinterp_lib.runs.prose.profile_comparison`),
so no figure of the full run is ever typed into a chapter. The rows each chapter shows
are data, in :data:`SUMMARIES`; ``tests/runs/test_summaries.py`` checks every row
against the committed runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chapter_claims import CHAPTER_CLAIMS, describe_claim_checks
from .prose import Row, committed_results, format_percent, profile_comparison

__all__ = ["Summary", "SUMMARIES", "chapter_summary"]


@dataclass(frozen=True)
class Summary:
    """A chapter's rows: ``rows(archs)`` builds them for the architectures found under
    ``archs_at`` (the keys of that dict, or the items of that list, in either run;
    empty ``archs_at``: the rows take no architectures)."""

    rows: Callable[[Sequence[str]], list[Row]]
    archs_at: tuple[str, ...] = ()


def _one_decimal(v: float) -> str:
    return f"{v:.1f}"


def _percent_1(v: float) -> str:
    return format_percent(v, 1)


def _ratio(numerator: str, denominator: str) -> Callable[[Any], str]:
    return lambda d: f"{d[numerator] / d[denominator]:.1f}×"


def _inside_a_cnn(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [(f"{a}: test accuracy", ("test_accuracy", a), _percent_1) for a in archs]
    rows.append(("nearest-neighbour queries", ("agreement_queries",)))
    for space in ("pixels", *archs):
        rows.append((f"neighbours of the query's class, {space}", ("neighbour_class_agreement", space), _percent_1))
    return rows


def _neuron_detects(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [("test images streamed", ("images_streamed",))]
    for a in archs:
        rows += [
            (f"{a}: largest class frequency in a neuron's top 1%, mean", ("mean_max_consis", a)),
            (f"{a}: dead neurons", ("dead_neurons", a)),
            (f"{a}: theoretical receptive field (px)", ("theoretical_rf", a)),
            (f"{a}: empirical receptive field width (px)", ("empirical_rf_width", a), _one_decimal),
        ]
    return rows


GRADIENT_METHODS = ("saliency", "guided backprop", "Grad-CAM (no ReLU)", "guided Grad-CAM")


def _gradient_explanations(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [("test images", ("n_discriminative",))]
    for a in archs:
        for m in GRADIENT_METHODS:
            rows.append((f"{a}: {m}, top class vs runner-up (correlation)", ("class_map_correlation_mean", a, m)))
    return rows


def _deepfool(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [
        ("test images attacked", ("n_images",)),
        ("binary DeepFool: fooled", ("binary_success",), format_percent),
        ("binary DeepFool: mean steps", ("binary_mean_iterations",), _one_decimal),
    ]
    for a in archs:
        m = ("models", a)
        rows += [
            (f"{a}: DeepFool fooled", (*m, "deepfool_success"), _percent_1),
            (f"{a}: DeepFool mean steps", (*m, "deepfool_mean_iterations"), _one_decimal),
            (f"{a}: DeepFool ρ̂", (*m, "deepfool_rho")),
            (f"{a}: FGSM's minimal ρ̂ / DeepFool's", m, _ratio("fgsm_rho", "deepfool_rho")),
        ]
    return rows


PERTURBATION_METHODS = ("saliency", "guided backprop", "Grad-CAM")
# Chapter 4's agreement window in both profiles (its results name the occlusion maps by it).
OCCLUSION_WINDOW = 4


def _perturbation_explanations(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [("test images", ("n_images",))]
    for a in archs:
        for m in (*PERTURBATION_METHODS, "image intensity"):
            rows.append((f"{a}: {m} vs occlusion (Spearman, mean)", ("spearman_with_occlusion_mean", a, m)))
        for kind in ("deletion", "insertion"):
            rows += [
                (f"{a}: {kind} AUC, {m}", ("auc", a, m, kind))
                for m in (*PERTURBATION_METHODS, f"occlusion {OCCLUSION_WINDOW}×{OCCLUSION_WINDOW}", "random")
            ]
    return rows


def _at_budget(key: str, arch: str, eps: float) -> Callable[[Any], str]:
    """A value of a per-budget list (``numbers[key][arch][i]``, ``numbers["eps_values"][i] == eps``)."""

    def show(numbers: Any) -> str:
        budgets = [float(e) for e in numbers["eps_values"]]
        return format_percent(numbers[key][arch][budgets.index(eps)], 1) if eps in budgets else "–"

    return show


def _adversarial_examples(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [("test images", ("n_images",))]
    for a in archs:
        rows += [
            (f"{a}: clean accuracy", (), _at_budget("fgsm_accuracy", a, 0.0)),
            (f"{a}: accuracy under FGSM, ε = 0.1", (), _at_budget("fgsm_accuracy", a, 0.1)),
            (f"{a}: accuracy under FGSM, ε = 0.3", (), _at_budget("fgsm_accuracy", a, 0.3)),
            (f"{a}: least-likely FGSM reaches its target", ("least_likely_target_success", a), _percent_1),
            (f"{a}: loss rise ÷ first-order prediction, smallest ε", ("linearity", a, 0, "ratio")),
        ]
    surface = ("loss_surface",)
    rows += [
        ("loss-surface images", (*surface, "images")),
        ("mean loss at x", (*surface, "loss_at_x_mean")),
        ("… at the far end along g", (*surface, "loss_along_g_mean")),
        ("… at the far end along g⊥", (*surface, "loss_along_g_perp_mean")),
    ]
    return rows


def _iterative_and_ensemble(archs: Sequence[str]) -> list[Row]:
    rows: list[Row] = [(f"{a}: clean error", ("clean_error", a), _percent_1) for a in archs]
    attack = ("ensemble_attack",)
    rows += [
        ("the paper's setting (5/255, 10 steps): target reached", ("paper_setting_success",), _percent_1),
        ("ensemble attack: adversarial images", (*attack, "images")),
        *[
            (f"ensemble attack: {m} predicts the target", (*attack, "targeted_success", m), _percent_1)
            for m in (*archs, "ensemble")
        ],
        ("ensemble attack: mean L∞", (*attack, "mean_linf")),
    ]
    transfer = ("transfer",)
    for a in archs:
        rows += [
            (f"{a} held out: targeted, from the other two", (*transfer, "held_out_targeted_pair", a), _percent_1),
            (f"{a} held out: misclassified, from the other two", (*transfer, "held_out_misclassified_pair", a),
             _percent_1),
        ]  # fmt: skip
    return rows


def _black_box(archs: Sequence[str]) -> list[Row]:
    rounds = ("rounds",)
    return [
        ("oracle", ("oracle",), str),
        ("oracle accuracy", ("oracle_accuracy",), _percent_1),
        ("oracle queries", ("queries",)),
        ("surrogate agrees with the oracle, last round", (*rounds, "agreement", -1), _percent_1),
        ("FGSM on the surrogate fools the oracle, first round", (*rounds, "transfer_success", 0), _percent_1),
        ("… last round", (*rounds, "transfer_success", -1), _percent_1),
        ("random sign noise of the same size fools it", ("random_noise_success",), _percent_1),
        ("white-box FGSM fools it", ("white_box_success",), _percent_1),
        ("FGSM on a fully trained other model fools it", ("reference_transfer_success",), _percent_1),
    ]


#: The rows of each chapter, by results name.
SUMMARIES: dict[str, Summary] = {
    "01_looking_inside_a_cnn": Summary(_inside_a_cnn, ("test_accuracy",)),
    "02_what_a_neuron_detects": Summary(_neuron_detects, ("mean_max_consis",)),
    "03_gradient_explanations": Summary(_gradient_explanations, ("class_map_correlation_mean",)),
    "04_perturbation_explanations": Summary(_perturbation_explanations, ("auc",)),
    "05_adversarial_examples": Summary(_adversarial_examples, ("fgsm_accuracy",)),
    "06_deepfool": Summary(_deepfool, ("models",)),
    "07_iterative_and_ensemble_attacks": Summary(_iterative_and_ensemble, ("clean_error",)),
    "08_black_box_attacks": Summary(_black_box),
}


def _archs(numbers: Mapping[str, Any], path: Sequence[str]) -> list[str]:
    if not path:
        return []
    value: Any = numbers
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return []
        value = value[key]
    return [str(a) for a in value] if isinstance(value, Mapping | list) else []


def chapter_summary(
    chapter: str, numbers: Mapping[str, Any], *, profile: str = "full", root: str | Path | None = None
) -> str:
    """Markdown: the chapter's :data:`SUMMARIES` rows for this run's ``numbers`` beside the
    committed ``profile`` run (or the note that it has not been run), then how many of the
    chapter's asserted claims that run bears out
    (:func:`~advinterp_lib.runs.chapter_claims.describe_claim_checks`).

    Raises:
        KeyError: a chapter without a summary (naming the ones that have one).
        ValueError / TypeError: from :func:`~advinterp_lib.runs.prose.profile_comparison`.
    """
    if chapter not in SUMMARIES:
        raise KeyError(f"no summary for {chapter!r}; chapters with one: {sorted(SUMMARIES)}")
    summary = SUMMARIES[chapter]
    record = committed_results(chapter, profile, root=root)
    archs = _archs(numbers, summary.archs_at)
    if record is not None:
        archs += [a for a in _archs(record["numbers"], summary.archs_at) if a not in archs]
    table = profile_comparison(numbers, chapter, summary.rows(archs), profile=profile, root=root)
    if record is None or chapter not in CHAPTER_CLAIMS:
        return table
    return table + "\n\n" + describe_claim_checks(chapter, record, profile=profile)
