"""The claims the reproduction report checks: one small spec per claim.

Each :class:`Claim` names the chapter whose results hold our numbers, the paper's
statement and value (from :mod:`advinterp_lib.report.paper`), and the rule
(:mod:`advinterp_lib.report.rules`) that reaches a verdict. :func:`build_claims` builds
them all; adding a chapter's claims is a few lines there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from . import paper as paper_values
from .rules import (
    At,
    HistogramMean,
    MatchesPaper,
    Negative,
    Ordered,
    Positive,
    RatioAbove,
    RelativeChangeWithin,
    Rule,
    _fmt,
)

# What a claim is (chapter 15 shows the three apart; only reproductions count toward the verdict):
REPRODUCTION = "reproduction"  # a claim of the paper (or of a paper it builds on), tested on our data
FINDING = "our finding"  # our answer to a question the paper or the presentation leaves open
SANITY = "sanity check"  # cannot meaningfully fail, or restates another claim: shown, never counted
CLAIM_KINDS = (REPRODUCTION, FINDING, SANITY)


@dataclass(frozen=True)
class Claim:
    """One claim the report checks.

    Attributes:
        key: unique id, e.g. ``"table1.resnet.order"``.
        chapter: the two-digit chapter whose results hold the numbers (``"11"``).
        group: what the claim belongs to (``"Table 1"``, ``"DeepFool rho"``...).
        statement: the claim in words.
        source: who claims it (the paper and where).
        rule: how the verdict is reached (:class:`MatchesPaper`, :class:`Ordered`, ...).
        paper: the paper's number(s) as text.
        paper_value: the number :class:`MatchesPaper` compares with (None: unknown).
        paper_data: the data the paper measured it on.
        why: what we think explains a difference, shown when not reproduced / not comparable.
        kind: :data:`REPRODUCTION`, :data:`FINDING` or :data:`SANITY` (why a sanity
            check is one goes into ``why``).
    """

    key: str
    chapter: str
    group: str
    statement: str
    source: str
    rule: Rule
    paper: str
    paper_value: float | None = None
    paper_data: str = paper_values.PAPER_DATA
    why: str = ""
    kind: str = REPRODUCTION

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"claim {self.key!r}: kind must be one of {CLAIM_KINDS}, got {self.kind!r}")


# ----------------------------------------------------------------------------- the claims

# Chapter 12's result layout that the claims below read:
#   numbers.table1.<model>.{consis, consis_adv, consis_ci, consis_adv_ci}   (chapter 11's layout)
#   numbers.table3.<model>.{real, fgsm}.{top1, top3, top5}                   (fractions in [0, 1];
#                                                                             top5 on ImageNet only)
#   numbers.histograms.<model>.{edges, real, adversarial}                    (chapter 11's layout)
# where <model> is CH12_MODEL_PATHS["standard"] or ["adv"] filled with the zoo arch: chapter 12
# nests its rows by arch, then by variant ("consistent-AT" is the paper's -Adv). Claim keys
# stay as ADV_KEY names.
CH12_MODEL_PATHS: dict[str, str] = {"standard": "{arch}.standard", "adv": "{arch}.consistent-AT"}
ADV_KEY = "{arch}-Adv"
# Chapter 14's models (its results' keys: the three standard zoo networks and their
# consistent-AT versions) and how its claims name them.
CH14_MODELS: dict[str, str] = {
    f"{arch}{suffix}": f"{paper_values.ZOO_TO_PAPER[arch]}{suffix}"
    for arch in ("alexnet", "vgg", "resnet")
    for suffix in ("", "-Adv")
}
# Chapter 11's sensitivity variants of Table 1 (keys of numbers.sensitivity.variants) and how claims name them.
SENSITIVITY_VARIANTS: dict[str, str] = {
    "sigma=0.5": "sigma = 0.5",
    "sigma=2": "sigma = 2",
    "reduction=mean": "the spatial mean instead of the max",
    "concept=target": "adversarial images counted by their target class",
    "fooled_only": "fooled images only",
    "eps=0.05": "the attack bounded at eps = 0.05",
    "eps=0.1": "the attack bounded at eps = 0.1",
}
# "consis barely moves" (the paper: -0.6% to -4% of the standard model's consis): the bound we judge it by.
CONSIS_BOUND = 0.05


#: Why absolute consis values cannot match the paper's (ImageNet against Fashion-MNIST).
K_NOTE = (
    "ImageNet has 1,000 concepts and Fashion-MNIST 10: a neuron spread evenly over K concepts scores "
    "about 1/K, so the absolute values cannot match; the comparison of consis with consis_adv carries over"
)


def _table1_claims() -> list[Claim]:
    """Chapter 11: Table 1's standard rows, Figure 5's shape, and Table 1's sensitivity."""
    claims: list[Claim] = []
    table1 = paper_values.TABLE1
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        # Chapter 11: Table 1, standard rows.
        for metric in ("consis", "consis_adv"):
            claims.append(
                Claim(
                    f"table1.{arch}.{metric}",
                    "11",
                    "Table 1",
                    f"{name}: {metric}(n)",
                    "Dong et al., Table 1",
                    MatchesPaper(At(f"table1.{arch}.{metric}"), ci=f"table1.{arch}.{metric}_ci"),
                    _fmt(table1[name][metric]),
                    table1[name][metric],
                    why=K_NOTE,
                )
            )
        claims.append(
            Claim(
                f"table1.{arch}.order",
                "11",
                "Table 1",
                f"{name}: consis_adv(n) < consis(n)",
                "Dong et al., Table 1",
                Ordered(
                    At(f"table1.{arch}.consis_adv"),
                    At(f"table1.{arch}.consis"),
                    f"table1.{arch}.consis_adv_ci",
                    f"table1.{arch}.consis_ci",
                ),
                f"{_fmt(table1[name]['consis_adv'])} < {_fmt(table1[name]['consis'])}",
                why="A small perturbation bound keeps more of the source's features, and with few top images per "
                "neuron the intervals are wide",
            )
        )
    # Chapter 11: Figure 5's shape on the standard ResNet.
    claims.append(
        Claim(
            "figure5.resnet.standard",
            "11",
            "Figure 5",
            "ResNet-18: the consis_adv(n) histogram lies left of the consis(n) histogram",
            "Dong et al., Figure 5",
            Ordered(HistogramMean("histograms.resnet", "adversarial"), HistogramMean("histograms.resnet", "real")),
            "consis_adv left of consis (shape only)",
            kind=SANITY,
            why="Restates Table 1's order (the histogram means are the layer averages), without an interval",
        )
    )
    # Chapter 11: does Table 1's direction survive each choice the paper leaves open? (our question)
    for variant, label in SENSITIVITY_VARIANTS.items():
        for arch, name in paper_values.ZOO_TO_PAPER.items():
            d = ("sensitivity", "variants", variant, "archs", arch, "difference")
            claims.append(
                Claim(
                    f"sensitivity.{arch}.{variant}",
                    "11",
                    "Table 1 sensitivity",
                    f"{name}: consis_adv(n) < consis(n) with {label}",
                    "our question (choices the paper leaves open)",
                    Negative(At((*d, "mean")), d),
                    "not varied in the paper",
                    paper_data="any data",
                    kind=FINDING,
                    why="A smaller attack bound keeps more of the source's features, and with few sweep sources the "
                    "interval is wide",
                )
            )
    return claims


#: Why chapter 12's -Adv models may fall short of the paper's.
SHORT_FINETUNE = (
    "Our -Adv models are fine-tuned briefly (4,000 images in the quick profile, one epoch of 60,000 in "
    "the full one), and the consistent loss's x* maximises the loss, not the feature distance (the "
    "presentation's critique)"
)


def _adv_table1_claims(arch: str, name: str) -> list[Claim]:
    """Chapter 12, one architecture: Table 1's -Adv rows, the consistent loss's effect, the white-box sets."""
    adv, adv_name = ADV_KEY.format(arch=arch), f"{name}-Adv"
    sp, ap = (CH12_MODEL_PATHS[m].format(arch=arch) for m in ("standard", "adv"))  # paths in 12's numbers
    claims: list[Claim] = []
    table1 = paper_values.TABLE1
    for metric in ("consis", "consis_adv"):
        claims.append(
            Claim(
                f"table1.{adv}.{metric}",
                "12",
                "Table 1",
                f"{adv_name}: {metric}(n)",
                "Dong et al., Table 1",
                MatchesPaper(At(f"table1.{ap}.{metric}"), ci=f"table1.{ap}.{metric}_ci"),
                _fmt(table1[adv_name][metric]),
                table1[adv_name][metric],
                why=K_NOTE,
            )
        )
    gain = f"gain_vs_standard.{arch}.consistent-AT"
    claims.append(
        Claim(
            f"table1.{arch}.adv_raises_consis_adv",
            "12",
            "Table 1",
            f"{name}: consistent-AT raises consis_adv(n) (shared set)",
            "Dong et al., Table 1",
            Ordered(
                At(f"table1.{sp}.consis_adv"),
                At(f"table1.{ap}.consis_adv"),
                f"table1.{sp}.consis_adv_ci",
                f"table1.{ap}.consis_adv_ci",
                difference_ci=f"{gain}.consis_adv",
            ),
            f"{_fmt(table1[name]['consis_adv'])} < {_fmt(table1[adv_name]['consis_adv'])}",
            why=SHORT_FINETUNE,
        )
    )
    rel = (table1[adv_name]["consis"] - table1[name]["consis"]) / table1[name]["consis"]
    claims.append(
        Claim(
            f"table1.{arch}.consis_barely_moves",
            "12",
            "Table 1",
            f"{name}: consistent-AT moves consis(n) by less than {CONSIS_BOUND:.0%} (the whole interval)",
            "Dong et al., Table 1",
            RelativeChangeWithin(
                At(f"{gain}.consis.mean"), At(f"table1.{sp}.consis"), f"{gain}.consis", bound=CONSIS_BOUND
            ),
            f"Δ {rel:+.1%}",
            why=SHORT_FINETUNE,
        )
    )
    claims.append(
        Claim(
            f"table1.{adv}.order",
            "12",
            "Table 1",
            f"{adv_name}: consis_adv(n) < consis(n) (shared set)",
            "Dong et al., Table 1",
            Ordered(
                At(f"table1.{ap}.consis_adv"),
                At(f"table1.{ap}.consis"),
                f"table1.{ap}.consis_adv_ci",
                f"table1.{ap}.consis_ci",
            ),
            f"{_fmt(table1[adv_name]['consis_adv'])} < {_fmt(table1[adv_name]['consis'])}",
            why=SHORT_FINETUNE,
        )
    )
    claims.append(
        Claim(
            f"whitebox.{arch}.adv_raises_consis_adv",
            "12",
            "White-box sets",
            f"{name}: consistent-AT raises consis_adv(n) on adversarial images crafted against each model itself",
            "our question (the paper measures one shared set)",
            Positive(
                At(f"gain_vs_standard_whitebox.{arch}.consistent-AT.consis_adv.mean"),
                f"gain_vs_standard_whitebox.{arch}.consistent-AT.consis_adv",
            ),
            "not measured in the paper",
            paper_data="any data",
            kind=FINDING,
            why="One fine-tuning seed; the quick profile's short fine-tune and the full profile's epoch disagree",
        )
    )
    return claims


def _table3_claims(arch: str, name: str) -> list[Claim]:
    """Chapter 12, one architecture: Table 3 (top-5 on ImageNet; Fashion-MNIST's ten classes get top-3).
    Its strong-attack column is shown in chapter 12 and counted once, as chapter 9's finding
    (:func:`_trade_off_claims`)."""
    adv, adv_name = ADV_KEY.format(arch=arch), f"{name}-Adv"
    sp, ap = (CH12_MODEL_PATHS[m].format(arch=arch) for m in ("standard", "adv"))  # paths in 12's numbers
    claims: list[Claim] = []
    table3 = paper_values.TABLE3
    for key, path, model in ((arch, sp, name), (adv, ap, adv_name)):
        for kind, column in (("real", "real"), ("fgsm", "adv")):
            for top in ("top1", "top5"):
                claims.append(
                    Claim(
                        f"table3.{key}.{kind}.{top}",
                        "12",
                        "Table 3",
                        f"{model}: {'FGSM' if kind == 'fgsm' else 'real'} {top.replace('top', 'top-')} accuracy",
                        "Dong et al., Table 3",
                        MatchesPaper(At(f"table3.{path}.{kind}.{top}"), abs_tol=0.02),
                        f"{table3[model][f'{column}_{top}']:.2f} %",
                        table3[model][f"{column}_{top}"] / 100,
                        why="ImageNet's 1,000 classes against Fashion-MNIST's 10, and a different FGSM budget",
                    )
                )
    claims.append(
        Claim(
            f"table3.{arch}.costs_clean_accuracy",
            "12",
            "Table 3",
            f"{name}: consistent-AT costs real top-1 accuracy",
            "Dong et al., Table 3",
            Ordered(At(f"table3.{ap}.real.top1"), At(f"table3.{sp}.real.top1")),
            f"{table3[adv_name]['real_top1']:.2f} % < {table3[name]['real_top1']:.2f} %",
            why=SHORT_FINETUNE,
        )
    )
    claims.append(
        Claim(
            f"table3.{arch}.raises_fgsm_accuracy",
            "12",
            "Table 3",
            f"{name}: consistent-AT raises FGSM top-1 accuracy at the training budget (eps = 0.1)",
            "Dong et al., Table 3",
            Ordered(At(f"table3.{sp}.fgsm.top1"), At(f"table3.{ap}.fgsm.top1")),
            f"{table3[name]['adv_top1']:.2f} % < {table3[adv_name]['adv_top1']:.2f} %",
            why=SHORT_FINETUNE,
        )
    )
    claims.append(
        Claim(
            f"table3.{arch}.raises_fgsm_accuracy_paper_eps",
            "12",
            "Table 3",
            f"{name}: consistent-AT raises FGSM top-1 accuracy at the paper's 1/255",
            "Dong et al., Table 3",
            Ordered(At(f"table3.{sp}.fgsm_paper_eps.top1"), At(f"table3.{ap}.fgsm_paper_eps.top1")),
            f"{table3[name]['adv_top1']:.2f} % < {table3[adv_name]['adv_top1']:.2f} %",
            why="At 1/255 FGSM hardly moves a 28x28 model's decision, so the -Adv model's lower clean accuracy "
            "decides the order",
        )
    )
    return claims


def _ablation_claims(arch: str, name: str) -> list[Claim]:
    """Chapter 12, one architecture: the ablation of the consistent term over fine-tuning seeds (our question)."""
    claims: list[Claim] = []
    abl = f"ablation_over_seeds.archs.{arch}"
    for measure, label in (("consis_adv", "consis_adv(n)"), ("strong:apgd-t", "top-1 under the strong attack")):
        claims.append(
            Claim(
                f"ablation.{arch}.term_raises_{measure.split(':')[0]}",
                "12",
                "Ablation over seeds",
                f"{name}: the feature term raises {label} (consistent-AT minus targeted-AT, same x*, "
                "mean over seeds, hierarchical interval)",
                "the presentation's critique (a question)",
                Positive(At(f"{abl}.term_effect.{measure}.mean"), f"{abl}.term_effect.{measure}"),
                "asked, not answered",
                paper_data="any data",
                kind=FINDING,
                why="The paper has no beta = 0 run; our fine-tune is one epoch at most",
            )
        )
    claims.append(
        Claim(
            f"ablation.{arch}.no_term_raises_consis_adv",
            "12",
            "Ablation over seeds",
            f"{name}: adversarial training without the term (targeted-AT, beta = 0) raises consis_adv(n) "
            "over the standard model (mean over seeds)",
            "the presentation's critique (a question)",
            Positive(At(f"{abl}.rows.targeted-AT.gain_consis_adv.mean"), f"{abl}.rows.targeted-AT.gain_consis_adv"),
            "asked, not answered",
            paper_data="any data",
            kind=FINDING,
        )
    )
    return claims


def _consistent_loss_claims() -> list[Claim]:
    """Chapter 12: the -Adv rows of Table 1, Table 3, the white-box sets and the ablation, per architecture."""
    claims: list[Claim] = []
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        claims += _adv_table1_claims(arch, name) + _table3_claims(arch, name) + _ablation_claims(arch, name)
    sp, ap = (CH12_MODEL_PATHS[m].format(arch="resnet") for m in ("standard", "adv"))
    claims.append(
        Claim(
            "figure5.resnet.adv_shift",
            "12",
            "Figure 5",
            "ResNet-18-Adv's consis_adv(n) histogram lies right of ResNet-18's",
            "Dong et al., Figure 5",
            Ordered(HistogramMean(f"histograms.{sp}", "adversarial"), HistogramMean(f"histograms.{ap}", "adversarial")),
            "-Adv's consis_adv moves right (shape only)",
            kind=SANITY,
            why="Restates table1.resnet.adv_raises_consis_adv (the histogram means are the layer averages)",
        )
    )
    return claims


def _trade_off_claims() -> list[Claim]:
    """Chapter 9: Table 3's trade-off on chapter 9's fine-tunes, Madry et al.'s PGD-AT, and
    whether consistent-AT resists the strong attack (our finding; chapter 9 runs the cascade
    on the standard and every fine-tuned model of the recipe chapter 12 uses, so chapter
    12's strong column repeats it and is not counted again)."""
    claims: list[Claim] = []
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        row = f"accuracy.{arch}"
        claims.append(
            Claim(
                f"ch9.{arch}.consistent_costs_clean",
                "09",
                "Trade-off",
                f"{name}: consistent-AT lowers clean top-1 (ch. 9)",
                "Dong et al., Table 3",
                Ordered(At(f"{row}.consistent-AT.clean.top1"), At(f"{row}.standard.clean.top1")),
                "real top-1 falls for every -Adv model",
                kind=SANITY,
                why="Restates Table 3 (chapter 12) on the same cached models",
            )
        )
        claims.append(
            Claim(
                f"ch9.{arch}.consistent_raises_fgsm",
                "09",
                "Trade-off",
                f"{name}: consistent-AT raises FGSM top-1 (ch. 9)",
                "Dong et al., Table 3",
                Ordered(At(f"{row}.standard.fgsm.top1"), At(f"{row}.consistent-AT.fgsm.top1")),
                "FGSM top-1 rises for every -Adv model",
                kind=SANITY,
                why="Restates Table 3 (chapter 12) on the same cached models",
            )
        )
        claims.append(
            Claim(
                f"ch9.{arch}.pgd_at_raises_pgd",
                "09",
                "Madry PGD-AT",
                f"{name}: PGD-AT raises top-1 accuracy under PGD",
                "Madry et al. 2018",
                Ordered(At(f"{row}.standard.pgd.top1"), At(f"{row}.PGD-AT.pgd.top1")),
                "PGD-AT robust to PGD (number not in our notes)",
                paper_data="MNIST",
                why="A few PGD steps and a short fine-tune are a weak version of Madry et al.'s training",
            )
        )
        claims.append(
            Claim(
                f"ch9.{arch}.pgd_at_accuracy",
                "09",
                "Madry PGD-AT",
                f"{name}: PGD-AT top-1 accuracy under PGD",
                "Madry et al. 2018",
                MatchesPaper(At(f"{row}.PGD-AT.pgd.top1"), abs_tol=0.02),
                "unknown (not in our notes)",
                paper_values.MADRY_PGD_AT_ACCURACY,
                paper_data="MNIST",
                why="Our notes hold no number of Madry et al.; their eps, data and training differ from ours",
            )
        )
        claims.append(
            Claim(
                f"ch9.{arch}.consistent_raises_strong",
                "09",
                "Strong attack",
                f"{name}: consistent-AT raises top-1 accuracy under the strong attack (PGD restarts, APGD-CE, APGD-T)",
                "our question (the paper measures FGSM only)",
                Ordered(At(f"strong.{arch}.standard.apgd-t"), At(f"strong.{arch}.consistent-AT.apgd-t")),
                "FGSM only in the paper",
                paper_data="any data",
                kind=FINDING,
                why="FGSM accuracies are upper bounds; a short fine-tune may resist FGSM and not a strong attack",
            )
        )
    return claims


def _deepfool_claims() -> list[Claim]:
    """Chapter 6: the DeepFool paper's robustness rho."""
    claims: list[Claim] = []
    rho = paper_values.DEEPFOOL_RHO
    deepfool_rho, fgsm_rho = cast(float, rho["deepfool"]), cast(float, rho["fgsm"])
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        m = f"models.{arch}"
        claims.append(
            Claim(
                f"ch6.{arch}.deepfool_rho",
                "06",
                "DeepFool rho",
                f"{name}: DeepFool rho_adv",
                "Moosavi-Dezfooli et al. 2016, Table 1",
                MatchesPaper(At(f"{m}.deepfool_rho")),
                f"{rho['deepfool']}",
                float(deepfool_rho),
                paper_data=str(rho["data"]),
                why="A different data set and network: rho depends on both",
            )
        )
        claims.append(
            Claim(
                f"ch6.{arch}.fgsm_overestimates",
                "06",
                "DeepFool rho",
                f"{name}: FGSM's minimal perturbation exceeds DeepFool's (rho ratio > 1)",
                "Moosavi-Dezfooli et al. 2016, Table 1",
                RatioAbove(At(f"{m}.fgsm_rho"), At(f"{m}.deepfool_rho"), 1.0),
                f"{rho['fgsm']} / {rho['deepfool']} = {fgsm_rho / deepfool_rho:.3g}",
                paper_data=str(rho["data"]),
                why="Fashion-MNIST's black background clips FGSM's negative steps, which shrinks its L2 norm",
            )
        )
    return claims


def _tracing_claims() -> list[Claim]:
    """Chapter 13: the paper's tracing (v1, Figure 1c) on the chapter's explained model."""
    claims: list[Claim] = []
    # (curve, what the claim says, the ranking expected lower at the curve's end, the one expected higher)
    for curve, what, smaller, larger in (
        ("ablation_curve", "the true class's mean logit falls further", "prediction difference", "random order"),
        ("flipped_share", "more decisions flip", "random order", "prediction difference"),
    ):
        claims.append(
            Claim(
                f"ch13.{curve}",
                "13",
                "Tracing",
                f"Removing the top neurons by prediction difference: {what} than removing as many at random",
                "Dong et al. (v1), Figure 1c",
                Ordered(At(f"{curve}.{smaller}.-1"), At(f"{curve}.{larger}.-1")),
                paper_values.TRACING_CLAIM,
                paper_data="any data",
                kind=SANITY,
                why="The neurons are ranked by their own removal effect on the same images, so removing them first "
                "can hardly do less than removing random ones",
            )
        )
    return claims


def _grad_cam_claims() -> list[Claim]:
    """Chapter 14: Grad-CAM under attack (the presentation's discussion), on the standard ResNet."""
    claims: list[Claim] = []
    agreement = "agreement.resnet.Grad-CAM"
    for attack, label in (("PGD", "PGD (white-box)"), ("ensemble", "the targeted ensemble attack")):
        claims.append(
            Claim(
                f"ch14.resnet.grad_cam_survives_{attack.lower()}",
                "14",
                "Grad-CAM under attack",
                f"ResNet: Grad-CAM of the true class after {label} is closer to the clean map (Spearman) than an "
                "unrelated image's map is",
                "Selvaraju et al. 2017; the presentation",
                Ordered(
                    At(f"{agreement}.another image.spearman.mean"),
                    At(f"{agreement}.{attack}, true class.spearman.mean"),
                    f"{agreement}.another image.spearman",
                    f"{agreement}.{attack}, true class.spearman",
                ),
                paper_values.GRAD_CAM_ROBUSTNESS_CLAIM,
                paper_data="any data",
                kind=FINDING,
                why="An attack that changes the prediction also moves the class evidence Grad-CAM reads: on an "
                "undefended model the map of the true class is no closer to the clean one than a random map",
            )
        )
    for name, shown in CH14_MODELS.items():
        explanation = f"explanation_attack.{name}"
        claims.append(
            Claim(
                f"ch14.{name}.explanation_attack_twice_noise",
                "14",
                "Grad-CAM under attack",
                f"{shown}: the attack on Grad-CAM (prediction kept) moves the map more than twice as far as random "
                "sign noise of the same budget",
                "Ghorbani et al. 2019; Dombrowski et al. 2019 (the factor 2 is ours)",
                RatioAbove(
                    At(f"{explanation}.shift.mean"),
                    At(f"{explanation}.noise_shift.mean"),
                    2.0,
                    f"{explanation}.shift",
                    f"{explanation}.noise_shift",
                ),
                "explanations can be moved without changing the prediction",
                paper_data="any data",
                kind=FINDING,
            )
        )
    return claims


def _spectrum_claims() -> list[Claim]:
    """Chapter 14's Fourier view of the perturbations: which part carries the attack, and
    whether a single FGSM step is as low-frequency as the iterative attacks."""
    claims = [
        Claim(
            "ch14.resnet.phase_carries_pgd",
            "14",
            "Perturbation spectra",
            "ResNet: a PGD perturbation's Fourier phase alone keeps more of its effect than its amplitude alone",
            "the presentation (a question)",
            Ordered(
                At("perturbation_phase_vs_amplitude.resnet.PGD.amplitude"),
                At("perturbation_phase_vs_amplitude.resnet.PGD.phase"),
            ),
            "asked, not answered",
            paper_data="any data",
            kind=FINDING,
        )
    ]
    for name, shown in CH14_MODELS.items():
        share = f"low_frequency_share.{name}"
        claims.append(
            Claim(
                f"ch14.{name}.fgsm_low_frequency",
                "14",
                "Perturbation spectra",
                f"{shown}: FGSM's perturbation puts a larger share of its energy at low spatial frequencies than "
                "random sign noise does",
                "the presentation (a question)",
                Ordered(At(f"{share}.noise.mean"), At(f"{share}.FGSM.mean"), f"{share}.noise", f"{share}.FGSM"),
                "asked, not answered",
                paper_data="any data",
                kind=FINDING,
                why="One signed-gradient step keeps the gradient's pixel-level sign pattern; PGD's and the ensemble "
                "attack's many steps follow the garment's silhouette, FGSM's single step does so on some models only",
            )
        )
    return claims


def build_claims() -> tuple[Claim, ...]:
    """The claim specs, built from :mod:`~advinterp_lib.report.paper` and the path templates above,
    in the order of the report's groups."""
    claims = [
        *_table1_claims(),
        *_consistent_loss_claims(),
        *_trade_off_claims(),
        *_deepfool_claims(),
        *_tracing_claims(),
        *_grad_cam_claims(),
        *_spectrum_claims(),
    ]
    order = {
        "Table 1": 0,
        "Table 1 sensitivity": 1,
        "Figure 5": 2,
        "Table 3": 3,
        "White-box sets": 4,
        "Ablation over seeds": 5,
        "Trade-off": 6,
        "Madry PGD-AT": 7,
        "Strong attack": 8,
        "DeepFool rho": 9,
        "Tracing": 10,
        "Grad-CAM under attack": 11,
        "Perturbation spectra": 12,
    }
    claims.sort(key=lambda c: (order.get(c.group, 99), c.chapter))
    keys = [c.key for c in claims]
    if len(keys) != len(set(keys)):
        raise RuntimeError(f"duplicate claim keys: {sorted(k for k in keys if keys.count(k) > 1)}")
    return tuple(claims)


CLAIMS: tuple[Claim, ...] = build_claims()
