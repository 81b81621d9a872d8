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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..data import AdversarialSet
from ..interpret.topk import top_count
from ..models.layers import capture_activations, last_conv_layer
from ..models.state import eval_mode, model_device
from ..stats import BootstrapInterval
from ..tables import markdown_table
from ..validation import check_images
from .activations import ConceptActivations, _check_concepts
from .evaluation import interval_difference, linf_distances
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
    "lookup_variants",
    "response_variants",
    "eps_sweep",
    "sweep_table",
    "describe_target_concept",
    "describe_eps_trend",
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
    real = bootstrap_consistency(real_concepts, correlation, num_samples=num_samples, confidence=confidence, seed=seed)
    adversarial = bootstrap_consistency(
        adversarial_concepts, correlation, num_samples=num_samples, confidence=confidence, seed=seed + 1
    )
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
    ``batch_size``, as :func:`~advinterp_lib.artifacts.imagenet.batched_probabilities`:
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


# ------------------------------------------------------------ chapter 11's variants


def lookup_variants(
    activations: Mapping[str, ConceptActivations],
    summaries: Mapping[str, ConsistencySummary],
    correlation: torch.Tensor,
    correlation_for: Callable[[float], torch.Tensor],
    advset: AdversarialSet,
    *,
    sigma: float,
    sigmas: Sequence[float],
    eps: float,
    num_samples: int = 1000,
    seed: int = 0,
) -> dict[str, Variant]:
    """Table 1 (the baseline) and the variants that read the stored top images again:
    another kernel width σ (a new ``A``) and the attack's target as an adversarial
    image's concept (a lookup of the stored top positions; its details hold the
    consis of a random neuron by source and by target, ``"chance_consis_adv"``).

    Args:
        activations: ``{model: ConceptActivations}`` on the real images and ``advset``.
        summaries: ``{model: ConsistencySummary}`` of Table 1 (same models, same order).
        correlation: Table 1's A (float [K, K], at ``sigma``); correlation_for: σ -> A.
        advset: the adversarial set (its ``labels`` and ``targets``).
        sigma: Table 1's σ; sigmas: the σ to try (``sigma`` itself is skipped).
        eps: the set's L-inf bound (for the baseline's label).
        num_samples, seed: the bootstraps, as Table 1's.

    Returns:
        ``{"table1", "sigma=<s>" ..., "concept=target"}`` in that order.

    Raises:
        ValueError: different models in ``activations`` and ``summaries``.
    """
    if list(activations) != list(summaries):
        raise ValueError(f"activations {list(activations)} and summaries {list(summaries)}: expected the same models")
    boot = {"num_samples": num_samples, "seed": seed}
    label = f"Table 1 (σ = {sigma:g}, spatial max, source's concept, all images, ε = {eps:g})"
    checks = {m: DirectionCheck.from_summary(s) for m, s in summaries.items()}
    variants = {"table1": Variant(label, "baseline", None, checks)}
    for s in sigmas:  # σ: a new A over the same top images
        if s != sigma:
            a_s = correlation_for(s)
            variants[f"sigma={s:g}"] = Variant(f"σ = {s:g}", "sigma", float(s), {
                m: direction_check(a.real_concepts, a.adversarial_concepts, a_s, **boot)
                for m, a in activations.items()})  # fmt: skip
    chance = {
        "source": chance_consistency(advset.labels, correlation),
        "target": chance_consistency(advset.targets, correlation),
    }
    variants["concept=target"] = Variant("the target's concept, not the source's", "concept", "target", {
        m: direction_check(a.real_concepts, target_concepts(a, advset.targets), correlation, **boot)
        for m, a in activations.items()}, {"chance_consis_adv": chance})  # fmt: skip
    return variants


def response_variants(
    real: Mapping[str, ChannelResponses],
    adversarial: Mapping[str, ChannelResponses],
    activations: Mapping[str, ConceptActivations],
    real_concepts: torch.Tensor,
    adversarial_concepts: torch.Tensor,
    correlation: torch.Tensor,
    *,
    fraction: float = 0.01,
    num_samples: int = 1000,
    seed: int = 0,
) -> dict[str, Variant]:
    """The variants that change which images are on top, read from the tables of every
    image's channel responses: the spatial mean instead of the max, and only the
    adversarial images each model misclassifies (left out when a model misclassifies none).

    Args:
        real, adversarial: ``{model: ChannelResponses}`` on the real and adversarial images.
        activations: ``{model: ConceptActivations}`` (their top real concepts are kept
            for the fooled-only variant).
        real_concepts: int [N]; adversarial_concepts: int [M], each image's source concept.
        correlation: A, [K, K]; fraction, num_samples, seed: as Table 1's.

    Returns:
        ``{"reduction=mean", "fooled_only"}`` (the second only where every model misclassifies some image).

    Raises:
        ValueError: different models in the three mappings.
    """
    if not list(real) == list(adversarial) == list(activations):
        raise ValueError(
            f"real {list(real)}, adversarial {list(adversarial)} and activations {list(activations)}: "
            "expected the same models"
        )
    boot = {"num_samples": num_samples, "seed": seed}
    variants = {"reduction=mean": Variant("spatial mean, not max", "reduction", "mean", {
        m: direction_check(real[m].top_concepts(real_concepts, fraction=fraction, reduction="mean"),
                           adversarial[m].top_concepts(adversarial_concepts, fraction=fraction, reduction="mean"),
                           correlation, **boot)
        for m in real})}  # fmt: skip
    fooled = {m: (r.predictions != adversarial_concepts).nonzero().flatten() for m, r in adversarial.items()}
    if all(len(r) for r in fooled.values()):
        variants["fooled_only"] = Variant("fooled images only", "subset", "fooled", {
            m: direction_check(activations[m].real_concepts,
                               adversarial[m].top_concepts(adversarial_concepts, fraction=fraction, rows=fooled[m]),
                               correlation, **boot)
            for m in real}, {"n_adversarial": {m: len(r) for m, r in fooled.items()}})  # fmt: skip
    return variants


def eps_sweep(
    models: Mapping[str, nn.Module],
    built: Mapping[float, tuple[Any, AdversarialSet]],
    source_images: torch.Tensor,
    source_labels: torch.Tensor,
    advset: AdversarialSet,
    real: Mapping[str, ChannelResponses],
    adversarial: Mapping[str, ChannelResponses],
    correlation: torch.Tensor,
    *,
    sweep_eps: Sequence[float],
    n_sources: int,
    fraction: float = 0.01,
    num_samples: int = 1000,
    seed: int = 0,
) -> tuple[dict[float, dict[str, Any]], dict[str, Variant]]:
    """Table 1's direction at other L-inf bounds ε of the attack, on a smaller draw of sources.

    Every set of ``built`` was generated from the same seeded draw of ``n_sources``
    source images, each also a source of the shared set ``advset``; a bound of
    ``sweep_eps`` absent from ``built`` is the shared set's, restricted to those
    sources. consis is measured on those sources' real images, so every row compares
    like with like. A new set is streamed once per model; the shared set reads ``adversarial``.

    Args:
        models: ``{model: network}``.
        built: ``{ε: (its source images (with ``images``), its AdversarialSet)}``, at least one.
        source_images: float [N, C, H, W], the shared set's sources; source_labels: int [N].
        advset: the shared adversarial set.
        real, adversarial: ``{model: ChannelResponses}`` on ``source_images`` and ``advset``.
        correlation: A; sweep_eps: the bounds, in the order of the rows.
        n_sources: the size of the smaller draw (stored); fraction, num_samples, seed: as Table 1's.

    Returns:
        ``({ε: {"n_sources", "n_adversarial", "mean_linf", "misclassified": {model: share}}},
        {"eps=<ε>": Variant})``.

    Raises:
        ValueError: ``built`` empty; a set's sources not among ``source_images``.
    """
    if not built:
        raise ValueError("built: expected at least one new adversarial set, got none")
    boot = {"num_samples": num_samples, "seed": seed}
    positions = source_positions(next(iter(built.values()))[0].images, source_images)  # the draw, in the shared set
    sweep: dict[float, dict[str, Any]] = {}
    variants: dict[str, Variant] = {}
    for e in sweep_eps:
        if e in built:  # a new set: one stream per model
            s_set = built[e][1]
            responses: Mapping[str, ChannelResponses] = {
                m: channel_responses(model, s_set.images) for m, model in models.items()
            }
            labels, rows = s_set.labels, None
            linf = linf_distances(s_set.images, source_images[positions[s_set.source_index]])
        else:  # the shared set, restricted to the same sources
            responses, labels = adversarial, advset.labels
            rows = source_rows(advset.source_index, positions)
            linf = linf_distances(advset.images[rows], source_images[advset.source_index[rows]])
        wrong = {m: (r.predictions != labels) if rows is None else (r.predictions != labels)[rows]
                 for m, r in responses.items()}  # fmt: skip
        sweep[e] = {"n_sources": int(n_sources), "n_adversarial": len(linf), "mean_linf": float(linf.mean()),
                    "misclassified": {m: w.float().mean().item() for m, w in wrong.items()}}  # fmt: skip
        variants[f"eps={e:g}"] = Variant(f"ε = {e:g}, on {n_sources} sources", "eps", float(e), {
            m: direction_check(real[m].top_concepts(source_labels, fraction=fraction, rows=positions),
                               responses[m].top_concepts(labels, fraction=fraction, rows=rows), correlation, **boot)
            for m in models}, sweep[e])  # fmt: skip
    return sweep, variants


def sweep_table(sweep: Mapping[float, Mapping[str, Any]], models: Sequence[str]) -> str:
    """The ε sweep as markdown: per bound, the adversarial images, their mean L-inf
    distance and the share each model misclassifies.

    Raises:
        ValueError: no rows (from :func:`~advinterp_lib.tables.markdown_table`: no models).
    """
    if not sweep:
        raise ValueError("sweep: expected at least one bound, got none")
    headers = ["ε", "adversarial images", "mean L∞", *(f"misclassified by {m}" for m in models)]
    rows = [[f"{e:g}", d["n_adversarial"], f"{d['mean_linf']:.3f}", *(f"{d['misclassified'][m]:.1%}" for m in models)]
            for e, d in sweep.items()]  # fmt: skip
    return markdown_table(headers, rows)


def describe_target_concept(variants: Mapping[str, Variant], *, digits: int = 3) -> str:
    """A few sentences on the target-concept variant against Table 1: for which models
    consis_adv counted by target is higher than by source, against the consis of a
    random neuron (``variants["concept=target"].details["chance_consis_adv"]``).

    Raises:
        KeyError: ``variants`` lacks ``"table1"`` or ``"concept=target"``.
    """
    base, target = variants["table1"], variants["concept=target"]
    chance = target.details["chance_consis_adv"]
    pairs = {m: (base.checks[m].consis_adv.mean, target.checks[m].consis_adv.mean) for m in base.checks}
    up = [m for m, (by_source, by_target) in pairs.items() if by_target > by_source]
    if not up:
        return "Counted by the attack's target instead of the source, consis_adv is no higher for any model."
    return (
        f"Counted by the attack's target instead of the source, consis_adv is higher for {', '.join(up)} ("
        + "; ".join(f"{m} {_num(pairs[m][0], digits)} → {_num(pairs[m][1], digits)}" for m in up)
        + f"; a neuron with random top adversarial images would score {_num(chance['target'], digits)} by target "
        f"and {_num(chance['source'], digits)} by source, least-likely targets being unevenly spread over the classes)"
        + (
            ": a neuron's top adversarial images share their *target* well beyond chance, so the attack does put some "
            "of the target's features in — hypothesis (1) of the introduction, in part. "
            if all(pairs[m][1] > chance["target"] for m in up)
            else ". "
        )  # fmt: skip
        + (
            "Yet they stay less consistent than the top real images, for every model."
            if target.holds
            else "For some model they are no less consistent than the top real images."
        )  # fmt: skip
    )


def describe_eps_trend(variants: Mapping[str, Variant], bounds: Sequence[float], *, digits: int = 3) -> str:
    """One sentence on consis_adv over the ε sweep (``variants["eps=<ε>"]``): for which
    models it falls as ε grows, with the values; ``""`` when ``bounds`` is empty.

    Raises:
        KeyError: a bound without its variant.
    """
    if not bounds:
        return ""
    keys = [f"eps={e:g}" for e in sorted(bounds)]
    models = list(variants[keys[0]].checks)
    trend = {m: [variants[k].checks[m].consis_adv.mean for k in keys] for m in models}
    falling = [m for m, t in trend.items() if all(x > y for x, y in zip(t, t[1:], strict=False))]
    return (
        " Over the ε sweep, consis_adv "
        + (f"falls as ε grows for {', '.join(falling)}" if falling else "falls steadily with ε for no model")
        + " (ε = "
        + ", ".join(f"{e:g}" for e in sorted(bounds))
        + ": "
        + "; ".join(f"{m} " + " → ".join(_num(x, digits) for x in t) for m, t in trend.items())
        + ")."
    )
