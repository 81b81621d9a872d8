"""The claims of part V, beyond the paper (see :mod:`advinterp_lib.runs.chapter_claims`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .check import ClaimCheck


def _iv(interval: Mapping[str, float]) -> str:
    return f"[{interval['low']:.3f}, {interval['high']:.3f}]"


def explanations_under_attack_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 14, per model: noise leaves Grad-CAM closer than PGD; the attack on
    Grad-CAM keeps every prediction and moves the map further than noise; the phase
    carries FGSM and PGD; PGD's and the ensemble attack's perturbations are more
    low-frequency than white noise; per standard model with an ``-Adv`` twin, adversarial
    training keeps Grad-CAM in place under PGD and DeepFool leaves it closer than PGD.

    Two questions the full run answered differently per model are findings of the report
    instead (``ch14.<model>.explanation_attack_twice_noise``: the map moves more than twice
    as far as noise; ``ch14.<model>.fgsm_low_frequency``)."""
    agreement, explanation = numbers["agreement"], numbers["explanation_attack"]
    parts, low = numbers["perturbation_phase_vs_amplitude"], numbers["low_frequency_share"]
    checks = []
    for name, by_method in agreement.items():
        g = by_method["Grad-CAM"]
        noise, pgd = g["noise, true class"]["spearman"], g["PGD, true class"]["spearman"]
        detail = f"Spearman with the clean map: noise {_iv(noise)}, PGD {_iv(pgd)}"
        checks.append(
            ClaimCheck(name, "noise leaves Grad-CAM closer than PGD does", noise["low"] > pgd["high"], detail)
        )
        e = explanation[name]
        moved = e["prediction_kept_everywhere"] and e["shift"]["low"] > e["noise_shift"]["high"]
        kept = e["prediction_kept_everywhere"]
        detail = f"every prediction kept: {kept}, map shift {_iv(e['shift'])}, noise's {_iv(e['noise_shift'])}"
        claim = "the attack on Grad-CAM keeps every prediction and moves the map further than noise"
        checks.append(ClaimCheck(name, claim, moved, detail))
        for attack in ("FGSM", "PGD"):
            if attack in parts[name]:
                p = parts[name][attack]
                detail = f"still fooled with the phase only {p['phase']:.2f}, amplitude only {p['amplitude']:.2f}"
                checks.append(
                    ClaimCheck(
                        name, f"{attack}: the phase carries the attack", p["phase"] > p["amplitude"] + 0.3, detail
                    )
                )
        for attack in ("PGD", "ensemble"):
            share, noise_share = low[name][attack], low[name]["noise"]
            claim = f"{attack}'s perturbation is more low-frequency than white noise"
            detail = f"low-frequency share {_iv(share)}, noise {_iv(noise_share)}"
            checks.append(ClaimCheck(name, claim, share["low"] > noise_share["high"], detail))
    for name in agreement:
        if f"{name}-Adv" in agreement:
            std = agreement[name]["Grad-CAM"]["PGD, true class"]["spearman"]
            adv = agreement[f"{name}-Adv"]["Grad-CAM"]["PGD, true class"]["spearman"]
            deepfool = agreement[name]["Grad-CAM"]["DeepFool, true class"]["spearman"]
            claim = "adversarial training keeps Grad-CAM in place under PGD"
            detail = f"Spearman under PGD: -Adv {_iv(adv)}, standard {_iv(std)}"
            checks.append(ClaimCheck(name, claim, adv["low"] > std["high"], detail))
            claim = "DeepFool leaves the true-class map closer than PGD"
            detail = f"Spearman: DeepFool {_iv(deepfool)}, PGD {_iv(std)}"
            checks.append(ClaimCheck(name, claim, deepfool["low"] > std["high"], detail))
    return checks


#: The claim functions of this part's chapters, by ``NN_slug``. Chapter 15 asserts the
#: report's structure, not a measurement, so it has none here.
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    "14_explanations_under_attack": explanations_under_attack_claims,
}
