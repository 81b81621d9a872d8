"""The claims of the chapters on adversarial training: 9 (part III) and 12 (the paper's
consistent loss, part IV) (see :mod:`advinterp_lib.runs.chapter_claims`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..prose import format_interval
from .check import ClaimCheck


def adversarial_training_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 9: per architecture (``numbers["accuracy"]``: top-1 accuracy clean, under
    FGSM and under PGD at the training budget), the standard model is accurate and falls
    to PGD; PGD-AT raises PGD accuracy by a wide margin; every adversarial objective
    (``numbers["objectives"]``) raises FGSM accuracy, keeps some clean accuracy and finds
    PGD no weaker than FGSM; the strong cascade (``numbers["strong"]``) leaves no model
    more accurate than PGD-10 (a little slack: it sees fewer images). Then the loss
    surface: FGSM-AT flattens the loss along its own FGSM direction."""
    checks = []
    for arch, r in numbers["accuracy"].items():
        standard = r["standard"]
        clean, pgd = standard["clean"]["top1"], standard["pgd"]["top1"]
        checks += [
            ClaimCheck(f"{arch} standard", "clean top-1 accuracy is at least 0.8", clean >= 0.8, f"{clean:.3f}"),
            ClaimCheck(f"{arch} standard", "PGD drives top-1 accuracy below 0.1", pgd < 0.1, f"{pgd:.3f}"),
        ]
        pgd_at = r["PGD-AT"]["pgd"]["top1"]
        checks.append(
            ClaimCheck(
                f"{arch} PGD-AT",
                "raises PGD accuracy over the standard model by more than 0.15",
                pgd_at > pgd + 0.15,
                f"{pgd_at:.3f} vs {pgd:.3f}",
            )
        )
        for row in numbers["objectives"]:
            acc = {kind: r[row][kind]["top1"] for kind in ("clean", "fgsm", "pgd")}
            fgsm_standard = standard["fgsm"]["top1"]
            checks += [
                ClaimCheck(
                    f"{arch} {row}",
                    "raises FGSM accuracy over the standard model by more than 0.1",
                    acc["fgsm"] > fgsm_standard + 0.1,
                    f"{acc['fgsm']:.3f} vs {fgsm_standard:.3f}",
                ),
                ClaimCheck(
                    f"{arch} {row}", "clean top-1 accuracy is at least 0.6", acc["clean"] >= 0.6, f"{acc['clean']:.3f}"
                ),
                ClaimCheck(
                    f"{arch} {row}",
                    "PGD is the stronger attack (PGD accuracy at most FGSM's + 0.02)",
                    acc["pgd"] <= acc["fgsm"] + 0.02,
                    f"PGD {acc['pgd']:.3f}, FGSM {acc['fgsm']:.3f}",
                ),
            ]
        for row, strong in numbers["strong"][arch].items():
            robust, pgd_row = strong["apgd-t"], r[row]["pgd"]["top1"]
            checks.append(
                ClaimCheck(
                    f"{arch} {row}",
                    "PGD-10 is an upper bound: the strong attack leaves at most its accuracy + 0.03",
                    robust <= pgd_row + 0.03,
                    f"strong {robust:.3f}, PGD-10 {pgd_row:.3f}",
                )
            )
    surface = numbers["loss_surface"]
    fgsm_at, standard_g = surface["FGSM-AT"]["loss_along_g"], surface["standard"]["loss_along_g"]
    checks.append(
        ClaimCheck(
            f"{surface['arch']} FGSM-AT",
            "adversarial training flattens the loss along the model's own FGSM direction",
            fgsm_at < standard_g,
            f"loss at x + r·g {fgsm_at:.3f} vs standard {standard_g:.3f}",
        )
    )
    return checks


def adversarial_training_with_a_consistent_loss_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 12, per architecture: Table 3 at the training budget (``numbers["table3"]``:
    the -Adv model is much more accurate on FGSM images and gains no clean accuracy; the
    strong attack leaves every model at most its FGSM accuracy, judged only for the rows
    that record ``"strong"``: a run from before Table 3 had its strong column, such as the
    committed full run, has none); Table 1
    (``numbers["table1"]``: the standard model's consis_adv interval lies below its consis
    interval) and the gains over the standard model (``numbers["gain_vs_standard"]``:
    consistent-AT, and FGSM-AT and PGD-AT where trained, raise consis_adv on the shared set
    beyond the bootstrap interval); on the white-box sets
    (``numbers["gain_vs_standard_whitebox"]``, where the -Adv model has one) its gain is far
    below its shared-set gain. Then the ablation over seeds (the architectures it holds):
    the strong attack leaves every variant at most its FGSM accuracy (means over seeds);
    and the critique: the distance-maximising x' moves the features further than x*."""
    checks = []
    for arch in numbers["archs"]:
        t = numbers["table3"][arch]
        adv, standard = t["consistent-AT"], t["standard"]
        checks += [
            ClaimCheck(
                f"{arch} consistent-AT",
                "more accurate on FGSM images than the standard model by more than 0.1",
                adv["fgsm"]["top1"] > standard["fgsm"]["top1"] + 0.1,
                f"{adv['fgsm']['top1']:.3f} vs {standard['fgsm']['top1']:.3f}",
            ),
            ClaimCheck(
                f"{arch} consistent-AT",
                "gains no clean accuracy (at most the standard model's + 0.02)",
                adv["real"]["top1"] <= standard["real"]["top1"] + 0.02,
                f"{adv['real']['top1']:.3f} vs {standard['real']['top1']:.3f}",
            ),
        ]
        for row, r in t.items():
            if "strong" in r:
                checks.append(
                    ClaimCheck(
                        f"{arch} {row}",
                        "FGSM overstates robustness: the strong attack leaves at most FGSM's accuracy",
                        r["strong"]["top1"] <= r["fgsm"]["top1"],
                        f"strong {r['strong']['top1']:.3f}, FGSM {r['fgsm']['top1']:.3f}",
                    )
                )
        s = numbers["table1"][arch]["standard"]
        checks.append(
            ClaimCheck(
                f"{arch} standard",
                "less consistent on adversarial images: consis_adv's interval lies below consis's",
                s["consis_adv_ci"]["high"] < s["consis_ci"]["low"],
                f"consis_adv {format_interval(s['consis_adv_ci'])}, consis {format_interval(s['consis_ci'])}",
            )
        )
        gain = numbers["gain_vs_standard"][arch]
        for row in ("consistent-AT", "FGSM-AT", "PGD-AT"):
            if row == "consistent-AT" or row in numbers["variants"]:
                checks.append(
                    ClaimCheck(
                        f"{arch} {row}",
                        "raises consis_adv on the shared set, beyond the bootstrap interval",
                        gain[row]["consis_adv"]["low"] > 0,
                        f"change {format_interval(gain[row]['consis_adv'])}",
                    )
                )
        whitebox = numbers["gain_vs_standard_whitebox"][arch]
        if "consistent-AT" in whitebox:
            wb, shared = whitebox["consistent-AT"]["consis_adv"]["mean"], gain["consistent-AT"]["consis_adv"]["mean"]
            checks.append(
                ClaimCheck(
                    f"{arch} consistent-AT",
                    "its consis_adv gain on the white-box set is far below (by more than 0.05) its shared-set gain",
                    wb < shared - 0.05,
                    f"white-box {wb:+.3f}, shared {shared:+.3f}",
                )
            )
    for arch, study in numbers["ablation_over_seeds"]["archs"].items():
        for v, row in study["rows"].items():
            robust, fgsm = row["strong:apgd-t"]["mean"], row["fgsm"]["mean"]
            checks.append(
                ClaimCheck(
                    f"{arch} {v}",
                    "over seeds, the strong attack leaves at most FGSM's accuracy (means)",
                    robust <= fgsm,
                    f"strong {robust:.3f}, FGSM {fgsm:.3f}",
                )
            )
    gap, archs = numbers["feature_distance_gap"], numbers["archs"]
    measured_on = "resnet" if "resnet" in archs else archs[0]  # the model the chapter measures the gap on
    feature, loss = gap["x' (maximises the distance)"], gap["x* (maximises the loss)"]
    checks.append(
        ClaimCheck(
            f"{measured_on} standard",
            "the critique: the distance-maximising x' moves the features further than the loss-maximising x*",
            feature > loss,
            f"‖φ(x) − φ(x')‖ {feature:.2f} vs ‖φ(x) − φ(x*)‖ {loss:.2f}",
        )
    )
    return checks


#: The claim functions of these chapters, by ``NN_slug``.
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    "09_adversarial_training": adversarial_training_claims,
    "12_adversarial_training_with_a_consistent_loss": adversarial_training_with_a_consistent_loss_claims,
}
