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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..stats import BootstrapInterval, basic_interval
from .activations import ConceptActivations, concept_top_activations
from .metric import ConsistencySummary, consistency_histogram, summarize_consistency

__all__ = [
    "consistency_histograms",
    "ModelConsistency",
    "measure_consistency",
    "consistency_row",
    "consistency_table",
    "interval_difference",
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


def consistency_table(rows: Mapping[str, ConsistencySummary], *, digits: int = 3) -> str:
    """Table 1 as markdown: one line per model (the mapping's keys, in order), its
    number of neurons, consis and consis_adv with their intervals, and the
    bias-corrected averages.

    Raises:
        TypeError: a value is not a :class:`ConsistencySummary`.
        ValueError: no rows.
    """
    if not rows:
        raise ValueError("rows: expected at least one model, got none")
    f = f"{{:.{int(digits)}f}}"
    lines = [
        "| model | neurons | consis(n) [95% CI] | consis_adv(n) [95% CI] "
        "| consis, bias-corrected | consis_adv, bias-corrected |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in rows.items():
        row = consistency_row(s)
        r, v = row["consis_ci"], row["consis_adv_ci"]
        lines.append(
            f"| {name} | {row['neurons']} | {f.format(row['consis'])} [{f.format(r['low'])}, {f.format(r['high'])}] "
            f"| {f.format(row['consis_adv'])} [{f.format(v['low'])}, {f.format(v['high'])}] "
            f"| {f.format(row['consis_bias_corrected'])} | {f.format(row['consis_adv_bias_corrected'])} |"
        )
    return "\n".join(lines)


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
