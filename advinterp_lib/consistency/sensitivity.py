"""Does Table 1's direction, consis_adv < consis, survive the choices the paper leaves open?

The paper's Table 1 rests on choices it does not state or that we made for
Fashion-MNIST: the kernel width sigma of ``A``, how a channel's feature map is reduced
to one response (spatial max or mean), which concept an adversarial image "contains"
(its source's, as the paper says, or the attack's target), whether images the attack
did not fool count, and the L-inf bound eps of the adversarial set. This module turns
each variant into one :class:`DirectionCheck`: the layer averages of consis and
consis_adv with their bootstrap intervals, and the interval of their difference.

The cheap variants reuse what a chapter already has: a new sigma only needs a new
``A`` over the stored top concepts, the target concept only a lookup of the stored top
adversarial positions (:func:`target_concepts`). Variants that change *which* images
are on top (the mean reduction, the adversarial images a model misclassifies, a subset
of the sources) all read one table of every image's channel responses, filled by a
single stream per model (:func:`channel_responses`); only a new adversarial set needs
a stream of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..interpret.topk import top_count
from ..models.layers import capture_activations, last_conv_layer
from ..models.state import eval_mode, model_device
from ..stats import BootstrapInterval
from ..validation import check_images
from .activations import ConceptActivations, _check_concepts
from .evaluation import interval_difference
from .metric import (
    ConsistencySummary,
    bootstrap_consistency,
    concept_distribution,
    consistency_scores,
)

__all__ = [
    "DirectionCheck",
    "direction_check",
    "target_concepts",
    "chance_consistency",
    "ChannelResponses",
    "channel_responses",
    "source_positions",
    "source_rows",
    "Variant",
    "CRITERION",
    "sensitivity_record",
    "sensitivity_table",
    "describe_sensitivity",
]


def _interval_dict(b: BootstrapInterval) -> dict[str, float]:
    return {"mean": b.mean, "low": b.low, "high": b.high, "bias": b.bias, "confidence": b.confidence}


@dataclass(frozen=True, eq=False)
class DirectionCheck:
    """Table 1's comparison for one model under one variant.

    Attributes:
        consis: bootstrap interval of the layer average of consis(n) (real images).
        consis_adv: the same for consis_adv(n) (adversarial images).
        difference: ``consis_adv - consis`` with its basic bootstrap interval
            (:func:`~advinterp_lib.consistency.evaluation.interval_difference`).
        neurons: C, the number of neurons averaged.
    """

    consis: BootstrapInterval
    consis_adv: BootstrapInterval
    difference: BootstrapInterval
    neurons: int

    @classmethod
    def from_intervals(
        cls, consis: BootstrapInterval, consis_adv: BootstrapInterval, *, neurons: int
    ) -> DirectionCheck:
        """A check from two bootstraps of the same size and confidence (e.g. the real
        interval a chapter already has, and a new adversarial one)."""
        return cls(consis=consis, consis_adv=consis_adv, difference=interval_difference(consis_adv, consis),
                   neurons=int(neurons))  # fmt: skip

    @classmethod
    def from_summary(cls, summary: ConsistencySummary) -> DirectionCheck:
        """The check of a :class:`~advinterp_lib.consistency.metric.ConsistencySummary`
        (Table 1's row as a chapter computed it: no new bootstrap)."""
        if not isinstance(summary, ConsistencySummary):
            raise TypeError(f"summary: expected a ConsistencySummary, got {type(summary).__name__}")
        return cls.from_intervals(summary.real_interval, summary.adversarial_interval,
                                  neurons=int(summary.consis.shape[0]))  # fmt: skip

    @property
    def holds(self) -> bool:
        """The direction holds: the whole interval of ``consis_adv - consis`` is below 0."""
        return self.difference.high < 0

    @property
    def intervals_apart(self) -> bool:
        """The stricter reading of chapter 11's claim: consis_adv's interval lies
        entirely below consis's."""
        return self.consis_adv.high < self.consis.low

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``consis``, ``consis_adv`` (plug-in averages), their intervals
        ``consis_ci``/``consis_adv_ci``, ``difference`` (``{"mean", "low", "high",
        "bias", "confidence"}``), ``holds``, ``intervals_apart`` and ``neurons``."""
        return {
            "consis": self.consis.mean,
            "consis_adv": self.consis_adv.mean,
            "consis_ci": _interval_dict(self.consis),
            "consis_adv_ci": _interval_dict(self.consis_adv),
            "difference": _interval_dict(self.difference),
            "holds": bool(self.holds),
            "intervals_apart": bool(self.intervals_apart),
            "neurons": int(self.neurons),
        }


def direction_check(
    real_concepts: torch.Tensor,
    adversarial_concepts: torch.Tensor,
    correlation: torch.Tensor,
    *,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> DirectionCheck:
    """consis against consis_adv for one model, with the interval of their difference.

    The bootstraps use ``seed`` (real) and ``seed + 1`` (adversarial), as
    :func:`~advinterp_lib.consistency.metric.summarize_consistency` does, so the same
    tables give the same intervals as a chapter's Table 1.

    Args:
        real_concepts: int [C, k_real]; adversarial_concepts: int [C, k_adv]: the
            concepts of each neuron's top real and top adversarial images.
        correlation: A, [K, K].
        num_samples, confidence, seed: the bootstraps.

    Raises:
        TypeError/ValueError: as :func:`~advinterp_lib.consistency.metric.bootstrap_consistency`;
            the two tables have different numbers of neurons.
    """
    if isinstance(real_concepts, torch.Tensor) and isinstance(adversarial_concepts, torch.Tensor) \
            and real_concepts.dim() >= 1 and adversarial_concepts.dim() >= 1 \
            and real_concepts.shape[0] != adversarial_concepts.shape[0]:  # fmt: skip
        raise ValueError(
            f"real_concepts and adversarial_concepts must have the same neurons, got "
            f"{tuple(real_concepts.shape)} and {tuple(adversarial_concepts.shape)}"
        )
    boot = {"num_samples": num_samples, "confidence": confidence}
    real = bootstrap_consistency(real_concepts, correlation, seed=seed, **boot)
    adversarial = bootstrap_consistency(adversarial_concepts, correlation, seed=seed + 1, **boot)
    return DirectionCheck.from_intervals(real, adversarial, neurons=int(real_concepts.shape[0]))


def target_concepts(activations: ConceptActivations, targets: torch.Tensor) -> torch.Tensor:
    """The concept of each top adversarial image taken from the attack's *target*.

    The paper counts an adversarial image under its source's concept (it still shows
    the source). If the attack had painted the target class in, a neuron's top
    adversarial images would share their targets instead; this reads them from the
    stored top positions, without streaming anything.

    Args:
        activations: :class:`~advinterp_lib.consistency.activations.ConceptActivations`.
        targets: int [M], the target class of every image of the adversarial set that
            was streamed (``AdversarialSet.targets``).

    Returns:
        int64 [C, k_adv].

    Raises:
        TypeError/ValueError: not an integer [M] tensor, of the wrong length, or a
            target outside [0, K).
    """
    if not isinstance(activations, ConceptActivations):
        raise TypeError(f"activations: expected ConceptActivations, got {type(activations).__name__}")
    targets = _check_concepts(targets, activations.adversarial.num_images, activations.num_concepts, "targets")
    return targets[activations.adversarial_positions()]


@dataclass(frozen=True, eq=False)
class ChannelResponses:
    """Every image's response of every channel of one layer, by both spatial
    reductions, and the model's logits: one stream serves the predictions and every
    variant that changes which images compete (the spatial mean, a subset of the
    images, the real images of a smaller set of sources).

    Unlike :class:`~advinterp_lib.interpret.topk.TopActivations` this keeps all N
    images: (2 C + K) x N float32 (100,000 images x 64 channels x 10 classes: 55 MB).

    Attributes:
        max, mean: float32 [N, C], the spatial maximum and mean of each channel's map.
        logits: float32 [N, K], the model's output for each image.
        layer: the layer's ``named_modules()`` name.
    """

    max: torch.Tensor
    mean: torch.Tensor
    logits: torch.Tensor
    layer: str

    @property
    def predictions(self) -> torch.Tensor:
        """int64 [N], the model's class for each image."""
        return self.logits.argmax(1)

    def top_concepts(
        self,
        concepts: torch.Tensor,
        *,
        fraction: float = 0.01,
        reduction: str = "max",
        rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The concepts of each channel's top ``fraction`` of the images (or of the
        images ``rows``), as :func:`~advinterp_lib.interpret.topk.top_activating_images`
        would rank them in one stream (ties: the earlier image first).

        Args:
            concepts: int [N] in [0, K), one per image.
            fraction: q in (0, 1]: k = ceil(q n) images per channel, n = len(rows) or N.
            reduction: ``"max"`` or ``"mean"``.
            rows: int [n], the images that compete (default: all).

        Returns:
            int64 [C, k].

        Raises:
            TypeError/ValueError: concepts not an integer [N] tensor; an unknown
                reduction; ``fraction`` outside (0, 1]; rows empty or out of range.
        """
        n_all = self.max.shape[0]
        if not isinstance(concepts, torch.Tensor) or concepts.is_floating_point() or concepts.dtype == torch.bool:
            raise TypeError(
                f"concepts: expected an integer tensor [{n_all}], got "
                f"{getattr(concepts, 'dtype', type(concepts).__name__)}"
            )
        if concepts.shape != (n_all,):
            raise ValueError(f"concepts: expected shape [{n_all}] (one per image), got {tuple(concepts.shape)}")
        if reduction not in ("max", "mean"):
            raise ValueError(f"reduction must be 'max' or 'mean', got {reduction!r}")
        values = self.max if reduction == "max" else self.mean
        concepts = concepts.to(torch.int64)
        if rows is not None:
            rows = torch.as_tensor(rows)
            if rows.dim() != 1 or rows.is_floating_point() or rows.dtype == torch.bool or not len(rows):
                raise ValueError(f"rows: expected a non-empty 1-D integer tensor, got {tuple(rows.shape)} {rows.dtype}")
            if int(rows.min()) < 0 or int(rows.max()) >= n_all:
                raise ValueError(
                    f"rows: expected values in [0, {n_all - 1}], got min {int(rows.min())} max {int(rows.max())}"
                )
            rows = rows.sort().values  # the stream's order, for its tie-breaking
            values, concepts = values[rows], concepts[rows]
        k = top_count(len(values), fraction)
        order = torch.sort(values.t(), dim=1, descending=True, stable=True).indices[:, :k]
        return concepts[order]


@torch.no_grad()
def channel_responses(
    model: nn.Module, images: torch.Tensor, *, layer: str | None = None, batch_size: int = 256
) -> ChannelResponses:
    """Stream ``images`` through ``model`` once; keep every channel's spatial max and
    mean of ``layer`` and the model's logits, for every image (batches of
    ``batch_size``, as :func:`~advinterp_lib.runs.imagenet_artifacts.batched_probabilities`:
    ``logits.softmax(1)`` equals its probabilities).

    Args:
        model: the network (every submodule's mode is restored; no hooks remain); ``layer`` a
            ``named_modules()`` name with a [B, C, h, w] output (default: the last conv layer).
        images: float [N, C, H, W] in [0, 1].

    Returns:
        :class:`ChannelResponses` on the CPU.

    Raises:
        TypeError/ValueError: bad images; an unknown layer (listing valid names); a
            layer whose output is not a feature map.
    """
    check_images(images, "images", model=model)
    layer = last_conv_layer(model) if layer is None else layer
    device = model_device(model)
    maxima, means, logits = [], [], []
    with eval_mode(model), capture_activations(model, [layer]) as acts:
        for start in range(0, len(images), batch_size):
            out = model(images[start : start + batch_size].to(device))
            fmap = acts.pop(layer)
            if fmap.dim() != 4:
                raise ValueError(f"layer {layer!r} gives a {fmap.dim()}-D output of shape {tuple(fmap.shape)}, "
                                 "not a feature map")  # fmt: skip
            flat = fmap.flatten(2)
            maxima.append(flat.amax(2).float().cpu())
            means.append(flat.mean(2).float().cpu())
            logits.append(out.float().cpu())
    return ChannelResponses(max=torch.cat(maxima), mean=torch.cat(means), logits=torch.cat(logits), layer=layer)


def chance_consistency(concepts: torch.Tensor, correlation: torch.Tensor) -> float:
    """``p^T A p`` for the concepts of a whole image set: the consis of a neuron whose
    top images were drawn at random from it. A baseline for a variant that changes
    which concept an image counts under (e.g. least-likely targets are not spread
    evenly over the classes, so counting by target raises the chance level).

    Args:
        concepts: int [N] in [0, K), one per image; correlation: A, [K, K].

    Raises:
        TypeError/ValueError: as :func:`~advinterp_lib.consistency.metric.concept_distribution`.
    """
    if not isinstance(concepts, torch.Tensor) or concepts.dim() != 1:
        raise TypeError(
            f"concepts: expected an integer tensor [N], got {getattr(concepts, 'shape', type(concepts).__name__)}"
        )
    a = correlation.to(torch.float64)
    p = concept_distribution(concepts[None], a.shape[0])
    return float(consistency_scores(p, a)[0])


def source_positions(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Where each of ``images`` is in ``reference`` (exact pixel equality).

    Used to find the sources of a smaller adversarial set (its own subset of the test
    images) among a larger set's sources. Duplicated pictures are matched to
    distinct positions, in order.

    Args:
        images: float [n, C, H, W]; reference: float [N, C, H, W], same image shape.

    Returns:
        int64 [n], positions into ``reference``.

    Raises:
        TypeError: not tensors. ValueError: different image shapes, or an image that
            ``reference`` does not hold.
    """
    for name, x in (("images", images), ("reference", reference)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise TypeError(f"{name}: expected a tensor [N, C, H, W], got {getattr(x, 'shape', type(x).__name__)}")
    if images.shape[1:] != reference.shape[1:]:
        raise ValueError(f"images {tuple(images.shape[1:])} and reference {tuple(reference.shape[1:])} differ in shape")
    where: dict[bytes, list[int]] = {}
    for i, x in enumerate(reference.contiguous().numpy()):
        where.setdefault(x.tobytes(), []).append(i)
    positions = []
    for i, x in enumerate(images.contiguous().numpy()):
        free = where.get(x.tobytes())
        if not free:
            raise ValueError(f"images[{i}] is not among the reference images")
        positions.append(free.pop(0))
    return torch.tensor(positions, dtype=torch.int64)


def source_rows(source_index: torch.Tensor, sources: torch.Tensor | Sequence[int]) -> torch.Tensor:
    """The rows of an adversarial set whose source image is one of ``sources``.

    Args:
        source_index: int [M] (``AdversarialSet.source_index``).
        sources: positions of source images.

    Returns:
        int64 [m], increasing.
    """
    if not isinstance(source_index, torch.Tensor) or source_index.dim() != 1 or source_index.is_floating_point():
        raise TypeError(
            "source_index: expected an integer tensor [M], "
            f"got {getattr(source_index, 'shape', type(source_index).__name__)}"
        )
    sources = torch.as_tensor(sources, dtype=torch.int64)
    return torch.isin(source_index, sources).nonzero().flatten()


@dataclass(frozen=True, eq=False)
class Variant:
    """One way of computing Table 1, checked for every model.

    Attributes:
        label: what a reader sees (``"σ = 0.5"``, ``"fooled images only"``).
        group: the choice it varies (``"baseline"``, ``"sigma"``, ``"reduction"``,
            ``"concept"``, ``"subset"``, ``"eps"``).
        value: the choice's value (``0.5``, ``"mean"``, ``"target"``), None for the baseline.
        checks: ``{model: DirectionCheck}``.
        details: JSON-ready facts about the variant (set sizes, mean L-inf, ...).
    """

    label: str
    group: str
    value: float | str | None
    checks: Mapping[str, DirectionCheck]
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """The direction holds for every model."""
        return all(c.holds for c in self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        """``{"label", "group", "value", "holds_for_all", "archs": {model: DirectionCheck.to_dict()}, **details}``."""
        return {"label": self.label, "group": self.group, "value": self.value, "holds_for_all": bool(self.holds),
                "archs": {m: c.to_dict() for m, c in self.checks.items()}, **dict(self.details)}  # fmt: skip


def _num(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals and a true minus sign (the book's tables and prose)."""
    return f"{float(x):.{int(digits)}f}".replace("-", "−")


def _interval(d: Mapping[str, float] | BootstrapInterval, digits: int) -> str:
    get = d.__getitem__ if isinstance(d, Mapping) else lambda k: getattr(d, k)
    return f"{_num(get('mean'), digits)} [{_num(get('low'), digits)}, {_num(get('high'), digits)}]"


#: How :attr:`DirectionCheck.holds` judges, stored beside the numbers.
CRITERION = "holds: the basic bootstrap interval of consis_adv - consis lies entirely below 0"


def _check_variants(variants: Mapping[str, Variant]) -> list[str]:
    if not variants:
        raise ValueError("variants: expected at least one variant, got none")
    for key, v in variants.items():
        if not isinstance(v, Variant):
            raise TypeError(f"variants[{key!r}]: expected a Variant, got {type(v).__name__}")
    models = list(next(iter(variants.values())).checks)
    if any(list(v.checks) != models for v in variants.values()):
        raise ValueError(f"every variant must list the same models ({models})")
    return models


def sensitivity_record(variants: Mapping[str, Variant]) -> dict[str, Any]:
    """The JSON layout chapter 11 stores under ``"sensitivity"`` (and a verdict rule reads):
    ``{"criterion", "models", "variants": {key: Variant.to_dict()}}``, keys in order.

    Raises:
        TypeError/ValueError: as :func:`sensitivity_table`.
    """
    models = _check_variants(variants)
    return {"criterion": CRITERION, "models": models, "variants": {k: v.to_dict() for k, v in variants.items()}}


def sensitivity_table(variants: Mapping[str, Variant], *, digits: int = 3) -> str:
    """The variants as markdown: one line per variant (in order), per model consis,
    consis_adv and the interval of their difference, marked ✓ where the direction
    holds (the interval is below 0) and ✗ where it does not.

    Raises:
        TypeError: a value is not a :class:`Variant`.
        ValueError: no variants, or variants with different models.
    """
    models = _check_variants(variants)
    level = f"{next(iter(next(iter(variants.values())).checks.values())).difference.confidence:.0%}"
    head = "| variant | " + " | ".join(f"{m}: consis / consis_adv | {m}: consis_adv − consis [{level} CI]"
                                     for m in models) + " |"  # fmt: skip
    lines = [head, "|---" * (1 + 2 * len(models)) + "|"]
    for v in variants.values():
        cells = []
        for m in models:
            c = v.checks[m]
            cells.append(f"{_num(c.consis.mean, digits)} / {_num(c.consis_adv.mean, digits)}")
            cells.append(f"{'✓' if c.holds else '✗'} {_interval(c.difference, digits)}")
        lines.append(f"| {v.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe_sensitivity(record: Mapping[str, Any], *, digits: int = 3) -> str:
    """One paragraph, from a :func:`sensitivity_record` (this run's or a committed
    run's JSON): which variants keep the direction for every model, and, for each
    that does not, the models and the interval of their difference.

    Raises:
        ValueError: not a sensitivity record.
    """
    if not isinstance(record, Mapping) or not isinstance(record.get("variants"), Mapping) or not record["variants"]:
        raise ValueError("record: expected a sensitivity record with variants (see sensitivity_record)")
    kept = [v["label"] for v in record["variants"].values() if v["holds_for_all"]]
    lost = []
    for v in record["variants"].values():
        bad = [(m, c["difference"]) for m, c in v["archs"].items() if not c["holds"]]
        if bad:
            where = ", ".join(f"{m} ({_interval(d, digits)})" for m, d in bad)
            lost.append(f"{v['label']}: {where}")
    if not lost:
        return (f"The direction survives every variant ({len(kept)} of {len(kept)}): for every model, the whole "
                f"interval of consis_adv − consis lies below 0.")  # fmt: skip
    return (
        f"The direction survives {len(kept)} of {len(record['variants'])} variants for every model. "
        f"Where it does **not** survive, the interval of consis_adv − consis reaches 0: " + "; ".join(lost) + "."
    )
