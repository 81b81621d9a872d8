"""The claims of part IV's chapters on concepts and consistency: 10, 11 and 13 (see
:mod:`advinterp_lib.runs.chapter_claims`). Chapter 12's, on training, are in
:mod:`advinterp_lib.runs.chapter_claims.training`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..prose import format_interval
from .check import ClaimCheck

#: Chapter 11's claims are statistical: with fewer top real images per neuron (a tiny smoke run)
#: there is nothing to test.
MIN_TOP_IMAGES = 5

#: The sensitivity variants whose direction chapter 11 asserts (the target's concept and the ε
#: sweep are reported from the numbers, not asserted: their margins are narrower).
ASSERTED_SENSITIVITY_GROUPS = ("sigma", "reduction", "subset")


def concepts_and_wordnet_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 10: the WordNet distances of the ten classes, the order of the paper's
    illustration, and how consis of the example neurons moves with σ.

    Reads ``classes``, ``distance_matrix``, ``correlation_matrix`` (A at the chapter's σ),
    ``sigma_values``, ``example_consis`` and ``paper_illustration``. The illustration's
    claim is judged only where ``paper_illustration`` is recorded (the committed full
    run predates it).
    """
    i = {name: k for k, name in enumerate(numbers["classes"])}
    D = numbers["distance_matrix"]
    sandal, bag = D[i["Sandal"]], D[i["Bag"]]
    checks = [
        ClaimCheck(
            "",
            "the sandal is 3 edges from the ankle boot and 7 from the bag",
            sandal[i["Ankle boot"]] == 3 and sandal[i["Bag"]] == 7,
            f"{sandal[i['Ankle boot']]} and {sandal[i['Bag']]}",
        ),
        ClaimCheck(
            "",
            "the T-shirt is 1 edge from the shirt and the sandal 2 from the sneaker",
            D[i["T-shirt/top"]][i["Shirt"]] == 1 and sandal[i["Sneaker"]] == 2,
            f"{D[i['T-shirt/top']][i['Shirt']]} and {sandal[i['Sneaker']]}",
        ),
        ClaimCheck(
            "",
            "the bag is far from every other class (at least 6 edges)",
            sorted(bag)[1] >= 6,
            f"nearest other class {sorted(bag)[1]} edges away",
        ),
    ]
    if "paper_illustration" in numbers:
        far, near = numbers["paper_illustration"].values()
        checks.append(
            ClaimCheck(
                "",
                "WordNet keeps the order of the paper's illustration (the far pair is farther)",
                far["wordnet"] > near["wordnet"],
                f"{far['wordnet']} vs {near['wordnet']} edges",
            )
        )
    diagonal = [row[k] for k, row in enumerate(numbers["correlation_matrix"])]
    off = [a for a in diagonal if not abs(a - 1.0) <= 1e-8 + 1e-5]  # torch.allclose's default tolerances
    checks.append(
        ClaimCheck(
            "", "the correlation matrix A has ones on its diagonal", not off, f"diagonal entries away from 1: {off}"
        )
    )
    for name, values in numbers["example_consis"].items():
        drops = [(a, b) for a, b in zip(values[:-1], values[1:], strict=True) if b < a - 1e-12]
        checks.append(ClaimCheck(name, "consis grows with σ", not drops, f"steps where it falls: {drops}"))
    one_class = numbers["example_consis"]["one class (sneakers)"]
    checks.append(
        ClaimCheck(
            "one class (sneakers)",
            "a neuron that sees one class scores 1 at every σ",
            all(abs(v - 1) < 1e-12 for v in one_class),
            f"{one_class}",
        )
    )
    sigmas = numbers["sigma_values"]
    uniform = numbers["example_consis"]["all ten classes"][sigmas.index(1.0)] if 1.0 in sigmas else math.nan
    checks.append(
        ClaimCheck(
            "all ten classes",
            "at σ = 1 an evenly spread neuron scores near 1/K (in [0.1, 0.2))",
            0.1 <= uniform < 0.2,
            f"{uniform:.3f}" if 1.0 in sigmas else f"σ = 1 is not among {sigmas}",
        )
    )
    return checks


def inconsistent_representations_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 11: the adversarial images fool every model, consis_adv lies below consis
    (Table 1, whole intervals apart), and that direction survives σ, the spatial reduction
    and fooled images only (the ``sensitivity`` variants of groups
    :data:`ASSERTED_SENSITIVITY_GROUPS`).

    Reads ``k_real``, ``misclassified``, ``table1`` and ``sensitivity``. With fewer than
    :data:`MIN_TOP_IMAGES` top real images per neuron (a tiny smoke run) there is nothing
    to test: no checks.
    """
    if numbers["k_real"] < MIN_TOP_IMAGES:
        return []
    checks = []
    for arch, row in numbers["table1"].items():
        fooled = numbers["misclassified"][arch]
        checks.append(
            ClaimCheck(arch, "most adversarial images fool the model", fooled >= 0.5, f"{fooled:.2f} of them")
        )
        r, v = row["consis_ci"], row["consis_adv_ci"]
        checks.append(
            ClaimCheck(
                arch,
                "consis_adv lies below consis (whole intervals apart)",
                v["high"] < r["low"],
                f"consis_adv {format_interval(v)}, consis {format_interval(r)}",
            )
        )
    for variant in numbers["sensitivity"]["variants"].values():
        if variant["group"] in ASSERTED_SENSITIVITY_GROUPS:
            archs = variant["archs"]
            checks.append(
                ClaimCheck(
                    variant["label"],
                    "consis_adv stays below consis for every model",
                    all(c["holds"] for c in archs.values()),
                    ", ".join(
                        f"{a} [{c['difference']['low']:.3f}, {c['difference']['high']:.3f}]" for a, c in archs.items()
                    ),
                )
            )
    return checks


def tracing_predictions_to_neurons_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 13: prediction difference and gradient × activation agree (exactly for the
    ResNets' linear heads), removing the top neurons costs more than removing random ones,
    and removing the neurons that push an adversarial decision restores more decisions
    than a random order.

    Reads ``agreement``, ``ablation_curve``, ``flipped_share`` and ``adversarial``.
    """
    agreement = numbers["agreement"]
    checks = [
        ClaimCheck(
            key,
            "the head is linear: PD equals GxA (largest gap under 1e-3)",
            s["max_abs_gap"] < 1e-3,
            f"{s['max_abs_gap']:.2g}",
        )
        for key, s in agreement.items()
        if key.startswith("resnet")
    ]
    checks += [
        ClaimCheck(
            key,
            "the PD and GxA rankings agree (mean Spearman above 0.8)",
            s["spearman_mean"] > 0.8,
            f"{s['spearman_mean']:.3f}",
        )
        for key, s in agreement.items()
    ]
    pd_curve, random_curve = (
        numbers["ablation_curve"]["prediction difference"],
        numbers["ablation_curve"]["random order"],
    )
    checks.append(
        ClaimCheck(
            numbers["explain_arch"],
            "removing the top-PD neurons lowers the true-class logit more than random removal (by over 1)",
            pd_curve[-1] < random_curve[-1] - 1.0,
            f"{pd_curve[-1]:.2f} vs {random_curve[-1]:.2f}",
        )
    )
    flipped = numbers["flipped_share"]
    checks.append(
        ClaimCheck(
            numbers["explain_arch"],
            "removing the top-PD neurons flips more decisions than random removal (by over 0.1)",
            flipped["prediction difference"][-1] > flipped["random order"][-1] + 0.1,
            f"{flipped['prediction difference'][-1]:.2f} vs {flipped['random order'][-1]:.2f}",
        )
    )
    adversarial = numbers["adversarial"]
    restored, restored_random = adversarial["restored_share"], adversarial["restored_share_random"]
    checks.append(
        ClaimCheck(
            numbers["explain_arch"],
            "removing the neurons that push an adversarial decision restores more decisions than random (by over 0.15)",
            restored[-1] > restored_random[-1] + 0.15,
            f"{restored[-1]:.2f} vs {restored_random[-1]:.2f}",
        )
    )
    return checks


#: The claim functions of this part's chapters, by ``NN_slug`` (chapter 12's are in
#: :mod:`advinterp_lib.runs.chapter_claims.training`).
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    "10_concepts_and_wordnet": concepts_and_wordnet_claims,
    "11_inconsistent_representations": inconsistent_representations_claims,
    "13_tracing_predictions_to_neurons": tracing_predictions_to_neurons_claims,
}
