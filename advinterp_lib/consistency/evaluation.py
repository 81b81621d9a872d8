"""One model's consistency on a real + adversarial set, and the rows of the paper's Table 1.

Chapters 11 and 12 ask the same question of many models: stream the real images and
an adversarial set through the model, keep each neuron's top ``fraction`` of each
(:func:`~advinterp_lib.consistency.activations.concept_top_activations`), and turn the
top images' concepts into ``consis(n)`` / ``consis_adv(n)`` with bootstrap intervals of
their layer averages (:func:`~advinterp_lib.consistency.metric.summarize_consistency`).
:func:`measure_consistency` does both; :func:`consistency_row` gives the JSON row of
Table 1 and :func:`consistency_table` its markdown. :func:`interval_difference` says
whether one model's layer average is above another's (e.g. consis_adv of an -Adv model
against the standard one) beyond what the choice of top images explains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from ..stats import BootstrapInterval, basic_interval
from ..tables import markdown_table
from .activations import ConceptActivations, concept_top_activations
from .metric import ConsistencySummary, consistency_histogram, summarize_consistency

__all__ = [
    "consistency_histograms",
    "ModelConsistency",
    "measure_consistency",
    "consistency_row",
    "consistency_table",
    "interval_difference",
    "gains_against",
    "AttackRates",
    "attack_rates",
    "linf_distances",
    "consis_adv_histograms",
]


@dataclass(frozen=True, eq=False)
class ModelConsistency:
    """What :func:`measure_consistency` found for one model.

    Attributes:
        activations: each neuron's top real and adversarial images with their concepts.
        summary: consis(n), consis_adv(n) of every neuron and the intervals of their
            layer averages.
    """

    activations: ConceptActivations
    summary: ConsistencySummary

    def row(self) -> dict[str, Any]:
        """The JSON row of Table 1 (see :func:`consistency_row`), plus the layer name
        and the number of top images per neuron."""
        return {
            **consistency_row(self.summary),
            "layer": self.activations.layer,
            "k_real": int(self.activations.real.k),
            "k_adversarial": int(self.activations.adversarial.k),
        }


def measure_consistency(
    model: nn.Module,
    real_images: torch.Tensor | Iterable,
    real_concepts: torch.Tensor,
    adversarial_images: torch.Tensor | Iterable,
    adversarial_concepts: torch.Tensor,
    correlation: torch.Tensor,
    *,
    fraction: float = 0.01,
    layer: str | None = None,
    reduction: str = "max",
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    batch_size: int = 256,
) -> ModelConsistency:
    """consis(n) and consis_adv(n) of every neuron of ``layer`` for one model.

    Args:
        model: the network (its mode is left as it was).
        real_images: float [N, C, H, W] in [0, 1] (or an iterable of batches);
            real_concepts: int [N] in [0, K).
        adversarial_images: float [M, C, H, W] in [0, 1] (or batches);
            adversarial_concepts: int [M], each image's *source* concept.
        correlation: A, float [K, K]
            (:func:`~advinterp_lib.consistency.concepts.correlation_matrix`).
        fraction: the top share of each source that "activates" a neuron (paper: 1%).
        layer: a ``named_modules()`` name (default: the model's last conv layer).
        reduction: ``"max"`` (default, NetDissect's) or ``"mean"`` over positions.
        num_samples, confidence, seed: the bootstrap of the layer averages.
        batch_size: images per forward pass.

    Returns:
        :class:`ModelConsistency`.

    Raises:
        TypeError/ValueError: as :func:`~advinterp_lib.consistency.activations.concept_top_activations`
            and :func:`~advinterp_lib.consistency.metric.summarize_consistency`
            (e.g. A of the wrong size for the concepts).
    """
    if (
        not isinstance(correlation, torch.Tensor)
        or correlation.dim() != 2
        or correlation.shape[0] != correlation.shape[1]
    ):
        raise ValueError(
            "correlation: expected a square [K, K] tensor, got "
            f"{getattr(correlation, 'shape', type(correlation).__name__)}"
        )
    acts = concept_top_activations(
        model, real_images, real_concepts, adversarial_images, adversarial_concepts,
        num_concepts=int(correlation.shape[0]), layer=layer, fraction=fraction, reduction=reduction,
        batch_size=batch_size,
    )  # fmt: skip
    summary = summarize_consistency(
        acts.real_concepts,
        acts.adversarial_concepts,
        correlation,
        num_samples=num_samples,
        confidence=confidence,
        seed=seed,
    )
    return ModelConsistency(activations=acts, summary=summary)


def consistency_row(summary: ConsistencySummary) -> dict[str, Any]:
    """The JSON row of Table 1 for one model.

    Returns:
        ``{"consis", "consis_adv"}`` (the paper's plug-in layer averages),
        ``{"consis_ci", "consis_adv_ci"}`` (``{"mean", "low", "high", "bias",
        "confidence"}``, basic bootstrap intervals), ``{"consis_bias_corrected",
        "consis_adv_bias_corrected"}`` (mean minus the bootstrap bias: compare these
        when the two top sets differ in size) and ``"neurons"``.
    """
    if not isinstance(summary, ConsistencySummary):
        raise TypeError(f"summary: expected a ConsistencySummary, got {type(summary).__name__}")
    r, v = summary.real_interval, summary.adversarial_interval
    return {**summary.to_dict(), "consis_bias_corrected": r.mean - r.bias, "consis_adv_bias_corrected": v.mean - v.bias}


def consistency_histograms(summary: ConsistencySummary, *, bins: int = 20) -> dict[str, list]:
    """Figure 5's data for one model as JSON: ``{"edges": [bins + 1], "real": counts of
    consis(n), "adversarial": counts of consis_adv(n)}`` over ``bins`` equal bins of [0, 1]
    (chapter 11's layout, which the reproduction report reads)."""
    real, edges = consistency_histogram(summary.consis.float(), bins=bins)
    adversarial, _ = consistency_histogram(summary.consis_adv.float(), bins=bins)
    return {"edges": edges.tolist(), "real": real.tolist(), "adversarial": adversarial.tolist()}


def consistency_table(
    rows: Mapping[str, ConsistencySummary], *, digits: int = 3, extra: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """Table 1 as markdown: one line per model (the mapping's keys, in order), its
    number of neurons, consis and consis_adv with their intervals, and the
    bias-corrected averages.

    Args:
        rows: ``{model: ConsistencySummary}``.
        digits: decimals of every number.
        extra: more columns, ``{header: {model: cell}}``, after the others.

    Raises:
        TypeError: a value is not a :class:`ConsistencySummary`.
        ValueError: no rows.
        KeyError: an extra column without a cell for a model.
    """
    if not rows:
        raise ValueError("rows: expected at least one model, got none")
    extra = dict(extra or {})
    f = f"{{:.{int(digits)}f}}"
    headers = ["model", "neurons", "consis(n) [95% CI]", "consis_adv(n) [95% CI]", "consis, bias-corrected",
               "consis_adv, bias-corrected", *extra]  # fmt: skip
    lines = []
    for name, s in rows.items():
        row = consistency_row(s)
        r, v = row["consis_ci"], row["consis_adv_ci"]
        lines.append([
            name, row["neurons"], f"{f.format(row['consis'])} [{f.format(r['low'])}, {f.format(r['high'])}]",
            f"{f.format(row['consis_adv'])} [{f.format(v['low'])}, {f.format(v['high'])}]",
            f.format(row["consis_bias_corrected"]), f.format(row["consis_adv_bias_corrected"]),
            *(cells[name] for cells in extra.values()),
        ])  # fmt: skip
    return markdown_table(headers, lines)


def interval_difference(a: BootstrapInterval, b: BootstrapInterval) -> BootstrapInterval:
    """The difference ``a - b`` of two layer averages, with a basic bootstrap interval.

    ``a`` and ``b`` come from independent bootstraps (e.g. two models' consis_adv), so
    the replicate differences ``a.samples - b.samples`` are replicates of the
    difference; the interval is the basic one, ``[2 d - q_hi, 2 d - q_lo]`` with
    ``d = a.mean - b.mean``, as in :func:`~advinterp_lib.consistency.metric.bootstrap_consistency`.
    An interval above 0 says that ``a`` exceeds ``b`` by more than the resampling of
    the top images explains.

    Raises:
        TypeError: not :class:`BootstrapInterval` objects.
        ValueError: different numbers of replicates or confidence levels.
    """
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, BootstrapInterval):
            raise TypeError(f"{name}: expected a BootstrapInterval, got {type(x).__name__}")
    if a.samples.shape != b.samples.shape:
        raise ValueError(
            "a and b must have the same number of replicates, "
            f"got {tuple(a.samples.shape)} and {tuple(b.samples.shape)}"
        )
    if a.confidence != b.confidence:
        raise ValueError(f"a and b must have the same confidence, got {a.confidence} and {b.confidence}")
    return basic_interval(a.mean - b.mean, a.samples.to(torch.float64) - b.samples.to(torch.float64), a.confidence)


def gains_against(
    summaries: Mapping[str, ConsistencySummary], *, baseline: str = "standard", rows: Iterable[str] | None = None
) -> dict[str, dict[str, BootstrapInterval]]:
    """Each model's change of consis and consis_adv against ``baseline``, with basic
    bootstrap intervals (:func:`interval_difference` of the layer averages).

    Args:
        summaries: ``{model: ConsistencySummary}``, including ``baseline``.
        baseline: the model the others are compared with (e.g. the standard one).
        rows: the models to compare (default: every model but ``baseline``).

    Returns:
        ``{model: {"consis": BootstrapInterval, "consis_adv": BootstrapInterval}}``.

    Raises:
        KeyError: ``baseline`` or a row missing from ``summaries``.
        TypeError/ValueError: as :func:`interval_difference`.
    """
    if baseline not in summaries:
        raise KeyError(f"baseline {baseline!r} is not among the models {list(summaries)}")
    rows = [r for r in summaries if r != baseline] if rows is None else list(rows)
    missing = [r for r in rows if r not in summaries]
    if missing:
        raise KeyError(f"rows {missing} are not among the models {list(summaries)}")
    base = summaries[baseline]
    return {
        r: {
            "consis": interval_difference(summaries[r].real_interval, base.real_interval),
            "consis_adv": interval_difference(summaries[r].adversarial_interval, base.adversarial_interval),
        }
        for r in rows
    }


@dataclass(frozen=True)
class AttackRates:
    """How an adversarial set fares against each model (chapter 11's first table).

    Attributes:
        real_accuracy: ``{model: share of the source images classified correctly}``.
        targeted_success: ``{model: share of adversarial images classified as their
            target}``, plus ``"ensemble"``: the same for the models' average probability.
        misclassified: ``{model: share of adversarial images not classified as their source's class}``.
    """

    real_accuracy: dict[str, float]
    targeted_success: dict[str, float]
    misclassified: dict[str, float]


def attack_rates(
    real_logits: Mapping[str, torch.Tensor],
    adversarial_logits: Mapping[str, torch.Tensor],
    real_labels: torch.Tensor,
    adversarial_labels: torch.Tensor,
    targets: torch.Tensor,
) -> AttackRates:
    """Accuracy on the source images and targeted success / misclassification on an
    adversarial set, per model and (targeted success) for the models' ensemble.

    Args:
        real_logits: ``{model: float [N, K]}`` on the source images.
        adversarial_logits: ``{model: float [M, K]}`` on the adversarial images, the same models.
        real_labels: int [N]; adversarial_labels: int [M], each image's source class;
            targets: int [M], each image's target class.

    Returns:
        :class:`AttackRates`.

    Raises:
        ValueError: no models, different models in the two mappings, or logits whose
            rows do not match the labels.
    """
    if not real_logits or list(real_logits) != list(adversarial_logits):
        raise ValueError(
            f"expected the same models (at least one) on both sets, got {list(real_logits)} and "
            f"{list(adversarial_logits)}"
        )
    for name, logits, labels in [(f"real_logits[{m!r}]", v, real_labels) for m, v in real_logits.items()] + [
        (f"adversarial_logits[{m!r}]", v, adversarial_labels) for m, v in adversarial_logits.items()
    ]:
        if logits.dim() != 2 or len(logits) != len(labels):
            raise ValueError(f"{name}: expected [{len(labels)}, K] (one row per label), got {tuple(logits.shape)}")
    if len(targets) != len(adversarial_labels):
        raise ValueError(f"targets: expected {len(adversarial_labels)} (one per adversarial image), got {len(targets)}")
    probs = {m: v.softmax(1) for m, v in adversarial_logits.items()}
    real = {m: (v.argmax(1) == real_labels).float().mean().item() for m, v in real_logits.items()}
    hit = {m: (p.argmax(1) == targets).float().mean().item() for m, p in probs.items()}
    total = cast(torch.Tensor, sum(probs.values()))  # not 0: at least one model (checked)
    hit["ensemble"] = (total.argmax(1) == targets).float().mean().item()
    fooled = {m: (p.argmax(1) != adversarial_labels).float().mean().item() for m, p in probs.items()}
    return AttackRates(real_accuracy=real, targeted_success=hit, misclassified=fooled)


def linf_distances(adversarial_images: torch.Tensor, source_images: torch.Tensor) -> torch.Tensor:
    """float [M]: each adversarial image's L-inf distance to its source (rows paired).

    Raises:
        ValueError: tensors of different shapes.
    """
    if adversarial_images.shape != source_images.shape:
        raise ValueError(
            f"adversarial_images {tuple(adversarial_images.shape)} and source_images "
            f"{tuple(source_images.shape)}: expected the same shape (rows paired)"
        )
    return (adversarial_images - source_images).flatten(1).abs().amax(1)


def consis_adv_histograms(
    measured: Mapping[str, Mapping[str, Mapping[str, ModelConsistency]]], rows: Sequence[str], *, bins: int = 20
) -> dict[str, dict[str, Any]]:
    """Figure 5's data as chapter 12 stores it: per set of adversarial images and model,
    the histogram of consis_adv(n) of each of ``rows``.

    Args:
        measured: ``{set: {arch: {row: ModelConsistency}}}`` (e.g. ``"shared"`` and ``"whitebox"``).
        rows: the rows of each architecture to count (e.g. ``["standard", "consistent-AT"]``).
        bins: equal bins of [0, 1].

    Returns:
        ``{set: {arch: {row: counts}, ..., "edges": [bins + 1]}}`` (JSON-ready).

    Raises:
        KeyError: a row that an architecture was not measured for.
    """
    out: dict[str, dict[str, Any]] = {}
    for kind, by_arch in measured.items():
        out[kind] = {}
        for arch, by_row in by_arch.items():
            out[kind][arch] = {}
            for row in rows:
                counts, edges = consistency_histogram(by_row[row].summary.consis_adv.float(), bins=bins)
                out[kind][arch][row] = counts.tolist()
            out[kind]["edges"] = edges.tolist()
    return out
