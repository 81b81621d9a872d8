"""The claims of part I, interpretability (see :mod:`advinterp_lib.runs.chapter_claims`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...interpret.receptive_field import FieldAgreement
from .check import ClaimCheck


def looking_inside_a_cnn_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 1, per model: its test accuracy is at least 0.84, and its last-layer features
    group test images by class better than pixels do (the share of the k nearest neighbours
    sharing the query's class exceeds the pixels' by more than 0.02)."""
    agreement = numbers["neighbour_class_agreement"]
    pixels = agreement["pixels"]
    checks = []
    for arch, accuracy in numbers["test_accuracy"].items():
        checks += [
            ClaimCheck(arch, "test accuracy is at least 0.84", accuracy >= 0.84, f"{accuracy:.4f}, threshold 0.84"),
            ClaimCheck(
                arch,
                "features group classes better than pixels (neighbour class agreement above the pixels' + 0.02)",
                agreement[arch] > pixels + 0.02,
                f"{agreement[arch]:.4f} vs pixels {pixels:.4f}",
            ),
        ]
    return checks


def what_a_neuron_detects_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 2, per model: its live last-layer neurons give on average more than 0.4 of
    their top images to one class (mean max consis(n, c)), and the empirical receptive field
    is narrower than 0.8 of the theoretical one; then, per model whose field came from the
    geometry walk (the keys of ``gradient_rf_vs_geometry``), the gradient's support lies
    inside the geometric box and reaches its edges (:attr:`FieldAgreement.consistent`)."""
    empirical, theoretical = numbers["empirical_rf_width"], numbers["theoretical_rf"]
    checks = []
    for arch, purity in numbers["mean_max_consis"].items():
        checks += [
            ClaimCheck(
                arch, "neurons prefer one class: mean max consis(n, c) above 0.4", purity > 0.4, f"{purity:.3f}"
            ),
            ClaimCheck(
                arch,
                "the empirical receptive field is smaller than 0.8 of the theoretical one",
                empirical[arch] < 0.8 * theoretical[arch],
                f"{empirical[arch]:.1f} px vs theoretical {theoretical[arch]} px",
            ),
        ]
    for arch, fields in numbers["gradient_rf_vs_geometry"].items():
        agreement = FieldAgreement(**fields)
        checks.append(
            ClaimCheck(
                arch,
                "the gradient's support lies inside the geometric receptive field and reaches its edges",
                agreement.consistent,
                f"{agreement.outside} px outside, same extent: {agreement.same_extent}, "
                f"coverage {agreement.coverage:.2f}",
            )
        )
    return checks


def gradient_explanations_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 3, per model, on the mean correlation between the maps of the top class and
    the runner-up (each rounded to 3 decimals, as the chapter prints them): guided backprop's
    two maps nearly coincide (above 0.75), and Grad-CAM (no ReLU) is far more
    class-discriminative (guided backprop's above Grad-CAM's + 0.3)."""
    mean_corr = numbers["class_map_correlation_mean"]
    gbp = {a: round(m["guided backprop"], 3) for a, m in mean_corr.items()}
    cam = {a: round(m["Grad-CAM (no ReLU)"], 3) for a, m in mean_corr.items()}
    return [
        ClaimCheck(
            a,
            "guided backprop's maps for the top two classes nearly coincide (correlation above 0.75)",
            gbp[a] > 0.75,
            f"{gbp[a]:.3f}",
        )
        for a in mean_corr
    ] + [
        ClaimCheck(
            a,
            "Grad-CAM is far more class-discriminative than guided backprop (correlation lower by more than 0.3)",
            gbp[a] > cam[a] + 0.3,
            f"Grad-CAM {cam[a]:.3f} vs guided backprop {gbp[a]:.3f}",
        )
        for a in mean_corr
    ]


def perturbation_explanations_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 4, per model, in this order: every map but saliency deletes the class score
    faster than random order (lower deletion AUC); occlusion (the one ``occlusion k×k``
    method of ``auc``, k the chapter's agreement window) is clearly faithful, its deletion
    AUC below random's - 0.1 and its insertion AUC above random's + 0.1; the pixel-sharp maps
    (guided backprop, guided Grad-CAM) beat Grad-CAM at insertion by more than 0.05; and the
    agreement with occlusion is weak: the mean Spearman correlation of Grad-CAM is above -0.1
    and the best gradient method's (Grad-CAM, saliency, guided backprop) is more than 0.05
    below the image intensity's."""
    auc, mean = numbers["auc"], numbers["spearman_with_occlusion_mean"]
    archs = list(mean)
    occ = {a: next(m for m in auc[a] if m.startswith("occlusion ")) for a in archs}
    random = {a: auc[a]["random"] for a in archs}
    checks = []
    for a in archs:  # saliency (|gradient|) sits close to random order on some models, so it is left out
        not_better = [
            m for m in auc[a] if m not in ("random", "saliency") and auc[a][m]["deletion"] >= random[a]["deletion"]
        ]
        checks.append(
            ClaimCheck(
                a,
                "every method but saliency is better than random order at deletion",
                not not_better,
                f"random {random[a]['deletion']:.3f}; no better than it: "
                + (", ".join(f"{m} {auc[a][m]['deletion']:.3f}" for m in not_better) or "none"),
            )
        )
    for a in archs:
        deletion = auc[a][occ[a]]["deletion"]
        checks.append(
            ClaimCheck(
                a,
                "occlusion is clearly faithful at deletion (AUC below random's - 0.1)",
                deletion < random[a]["deletion"] - 0.1,
                f"{occ[a]} {deletion:.3f} vs random {random[a]['deletion']:.3f}",
            )
        )
    for a in archs:
        insertion = auc[a][occ[a]]["insertion"]
        checks.append(
            ClaimCheck(
                a,
                "occlusion is clearly faithful at insertion (AUC above random's + 0.1)",
                insertion > random[a]["insertion"] + 0.1,
                f"{occ[a]} {insertion:.3f} vs random {random[a]['insertion']:.3f}",
            )
        )
    for a in archs:
        sharp = min(auc[a]["guided backprop"]["insertion"], auc[a]["guided Grad-CAM"]["insertion"])
        checks.append(
            ClaimCheck(
                a,
                "pixel-sharp maps (guided backprop, guided Grad-CAM) beat Grad-CAM at insertion by more than 0.05",
                sharp > auc[a]["Grad-CAM"]["insertion"] + 0.05,
                f"the lower of the two {sharp:.3f} vs Grad-CAM {auc[a]['Grad-CAM']['insertion']:.3f}",
            )
        )
    for a in archs:
        gradient_best = max(mean[a][m] for m in ("Grad-CAM", "saliency", "guided backprop"))
        checks.append(
            ClaimCheck(
                a,
                "agreement with occlusion is weak: Grad-CAM's mean Spearman above -0.1, the best gradient "
                "method's more than 0.05 below the image intensity's",
                -0.1 < mean[a]["Grad-CAM"] and gradient_best < mean[a]["image intensity"] - 0.05,
                f"Grad-CAM {mean[a]['Grad-CAM']:.3f}, best gradient method {gradient_best:.3f}, "
                f"image intensity {mean[a]['image intensity']:.3f}",
            )
        )
    return checks


#: The claim functions of this part's chapters, by ``NN_slug``.
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    "01_looking_inside_a_cnn": looking_inside_a_cnn_claims,
    "02_what_a_neuron_detects": what_a_neuron_detects_claims,
    "03_gradient_explanations": gradient_explanations_claims,
    "04_perturbation_explanations": perturbation_explanations_claims,
}
