"""Chapter 12's single-seed comparison: the -Adv models of the paper's Tables 1 and 3.

The chapter fine-tunes each zoo architecture once with each training variant
(consistent-AT, the paper's loss, beside FGSM-AT, PGD-AT and feature-consistent-AT) and
compares them with the standard model:

- :func:`table3_accuracies`, :func:`table3_table`, :func:`describe_table3_budgets`:
  accuracy on clean, FGSM (the training budget and the paper's 1/255), PGD and the strong
  cascade -- the paper's Table 3;
- :func:`shared_set_consistency`, :func:`shared_set_table`, :func:`table1_json`: consis and
  consis_adv on the shared adversarial set -- Table 1 for the -Adv models;
- :func:`whitebox_consistency`, :func:`whitebox_gains`, :func:`whitebox_table`: the same on
  each model's own white-box set;
- :func:`gain_table`, :func:`describe_consistent_at`, :func:`describe_single_seed`: the
  gains against the standard model, in a table and in words;
- :func:`variant_spec_table` and :func:`feature_gap`: what each variant trains on, and how
  far each kind of example moves the features (the critique of the paper's x*);
- :func:`intervals_json` and :func:`robustness_json`: their numbers for the results JSON.

The ablation over seeds, which asks whether the consistent term itself causes the gains,
is :mod:`advinterp_lib.runs.ablation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..artifacts import (
    ArtifactCache,
    adversarial_variant_spec,
    whitebox_adversarial_set,
)
from ..attacks.advset import AdversarialSetRecipe
from ..attacks.fgsm import fgsm
from ..attacks.strong import strong_attack
from ..consistency.evaluation import (
    ModelConsistency,
    consistency_row,
    consistency_table,
    interval_difference,
    measure_consistency,
)
from ..models.layers import capture_activations, last_conv_layer
from ..stats import BootstrapInterval
from ..tables import markdown_table
from ..training import evaluate, predict
from ..training.objectives import feature_distance
from .prose import change_verdict, format_change

__all__ = [
    "intervals_json",
    "robustness_json",
    "table3_accuracies",
    "table3_table",
    "describe_table3_budgets",
    "variant_spec_table",
    "feature_gap",
    "shared_set_consistency",
    "shared_set_table",
    "table1_json",
    "whitebox_consistency",
    "whitebox_gains",
    "whitebox_table",
    "describe_consistent_at",
    "gain_table",
    "describe_single_seed",
]


def intervals_json(value: Any) -> Any:
    """``value`` with every :class:`~advinterp_lib.stats.BootstrapInterval` (at any depth
    of dicts) replaced by ``{"mean", "low", "high"}``; other leaves stay as they are."""
    if isinstance(value, BootstrapInterval):
        return {"mean": value.mean, "low": value.low, "high": value.high}
    if isinstance(value, Mapping):
        return {k: intervals_json(v) for k, v in value.items()}
    return value


def robustness_json(accuracies: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``{kind: {measure: accuracy}}`` (e.g. one row of :func:`table3_accuracies`) with
    every accuracy a plain float, for a results file."""
    return {kind: {name: float(v) for name, v in acc.items()} for kind, acc in accuracies.items()}


def table3_accuracies(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    paper_eps: float,
    strong_images: int,
    strong: Mapping[str, Any],
) -> dict[str, dict[str, dict[str, float]]]:
    """The paper's Table 3 for the models of one architecture: top-1 and top-3 accuracy
    on the evaluation images (``"real"``), on FGSM images at the training budget
    ``eps`` (``"fgsm"``) and at the paper's ``paper_eps`` (``"fgsm_paper_eps"``, both
    crafted against each model itself), and top-1 under the strong cascade on the first
    ``strong_images`` (``"strong"``, its last stage's accuracy).

    Args:
        models: ``{row: model}`` (e.g. ``"standard"`` and the variants).
        images: float [N, C, H, W] in [0, 1]; labels: int [N].
        eps, paper_eps: FGSM budgets (L-inf, [0, 1] pixels); the strong attack uses ``eps``.
        strong_images: images the strong attack sees; strong: its keyword arguments
            (:func:`~advinterp_lib.attacks.strong.strong_attack`: steps, restarts, targets, seed).

    Returns:
        ``{row: {"real": {"top1", "top3"}, "fgsm": ..., "fgsm_paper_eps": ..., "strong": {"top1"}}}``.

    Raises:
        ValueError: no models; ``strong_images < 1``.
    """
    if not models:
        raise ValueError("models: expected at least one model, got none")
    if strong_images < 1:
        raise ValueError(f"strong_images must be >= 1, got {strong_images}")
    out = {}
    for row, m in models.items():
        out[row] = {
            "real": evaluate(m, images, labels, topk=(1, 3)),
            "fgsm": evaluate(m, fgsm(m, images, labels, eps=eps), labels, topk=(1, 3)),
            "fgsm_paper_eps": evaluate(m, fgsm(m, images, labels, eps=paper_eps), labels, topk=(1, 3)),
            "strong": {"top1": strong_attack(m, images[:strong_images], labels[:strong_images], eps=eps,
                                             **strong).accuracy()["apgd-t"]},
        }  # fmt: skip
    return out


def table3_table(
    table3: Mapping[str, Mapping[str, Any]],
    arch: str,
    *,
    fgsm_eps: float,
    paper_fgsm_eps_255: float,
    strong_images: int,
) -> str:
    """One architecture's Table 3 (:func:`table3_accuracies`) as markdown; the standard
    model is named ``arch`` and the consistent-AT one ``<arch>-Adv``."""
    headers = [
        "model",
        "real top-1",
        "real top-3",
        f"FGSM ε={fgsm_eps:g} top-1",
        f"FGSM ε={fgsm_eps:g} top-3",
        f"FGSM ε={paper_fgsm_eps_255}/255 top-1",
        f"strong ε={fgsm_eps:g} top-1 ({strong_images} images)",
    ]
    rows = [
        [{"standard": arch, "consistent-AT": f"{arch}-Adv (consistent-AT)"}.get(row, row),
         *(f"{v:.1%}" for v in (r["real"]["top1"], r["real"]["top3"], r["fgsm"]["top1"], r["fgsm"]["top3"],
                                 r["fgsm_paper_eps"]["top1"], r["strong"]["top1"]))]
        for row, r in table3.items()
    ]  # fmt: skip
    return markdown_table(headers, rows)


def _points(d: float) -> str:
    return f"{100 * d:+.1f} points"


def describe_table3_budgets(
    table3: Mapping[str, Mapping[str, Any]], *, fgsm_eps: float, paper_fgsm_eps_255: float
) -> str:
    """One bullet per architecture of ``{arch: table3_accuracies(...)}``: what FGSM at
    the paper's budget does to the standard model, and how the -Adv model's top-1
    differs from the standard one's under FGSM at both budgets and the strong attack
    (flagging a direction that reverses at the paper's budget)."""
    lines = []
    for arch, t in table3.items():
        drop = t["standard"]["fgsm_paper_eps"]["top1"] - t["standard"]["real"]["top1"]
        at_paper = t["consistent-AT"]["fgsm_paper_eps"]["top1"] - t["standard"]["fgsm_paper_eps"]["top1"]
        at_train = t["consistent-AT"]["fgsm"]["top1"] - t["standard"]["fgsm"]["top1"]
        at_strong = t["consistent-AT"]["strong"]["top1"] - t["standard"]["strong"]["top1"]
        reverses = " — at the paper's budget the direction **reverses**" if at_paper < 0 < at_train else ""
        lines.append(
            f"- **{arch}**: FGSM at {paper_fgsm_eps_255}/255 changes the standard model's top-1 by {_points(drop)}. "
            f"Against the standard model, the -Adv model's top-1 changes by {_points(at_paper)} under FGSM at "
            f"{paper_fgsm_eps_255}/255, by {_points(at_train)} under FGSM at ε = {fgsm_eps:g} and by "
            f"{_points(at_strong)} under the strong attack{reverses}."
        )
    return "\n".join(lines)


def variant_spec_table(
    variants: Sequence[str], *, eps: float, pgd_train_steps: int, pgd_train_step: float, consistent_steps: int
) -> str:
    """The training variants as markdown: each one's objective, its parameters
    (:func:`~advinterp_lib.artifacts.adversarial_variant_spec`) and the forward +
    backward passes a training batch costs (feature-consistent-AT: 3 PGD steps on the
    feature distance, the library's default).

    Raises:
        ValueError: an unknown variant.
    """
    t, f_steps = consistent_steps, 3
    passes = {
        "FGSM-AT": "3 + 2",
        "PGD-AT": f"{pgd_train_steps + 1} + {pgd_train_steps + 1}",
        "consistent-AT": f"{t + 4} + {t + 1}",
        "feature-consistent-AT": f"{t + f_steps + 5} + {t + f_steps + 1}",
    }
    rows = []
    for row in variants:
        name, params = adversarial_variant_spec(
            row,
            eps=eps,
            pgd_train_steps=pgd_train_steps,
            pgd_train_step=pgd_train_step,
            consistent_steps=consistent_steps,
        )
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        rows.append([row, f"`{name}`", shown, passes.get(row, "")])
    return markdown_table(["variant", "objective", "parameters", "passes per batch (forward + backward)"], rows)


def whitebox_consistency(
    models: Mapping[str, nn.Module],
    source_images: torch.Tensor,
    source_labels: torch.Tensor,
    correlation: torch.Tensor,
    *,
    n_sources: int,
    recipe: AdversarialSetRecipe,
    fraction: float = 0.01,
    num_samples: int = 1000,
    seed: int = 0,
    cache: ArtifactCache | None = None,
) -> tuple[dict[str, ModelConsistency], dict[str, float]]:
    """consis and consis_adv of each model on its own white-box set: the paper's attack
    (:func:`~advinterp_lib.artifacts.advsets.whitebox_adversarial_set`, cached) aimed at the
    model itself from the first ``n_sources`` source images; consis on all of them.

    Args:
        models: ``{row: model}``.
        source_images: float [N, C, H, W] in [0, 1]; source_labels: int [N] (the concepts).
        correlation: A, [K, K].
        n_sources: sources attacked; recipe: the attack
            (:class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe`).
        fraction, num_samples, seed: as :func:`~advinterp_lib.consistency.evaluation.measure_consistency`
            (``seed`` also seeds the attack).
        cache: where the white-box sets are kept (default: under ``roots.cache_root()``).

    Returns:
        ``({row: ModelConsistency}, {row: share of its white-box set the model misclassifies})``.

    Raises:
        ValueError: ``n_sources`` outside [1, N].
    """
    if not 1 <= n_sources <= len(source_images):
        raise ValueError(f"n_sources must be in [1, {len(source_images)}], got {n_sources}")
    measured, fooled = {}, {}
    for row, m in models.items():
        wb = whitebox_adversarial_set(
            m,
            source_images[:n_sources],
            source_labels[:n_sources],
            recipe,
            seed=seed,
            cache=cache,
            progress=False,
        )
        measured[row] = measure_consistency(m, source_images, source_labels, wb.images, wb.labels, correlation,
                                            fraction=fraction, num_samples=num_samples, seed=seed)  # fmt: skip
        fooled[row] = float((predict(m, wb.images).argmax(1) != wb.labels).float().mean())
    return measured, fooled


def feature_gap(
    model: nn.Module, x: torch.Tensor, examples: Mapping[str, torch.Tensor], *, eps: float
) -> tuple[str, dict[str, float]]:
    """How far each perturbed batch moves the last conv layer's features from those of
    ``x`` (:func:`~advinterp_lib.training.objectives.feature_distance`), absolute and
    relative to ``‖φ(x)‖₂``.

    Args:
        model: a zoo model (``model.last_conv`` names φ's layer).
        x: float [N, C, H, W] in [0, 1]; examples: ``{name: float [N, C, H, W]}``, each
            a perturbed copy of ``x`` within ``eps`` (for the table's header).

    Returns:
        ``(markdown table, {name: mean distance})``.
    """
    with torch.no_grad():
        gap = {name: feature_distance(model, x, x2) for name, x2 in examples.items()}
        layer = last_conv_layer(model)
        with capture_activations(model, layer) as acts:
            model(x)
        phi_norm = acts[layer].flatten(1).norm(dim=1)
    table = markdown_table(
        [f"example (L-inf ≤ ε = {eps:g})", "mean ‖φ(x) − φ(·)‖₂", "relative to ‖φ(x)‖₂"],
        [[k, f"{v.mean():.2f}", f"{(v / phi_norm).mean():.2f}"] for k, v in gap.items()],
    )
    return table, {k: float(v.mean()) for k, v in gap.items()}


def shared_set_consistency(
    models: Mapping[str, Mapping[str, nn.Module]],
    source,
    advset,
    correlation: torch.Tensor,
    *,
    fraction: float,
    num_samples: int,
    seed: int,
) -> tuple[dict[str, dict[str, ModelConsistency]], dict[str, dict[str, float]]]:
    """Table 1 of every model on the shared adversarial set: ``({arch: {row:
    ModelConsistency}}, {arch: {row: share of the set the model misclassifies}})``
    (:func:`~advinterp_lib.consistency.evaluation.measure_consistency` on the source
    images and the set; ``models`` is ``{arch: {row: model}}``)."""
    consistency: dict[str, dict[str, ModelConsistency]] = {arch: {} for arch in models}
    fooled: dict[str, dict[str, float]] = {arch: {} for arch in models}
    for arch, rows in models.items():
        for row, m in rows.items():
            consistency[arch][row] = measure_consistency(m, source.images, source.labels, advset.images, advset.labels,
                                                         correlation, fraction=fraction, num_samples=num_samples,
                                                         seed=seed)  # fmt: skip
            fooled[arch][row] = float((predict(m, advset.images).argmax(1) != advset.labels).float().mean())
    return consistency, fooled


def shared_set_table(
    arch: str, consistency: Mapping[str, ModelConsistency], fooled: Mapping[str, float], *, n_adversarial: int
) -> str:
    """Markdown: one architecture's rows of :func:`shared_set_consistency`, with the share
    of the set each model misclassifies."""
    table = consistency_table(
        {row: c.summary for row, c in consistency.items()},
        extra={"shared set fooled": {row: f"{f:.0%}" for row, f in fooled.items()}},
    )
    layer = next(iter(consistency.values())).activations.layer
    return f"**{arch}** — shared adversarial set ({n_adversarial} images), last conv layer `{layer}`\n\n" + table


def table1_json(
    consistency: Mapping[str, Mapping[str, ModelConsistency]], fooled: Mapping[str, Mapping[str, float]], key: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{arch: {row: consistency_row + {key: share fooled}}}`` for the results JSON."""
    return {
        arch: {row: {**c.row(), key: fooled[arch][row]} for row, c in rows.items()}
        for arch, rows in consistency.items()
    }


def whitebox_gains(
    whitebox: Mapping[str, Mapping[str, ModelConsistency]],
) -> dict[str, dict[str, BootstrapInterval]]:
    """Per architecture, each variant's consis_adv on its own white-box set minus the
    standard model's on its own (:func:`~advinterp_lib.consistency.evaluation.interval_difference`)."""
    return {
        arch: {
            row: interval_difference(m.summary.adversarial_interval, rows["standard"].summary.adversarial_interval)
            for row, m in rows.items()
            if row != "standard"
        }
        for arch, rows in whitebox.items()
    }


def whitebox_table(
    whitebox: Mapping[str, Mapping[str, ModelConsistency]],
    fooled: Mapping[str, Mapping[str, float]],
    gain: Mapping[str, Mapping[str, BootstrapInterval]],
    *,
    n_images: int,
) -> str:
    """The white-box sets as markdown: per architecture and row, the set's size, the
    share fooled, consis_adv with its interval, bias-corrected, and its change against
    the standard model (``gain``, absent for the standard row)."""
    rows = []
    for arch, by_row in whitebox.items():
        for row, c in by_row.items():
            r = consistency_row(c.summary)
            ci = r["consis_adv_ci"]
            rows.append([arch, row, n_images, f"{fooled[arch][row]:.0%}",
                         f"{r['consis_adv']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]",
                         f"{r['consis_adv_bias_corrected']:.3f}",
                         format_change(gain[arch][row]) if row in gain[arch] else ""])  # fmt: skip
    return markdown_table(["model", "variant", "white-box images", "fooled", "consis_adv(n) [95% CI]",
                           "bias-corrected", "Δ consis_adv vs standard"], rows)  # fmt: skip


def gain_table(
    gain: Mapping[str, Mapping[str, Mapping[str, BootstrapInterval]]], table3: Mapping[str, Mapping[str, Any]]
) -> str:
    """The changes of consis and consis_adv against the standard model (``gain``:
    ``{arch: {row: {"consis", "consis_adv"}}}``) beside each row's FGSM top-1 and its
    change (``table3``: ``{arch: table3_accuracies(...)}``), as markdown."""
    rows = []
    for arch, by_row in gain.items():
        for row, g in by_row.items():
            f1, f0 = table3[arch][row]["fgsm"]["top1"], table3[arch]["standard"]["fgsm"]["top1"]
            rows.append([arch, row, format_change(g["consis"]), format_change(g["consis_adv"]), f"{f1:.1%}",
                         f"{f1 - f0:+.1%}"])  # fmt: skip
    return markdown_table(["model", "variant", "Δ consis", "Δ consis_adv", "FGSM top-1", "Δ FGSM top-1"], rows)


def describe_consistent_at(
    gain: Mapping[str, Mapping[str, Mapping[str, BootstrapInterval]]],
    whitebox_gain: Mapping[str, Mapping[str, BootstrapInterval]],
    fooled: Mapping[str, Mapping[str, float]],
    whitebox_fooled: Mapping[str, Mapping[str, float]],
) -> str:
    """One bullet per architecture whose consistent-AT model has a white-box set: how
    consis_adv moves (:func:`~advinterp_lib.runs.prose.change_verdict`) on the shared and
    on the white-box set, and the share of each the model misclassifies."""
    return "\n".join(
        f"- **{arch}-Adv**: consis_adv {change_verdict(gain[arch]['consistent-AT']['consis_adv'])} on the shared set "
        f"({gain[arch]['consistent-AT']['consis_adv'].mean:+.3f}) and "
        f"{change_verdict(whitebox_gain[arch]['consistent-AT'])} on its white-box set "
        f"({whitebox_gain[arch]['consistent-AT'].mean:+.3f}); it misclassifies {fooled[arch]['consistent-AT']:.0%} "
        f"of the shared set and {whitebox_fooled[arch]['consistent-AT']:.0%} of its white-box set"
        for arch in gain
        if "consistent-AT" in whitebox_gain[arch]
    )


def describe_single_seed(record: Mapping[str, Any], strong_record: Mapping[str, Any] | None = None) -> str:
    """What a committed chapter-12 run (``committed_results``) says of its single-seed
    comparison: per architecture, Table 3's FGSM and clean top-1 of the standard and
    every variant, top-1 under the strong attack, and the changes of consis_adv on the
    shared and white-box sets.

    A run from before Table 3 had its strong column takes that column from
    ``strong_record``, chapter 9's committed run: it attacks the standard and
    consistent-AT models of the same recipe with the same cascade (its ``strong``
    numbers); an architecture neither record has is said to have none."""
    n = record["numbers"]
    strong9 = (strong_record or {}).get("numbers", {})
    out = []
    for arch in n["archs"]:
        t3, g, wb = n["table3"][arch], n["gain_vs_standard"][arch], n["gain_vs_standard_whitebox"][arch]

        def fg(row: str, t3: Mapping[str, Any] = t3) -> str:
            return f"{t3[row]['fgsm']['top1']:.0%}"

        out.append(f"- **{arch}**, Table 3 at ε = {n['table3_settings']['fgsm_eps']:g}: FGSM top-1 "
                   f"{fg('standard')} (standard) → {fg('consistent-AT')} (consistent-AT), "
                   + ", ".join(f"{fg(r)} ({r})" for r in t3 if r not in ("standard", "consistent-AT"))
                   + f"; clean top-1 {t3['standard']['real']['top1']:.0%} → {t3['consistent-AT']['real']['top1']:.0%}. "
                   + _strong_sentence(t3, strong9, arch)
                   + "Shared set, Δ consis_adv: " + ", ".join(f"{r} {g[r]['consis_adv']['mean']:+.2f}" for r in g)
                   + ". White-box sets, Δ consis_adv: "
                   + ", ".join(f"{r} {wb[r]['consis_adv']['mean']:+.2f} [{wb[r]['consis_adv']['low']:+.2f}, "
                               f"{wb[r]['consis_adv']['high']:+.2f}]" for r in wb) + ".")  # fmt: skip
    return f"Full profile ({record['device']}):\n\n" + "\n".join(out)


def _strong_sentence(t3: Mapping[str, Any], strong9: Mapping[str, Any], arch: str) -> str:
    """Top-1 of the standard and consistent-AT model under the strong attack: from the
    run's own Table 3 where it has the column, else from chapter 9's numbers."""
    if "strong" in t3["standard"]:
        a, b = t3["standard"]["strong"]["top1"], t3["consistent-AT"]["strong"]["top1"]
        return f"Strong attack: top-1 {a:.1%} (standard) → {b:.1%} (consistent-AT). "
    rows = strong9.get("strong", {}).get(arch, {})
    if "standard" not in rows or "consistent-AT" not in rows:
        return "No strong-attack column (the run predates it, and chapter 9 has no full run of this model). "
    a, b = rows["standard"]["apgd-t"], rows["consistent-AT"]["apgd-t"]
    images = strong9.get("strong_settings", {}).get("images")
    on = f"the first {images:,}" if isinstance(images, int) else "its"
    return (
        f"Strong attack (this run predates the column; chapter 9's full run, the same recipe, {on} test "
        f"images): top-1 {a:.1%} (standard) → {b:.1%} (consistent-AT). "
    )
