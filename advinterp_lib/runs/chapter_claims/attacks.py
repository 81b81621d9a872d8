"""The claims of part II, attacks (see :mod:`advinterp_lib.runs.chapter_claims`).

A claim that reads a key the committed full runs predate is judged only on numbers that
hold the key; each function's docstring names such keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .check import ClaimCheck


def adversarial_examples_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 5: per model, what FGSM costs in accuracy and how linear the loss is at the
    smallest step; then the loss surface along ``g`` and ``g_perp``. The loss rising along ``g``
    at every image is judged only where the run records ``loss_surface_per_image``."""
    eps_values = list(numbers["eps_values"])
    checks = []
    for arch, accuracy in numbers["fgsm_accuracy"].items():
        clean = accuracy[0]
        checks.append(ClaimCheck(arch, "clean accuracy is at least 0.8", clean >= 0.8, f"{clean:.3f}"))
        at_01 = accuracy[eps_values.index(0.1)] if 0.1 in eps_values else None
        checks.append(
            ClaimCheck(
                arch,
                "FGSM at eps 0.1 costs more than 20 points of accuracy",
                at_01 is not None and at_01 < clean - 0.2,
                f"{clean:.3f} -> {at_01:.3f}" if at_01 is not None else "eps 0.1 not swept",
            )
        )
        checks.append(
            ClaimCheck(
                arch,
                "FGSM at the sweep's largest eps more than halves accuracy",
                accuracy[-1] < 0.5 * clean,
                f"eps {eps_values[-1]:g}: {clean:.3f} -> {accuracy[-1]:.3f}",
            )
        )
        rows = numbers["linearity"][arch]
        ratio = rows[0]["ratio"]
        checks.append(
            ClaimCheck(
                arch,
                "at the smallest eps the loss rises within 15% of its first-order prediction",
                abs(ratio - 1) < 0.15,
                f"eps {rows[0]['eps']:g}: actual / predicted {ratio:.3f}",
            )
        )
        smallest = min(row["actual"] for row in rows)
        checks.append(
            ClaimCheck(
                arch, "FGSM raises the loss at every eps of the linearity sweep", smallest > 0, f"least {smallest:.3g}"
            )
        )
    if "loss_surface_per_image" in numbers:
        per_image = numbers["loss_surface_per_image"]
        rising = sum(g > x for g, x in zip(per_image["along_g"], per_image["at_x"], strict=True))
        checks.append(
            ClaimCheck(
                "",
                "the loss rises along g at every image of the loss surface",
                rising == len(per_image["at_x"]),
                f"{rising} of {len(per_image['at_x'])} images",
            )
        )
    surface = numbers["loss_surface"]
    along_g, along_perp = surface["loss_along_g_mean"], surface["loss_along_g_perp_mean"]
    checks.append(
        ClaimCheck(
            "",
            "the loss rises faster along g than along g_perp (mean over the images)",
            along_g > along_perp,
            f"{along_g:.3f} along g, {along_perp:.3f} along g_perp",
        )
    )
    return checks


def deepfool_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 6: DeepFool on the two-class CNN, then on each model against FGSM's minimal
    perturbation. The two-class steps are judged only where the run records
    ``binary_max_iterations``."""
    accuracy, success = numbers["binary_test_accuracy"], numbers["binary_success"]
    checks = [
        ClaimCheck("", "the two-class CNN's test accuracy is above 0.85", accuracy > 0.85, f"{accuracy:.3f}"),
        ClaimCheck("", "DeepFool fools the two-class CNN on every image", success == 1.0, f"success {success:.1%}"),
    ]
    if "binary_max_iterations" in numbers:
        steps = numbers["binary_max_iterations"]
        checks.append(
            ClaimCheck(
                "", "DeepFool fools the two-class CNN in at most 10 steps per image", steps <= 10, f"at most {steps}"
            )
        )
    for arch, p in numbers["models"].items():
        checks += [
            ClaimCheck(
                arch,
                "DeepFool succeeds on at least 95% of the images",
                p["deepfool_success"] >= 0.95,
                f"{p['deepfool_success']:.1%}",
            ),
            ClaimCheck(
                arch,
                "DeepFool takes at most 10 steps on average",
                p["deepfool_mean_iterations"] <= 10,
                f"{p['deepfool_mean_iterations']:.2f}",
            ),
            ClaimCheck(
                arch,
                "FGSM's minimal perturbation is more than 1.5 times DeepFool's (rho)",
                p["fgsm_rho"] > 1.5 * p["deepfool_rho"],
                f"{p['fgsm_rho']:.4f} vs {p['deepfool_rho']:.4f}",
            ),
        ]
    return checks


def iterative_and_ensemble_attacks_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 7: I-FGSM against FGSM, the ensemble attack against the paper's setting, and
    how its targets and misclassifications transfer."""
    checks = []
    eps_values = numbers["eps_values"]
    for arch, fgsm_error in numbers["fgsm_error"].items():
        rows = list(zip(eps_values, fgsm_error, numbers["ifgsm_error"][arch], strict=True))
        eps, fgsm, ifgsm = min(rows, key=lambda row: row[2] - row[1])  # the eps where I-FGSM's lead is least
        checks.append(
            ClaimCheck(
                arch,
                "I-FGSM is no weaker than FGSM (within 2 points) at every eps",
                all(i >= f - 0.02 for _, f, i in rows),
                f"least lead at eps {eps:g}: I-FGSM {ifgsm:.2f}, FGSM {fgsm:.2f}",
            )
        )
    paper, hit = numbers["paper_setting_success"], numbers["ensemble_attack"]["targeted_success"]["ensemble"]
    checks += [
        ClaimCheck(
            "",
            "our ensemble attack reaches the target more often than the paper's setting",
            paper < hit,
            f"{hit:.3f} vs {paper:.3f}",
        ),
        ClaimCheck(
            "",
            "the ensemble attack reaches the target on at least 90% of the images on the white-box ensemble",
            hit >= 0.9,
            f"{hit:.3f}",
        ),
    ]
    transfer = numbers["transfer"]
    for j, arch in enumerate(transfer["evaluated_on"]):
        white_box = transfer["targeted"][transfer["sources"].index(arch)][j]
        fooled, targeted = transfer["held_out_misclassified_single"][arch], transfer["held_out_targeted_single"][arch]
        checks += [
            ClaimCheck(
                arch,
                "the attack on the model alone reaches the target on at least 80% of the images (white box)",
                white_box >= 0.8,
                f"{white_box:.3f}",
            ),
            ClaimCheck(
                arch,
                "from another model, misclassification transfers more than 20 points more often than the target",
                fooled > targeted + 0.2,
                f"misclassified {fooled:.3f}, target {targeted:.3f}",
            ),
        ]
    return checks


def black_box_attacks_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 8: the query schedule, against the run's seed size and number of rounds
    (``n_seed``, ``augmentation_rounds``; a run that predates them is judged against its
    own table: the first round's training size and the table's rows), then the surrogate's
    imitation and transfer against random noise and white-box FGSM."""
    table = numbers["rounds"]
    if "n_seed" in numbers:
        n_seed, rounds = numbers["n_seed"], numbers["augmentation_rounds"]
    else:
        n_seed, rounds = table["training_size"][0], len(table["round"])
    schedule = [n_seed] + [n_seed * 2 ** (r - 1) for r in range(1, rounds)]
    first_success, last_success = table["transfer_success"][0], table["transfer_success"][-1]
    random_rate, white_box = numbers["random_noise_success"], numbers["white_box_success"]
    return [
        ClaimCheck(
            "",
            "each round queries the oracle on the seed images, then on as many new images as it has",
            table["new_queries"] == schedule,
            f"{table['new_queries']} against {schedule}",
        ),
        ClaimCheck(
            "",
            "the attack spends seed size x 2^(rounds - 1) queries",
            numbers["queries"] == n_seed * 2 ** (rounds - 1),
            f"{numbers['queries']} with {n_seed} seed images and {rounds} rounds",
        ),
        ClaimCheck(
            "",
            "augmentation improves the surrogate's agreement with the oracle",
            table["agreement"][-1] > table["agreement"][0],
            f"{table['agreement'][0]:.3f} -> {table['agreement'][-1]:.3f}",
        ),
        ClaimCheck(
            "",
            "more queries transfer better (by more than 5 points from the first round to the last)",
            last_success > first_success + 0.05,
            f"{first_success:.3f} -> {last_success:.3f}",
        ),
        ClaimCheck(
            "",
            "the black-box attack beats random noise of the same eps by more than 5 points",
            last_success > random_rate + 0.05,
            f"{last_success:.3f} vs {random_rate:.3f}",
        ),
        ClaimCheck(
            "",
            "white-box FGSM on the oracle is at least as strong as the black-box attack",
            white_box >= last_success,
            f"{white_box:.3f} vs {last_success:.3f}",
        ),
    ]


#: The claim functions of this part's chapters, by ``NN_slug``.
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    "05_adversarial_examples": adversarial_examples_claims,
    "06_deepfool": deepfool_claims,
    "07_iterative_and_ensemble_attacks": iterative_and_ensemble_attacks_claims,
    "08_black_box_attacks": black_box_attacks_claims,
}
