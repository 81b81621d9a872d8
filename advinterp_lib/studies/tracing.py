"""Chapter 13 -- tracing decisions to neurons, the bookkeeping around the method.

The method itself (:func:`~advinterp_lib.consistency.tracing.neuron_influence`, neuron
removal, :func:`~advinterp_lib.consistency.tracing.restoration`) lives in
:mod:`advinterp_lib.consistency.tracing` and the chapter calls it; this module picks the
cases the chapter traces, traces them, and turns the results into its tables and
sentences:

- :func:`agreement_table`: how far the two influence measures agree, per model;
- :func:`removal_text`: what removing neurons did, in this run and in the committed full run;
- :func:`neuron_consistency`: each neuron's top images and its consis / consis_adv;
- :func:`first_cases`, :func:`fooling_images`, :func:`trace_cases`, :func:`case_record`,
  :func:`cases_table`: a correct decision, an error and an adversarial decision, traced
  to the neurons that support them, and what those neurons' top images show;
- :func:`adversarial_removal`: neurons removed from adversarial images that fool the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..consistency import concept_distribution, concept_top_activations, consistency_scores
from ..consistency.tracing import (
    NeuronInfluence,
    describe_removal,
    neuron_influence,
    random_orders,
    rank_agreement,
    restoration,
    trace_adversarial,
    traced_neurons,
)
from ..data import AdversarialSet, ImageSet
from ..tables import markdown_table
from ..training import predict


def agreement_table(summary: Mapping[str, Mapping[str, float]], *, top_k: int) -> str:
    """Markdown: per model, the agreement of prediction difference and gradient ×
    activation (:func:`~advinterp_lib.consistency.tracing.agreement_summary` plus the
    ``seconds`` the influence took)."""
    rows = [
        [
            name,
            f"{s['spearman_mean']:.3f}",
            f"{s['kendall_mean']:.3f}",
            f"{s['top_k_overlap_mean']:.2f}",
            f"{s['same_top_neuron']:.0%}",
            f"{s['max_abs_gap']:.2g}",
            f"{s['seconds']:.1f}",
        ]
        for name, s in summary.items()
    ]
    return markdown_table(
        ["model", "Spearman ρ", "Kendall τ", f"top-{top_k} overlap", "same top neuron", "max |PD − GxA|", "seconds"],
        rows,
    )


def removal_text(
    curves: Mapping[str, torch.Tensor],
    flipped: Mapping[str, torch.Tensor],
    *,
    top_k: int,
    neurons: int,
    profile: str,
    n_images: int,
    arch: str,
    full: Mapping[str, Any] | None,
    missing: str,
) -> str:
    """Markdown: :func:`~advinterp_lib.consistency.tracing.describe_removal` of this run
    and, below it, of the committed full-profile record ``full`` (a results record), or
    ``missing`` where there is none."""
    this_run = describe_removal(
        {k: v.tolist() for k, v in curves.items()},
        {k: v.tolist() for k, v in flipped.items()},
        top_k=top_k,
        neurons=neurons,
    )
    if full is None:
        full_text = missing
    else:
        n = full["numbers"]
        full_text = f"**In the committed `full` run** ({n['n_agreement']:,} test images, {n['explain_arch']}): " + (
            describe_removal(n["ablation_curve"], n["flipped_share"], top_k=n["top_k"], neurons=n.get("num_neurons"))
        )
    return f"**In this run** (`{profile}` profile, {n_images:,} test images, {arch}): {this_run}\n\n{full_text}"


@dataclass(frozen=True, eq=False)
class NeuronConsistency:
    """Each neuron of a model's last conv layer: its top real images and its consistency.

    Attributes:
        top: int64 [C, k], each neuron's top real images (indices into the source images).
        consis: float [C] on real images; consis_adv: float [C] on adversarial images.
    """

    top: torch.Tensor
    consis: torch.Tensor
    consis_adv: torch.Tensor


def neuron_consistency(
    model: nn.Module, source: ImageSet, advset: AdversarialSet, correlation: torch.Tensor, *, fraction: float
) -> NeuronConsistency:
    """:func:`~advinterp_lib.consistency.concept_top_activations` of ``model`` on the
    source and adversarial images, and each neuron's consis and consis_adv under the
    concept correlation ``correlation`` (A, [K, K]; K concepts)."""
    k = int(correlation.shape[0])
    acts = concept_top_activations(
        model, source.images, source.labels, advset.images, advset.labels, num_concepts=k, fraction=fraction
    )
    return NeuronConsistency(
        top=acts.real.indices,
        consis=consistency_scores(concept_distribution(acts.real_concepts, k), correlation),
        consis_adv=consistency_scores(concept_distribution(acts.adversarial_concepts, k), correlation),
    )


def first_cases(predictions: Mapping[str, torch.Tensor], labels: torch.Tensor) -> dict[str, int]:
    """The images the chapter traces: ``"correct"``, the first every model classifies
    correctly; ``"error"``, the first the ``"standard"`` model gets wrong.

    Args:
        predictions: ``{model: int64 [N] predicted classes}``, with a ``"standard"`` entry.
        labels: int64 [N], the true classes.

    Raises:
        ValueError: no ``"standard"`` entry; no such image.
    """
    if "standard" not in predictions:
        raise ValueError(f"predictions: expected a 'standard' entry, got {list(predictions)}")
    all_correct = torch.stack([p == labels for p in predictions.values()]).all(0)
    wrong = predictions["standard"] != labels
    if not all_correct.any() or not wrong.any():
        raise ValueError("no image that every model classifies correctly, or none the standard model gets wrong")
    return {"correct": int(all_correct.nonzero()[0]), "error": int(wrong.nonzero()[0])}


def fooling_images(model: nn.Module, source: ImageSet, advset: AdversarialSet) -> tuple[torch.Tensor, torch.Tensor]:
    """``(fooled, predicted)``: bool [M], the adversarial images ``model`` misclassifies
    whose source image it classifies correctly, and int64 [M] its predictions on them
    (in batches: the set may hold 90,000 images)."""
    predicted = predict(model, advset.images).argmax(1)
    on_sources = predict(model, source.images).argmax(1)
    fooled = (predicted != advset.labels) & (on_sources[advset.source_index] == advset.labels)
    return fooled, predicted


def trace_cases(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    picks: Mapping[str, int],
    x_adv: torch.Tensor,
    y_adv: torch.Tensor,
) -> dict[str, tuple[torch.Tensor, int, NeuronInfluence]]:
    """``{case: (image, true class, influence)}``: the model's own decision on each picked
    image (``picks``: ``{case: index into images}``), and, as ``"adversarial"``, the
    adversarial decision on ``x_adv`` [1, C, H, W] (its class against the true one
    ``y_adv`` [1]; the true class itself when the model is not fooled), in the layout
    :func:`~advinterp_lib.plotting.concepts.trace_figure` draws."""
    cases = {case: (images[i], int(labels[i]), neuron_influence(model, images[i : i + 1])) for case, i in picks.items()}
    cases["adversarial"] = (x_adv[0], int(y_adv), trace_adversarial(model, x_adv, y_adv))
    return cases


def case_record(
    influence: NeuronInfluence,
    true_class: int,
    neurons: NeuronConsistency,
    image_labels: torch.Tensor,
    names: Sequence[str],
    *,
    k: int,
) -> dict[str, Any]:
    """A traced case for the results JSON: the true and predicted class names and what the
    ``k`` most supporting neurons stand for
    (:func:`~advinterp_lib.consistency.tracing.traced_neurons`)."""
    return {
        "true": names[true_class],
        "predicted": names[int(influence.prediction[0])],
        **traced_neurons(influence, neurons.top, image_labels, neurons.consis, neurons.consis_adv, k=k),
    }


def cases_table(
    cases: Mapping[tuple[str, str], tuple[torch.Tensor, int, NeuronInfluence]],
    records: Mapping[str, Mapping[str, Any]],
    model_names: Mapping[str, str],
    names: Sequence[str],
    *,
    top_k: int,
) -> str:
    """Markdown, one row per traced case: ``cases`` keyed ``(variant, case)``, ``records``
    (:func:`case_record`) keyed ``"variant/case"``, ``model_names`` the variants as shown."""
    rows = []
    for (v, case), (_, _, inf) in cases.items():
        c = records[f"{v}/{case}"]
        what = names[int(inf.target[0])] + (f" − {names[int(inf.contrast[0])]}" if inf.contrast is not None else "")
        rows.append([model_names[v], case, c["true"], c["predicted"], what, f"{c['class_share']:.0%}",
                     f"{c['consis']:.2f}", f"{c['consis_adv']:.2f}"])  # fmt: skip
    header = ["model", "case", "true", "predicted", "traced score",
              f"share of the top-{top_k} neurons' top images showing the traced class", "their consis",
              "their consis_adv"]  # fmt: skip
    return markdown_table(header, rows)


@dataclass(frozen=True, eq=False)
class AdversarialRemoval:
    """Neurons removed from adversarial images, most influential first and at random
    (:func:`adversarial_removal`).

    Attributes:
        n_images: the adversarial images.
        restored_share: float [steps + 1], the share classified correctly again after j
            removals in the order of their influence on the adversarial margin.
        restored_random: the same in random order.
        single_flip: the share whose class changes when one single neuron is removed.
        agreement: :meth:`~advinterp_lib.consistency.tracing.RankAgreement.summary` of the
            two influence measures on these images.
    """

    n_images: int
    restored_share: torch.Tensor
    restored_random: torch.Tensor
    single_flip: float
    agreement: dict[str, float]

    def record(self) -> dict[str, Any]:
        """The results JSON's share of it."""
        return {
            "n_images": self.n_images,
            "restored_share": self.restored_share.tolist(),
            "restored_share_random": self.restored_random.tolist(),
            "single_neuron_flip_share": self.single_flip,
            "agreement": self.agreement,
        }


def adversarial_removal(
    model: nn.Module,
    images: torch.Tensor,
    adversarial_class: torch.Tensor,
    true_class: torch.Tensor,
    *,
    steps: int,
    generator: torch.Generator,
    top_k: int,
    batch_size: int = 50,
) -> AdversarialRemoval:
    """Trace each adversarial image's margin (its adversarial class over its true class)
    to the neurons, remove them most influential first and in a random order drawn from
    ``generator``, and watch the true class return.

    Args:
        model: the classifier the images fool.
        images: float [N, C, H, W] in [0, 1]; adversarial_class, true_class: int64 [N].
        steps: neurons removed at most; top_k: the overlap size of the agreement.
        generator: draws the random orders (consumed after the influence is computed).

    Raises:
        as :func:`~advinterp_lib.consistency.tracing.neuron_influence` and
        :func:`~advinterp_lib.consistency.tracing.restoration`.
    """
    influence = neuron_influence(model, images, adversarial_class, contrast=true_class, batch_size=batch_size)
    ranked = restoration(
        model, images, influence.ranking(), adversarial_class, true_class, steps=steps, batch_size=batch_size
    )
    orders = random_orders(len(images), influence.num_neurons, generator)
    randomly = restoration(model, images, orders, adversarial_class, true_class, steps=steps, batch_size=batch_size)
    return AdversarialRemoval(
        n_images=len(images),
        restored_share=ranked.share,
        restored_random=randomly.share,
        single_flip=influence.flips.any(1).float().mean().item(),
        agreement=rank_agreement(influence.prediction_difference, influence.gradient_x_activation, k=top_k).summary(),
    )
