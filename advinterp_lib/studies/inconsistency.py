"""Chapter 11 -- inconsistent representations: the chapter's steps around Table 1 that
are not the method itself.

The chapter calls the method (``consistency.concept_top_activations``,
``summarize_consistency``, the sensitivity variants and ``eps_sweep``) in its own cells;
this module holds what it does around those calls:

- :func:`attack_rate_table` and :func:`describe_perturbation`: how the adversarial set
  fares against each model, and how far it moves the pixels;
- :func:`forward_pass_seconds` and :func:`describe_streaming`: the cost of streaming the
  top activations against the forward passes alone;
- :func:`top_image_rows`: a neuron's top real and top adversarial images with their
  calibrated discrepancy maps and titles, the rows of
  :func:`~advinterp_lib.plotting.consistency.top_images_figure` (the paper's Figures 2-3);
- :func:`sweep_bounds`: the checked bounds of the ε sweep that need a new adversarial set;
- :func:`describe_run_sensitivity`: what the sensitivity variants of this run say, in prose.

Everything computes and returns; the chapter prints and displays.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..consistency import ConceptActivations
from ..consistency.evaluation import AttackRates
from ..consistency.sensitivity import (
    Variant,
    describe_eps_trend,
    describe_sensitivity,
    describe_target_concept,
    sensitivity_record,
)
from ..data import AdversarialSet, ImageSet
from ..interpret.receptive_field import calibrate_discrepancy, discrepancy_maps
from ..models.state import eval_mode, model_device
from ..tables import markdown_table
from ..validation import check_images, check_int, check_number

__all__ = [
    "attack_rate_table",
    "describe_perturbation",
    "describe_run_sensitivity",
    "describe_streaming",
    "forward_pass_seconds",
    "sweep_bounds",
    "top_image_rows",
]


def attack_rate_table(rates: AttackRates, models: Sequence[str]) -> str:
    """The chapter's first table: per model, its accuracy on the source images, the share
    of adversarial images it classifies as their target, and the share it misclassifies;
    a last row gives the targeted success of the models' average (``"ensemble"``).

    Args:
        rates: from :func:`~advinterp_lib.consistency.evaluation.attack_rates`.
        models: the models to list, in order; each a key of the three mappings.

    Returns:
        A markdown table, shares as percentages with one decimal.

    Raises:
        ValueError: no models; a model, or ``"ensemble"``, missing from ``rates``.
    """
    if not models:
        raise ValueError("models: expected at least one model, got none")
    for field in ("real_accuracy", "targeted_success", "misclassified"):
        missing = [m for m in models if m not in getattr(rates, field)]
        if missing:
            raise ValueError(f"rates.{field}: no entry for {missing}; it has {list(getattr(rates, field))}")
    if "ensemble" not in rates.targeted_success:
        raise ValueError("rates.targeted_success: expected an 'ensemble' entry (the models' average)")
    headers = ["model", "accuracy on the source images", "adversarial images classified as the target", "misclassified"]
    rows = [
        [m, f"{rates.real_accuracy[m]:.1%}", f"{rates.targeted_success[m]:.1%}", f"{rates.misclassified[m]:.1%}"]
        for m in models
    ]
    rows.append(["average of the three", "", f"{rates.targeted_success['ensemble']:.1%}", ""])
    return markdown_table(headers, rows)


def describe_perturbation(advset: AdversarialSet, linf: torch.Tensor) -> str:
    """One line: the adversarial set's size, its sources, and the mean L-inf distance of
    its images to their sources, in [0, 1] pixels and on the 0..255 scale.

    Args:
        advset: the adversarial set.
        linf: float [M], each image's L-inf distance to its source
            (``consistency.evaluation.linf_distances``), one per image of ``advset``.

    Raises:
        ValueError: ``linf`` not one value per adversarial image.
    """
    if not isinstance(linf, torch.Tensor) or linf.dim() != 1 or len(linf) != len(advset) or not len(linf):
        shape = tuple(linf.shape) if isinstance(linf, torch.Tensor) else type(linf).__name__
        raise ValueError(f"linf: expected a tensor [{len(advset)}] (one per adversarial image), got {shape}")
    mean = linf.mean()
    return (
        f"{len(advset)} adversarial images from {advset.num_sources} sources; "
        f"mean L-inf distance {mean:.3f} ({255 * mean:.0f}/255)"
    )


def forward_pass_seconds(model: nn.Module, *image_sets: torch.Tensor, batch_size: int = 256) -> float:
    """Wall-clock seconds of the model's forward passes alone over every image of
    ``image_sets``, in batches of ``batch_size`` (those of the streaming top-k): the floor
    under which streaming the top activations cannot go.

    Runs in eval mode without gradients on the model's device (each batch moved there);
    the model's mode is restored.

    Args:
        model: the network.
        image_sets: float tensors [N, C, H, W] in [0, 1], at least one.
        batch_size: images per forward pass, >= 1.

    Raises:
        ValueError/TypeError: no image set, a bad image set, ``batch_size < 1``.
    """
    if not image_sets:
        raise ValueError("image_sets: expected at least one tensor of images, got none")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    for i, images in enumerate(image_sets):
        check_images(images, f"image_sets[{i}]", model=model)
    device = model_device(model)
    start = time.perf_counter()
    with eval_mode(model), torch.no_grad():
        for images in image_sets:
            for b in range(0, len(images), batch_size):
                model(images[b : b + batch_size].to(device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # the kernels have run, not only been queued
    return time.perf_counter() - start


def describe_streaming(
    activations: Mapping[str, ConceptActivations],
    stream_seconds: Mapping[str, float],
    forward_seconds: Mapping[str, float],
) -> str:
    """Lines for the chapter: how many top images each neuron keeps (of how many
    streamed; those of the first model), then per model its layer, its neurons, and the
    time of streaming against the forward passes alone.

    Args:
        activations: ``{model: ConceptActivations}``
            (:func:`~advinterp_lib.consistency.concept_top_activations`), at least one.
        stream_seconds, forward_seconds: ``{model: seconds}`` for each model of ``activations``.

    Returns:
        The lines joined by ``\\n``.

    Raises:
        ValueError: no models; a model without both times.
    """
    if not activations:
        raise ValueError("activations: expected at least one model, got none")
    missing = [m for m in activations if m not in stream_seconds or m not in forward_seconds]
    if missing:
        raise ValueError(f"stream_seconds and forward_seconds: expected a time for every model, missing {missing}")
    first = next(iter(activations.values()))
    lines = [
        f"per neuron: top {first.real.k} of {first.real.num_images} real and top {first.adversarial.k} of "
        f"{first.adversarial.num_images} adversarial images"
    ]
    lines += [
        f"{m}: layer {a.layer!r}, {a.channels} neurons; "
        f"streaming {stream_seconds[m]:.2f} s vs forward passes alone {forward_seconds[m]:.2f} s"
        for m, a in activations.items()
    ]
    return "\n".join(lines)


def top_image_rows(
    model: nn.Module,
    activations: ConceptActivations,
    neuron: int,
    source: ImageSet,
    advset: AdversarialSet,
    *,
    n_shown: int = 8,
    patch_size: int = 5,
    stride: int = 2,
    generator: torch.Generator | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor, list[str]]]:
    """A neuron's top real and top adversarial images with their calibrated discrepancy
    maps (chapter 2: where occluding a patch of noise lowers the neuron most), as the rows
    of :func:`~advinterp_lib.plotting.consistency.top_images_figure`.

    Each row shows ``min(n_shown, k_real, k_adv)`` images, best first; a real image is
    titled by its class, an adversarial one ``source class→target class``. The maps are
    taken at the position where the neuron peaks in each image; the real row's noise is
    drawn from ``generator`` first, then the adversarial row's.

    Args:
        model: the network the top images were streamed through.
        activations: its top images (:func:`~advinterp_lib.consistency.concept_top_activations`), streamed from
            ``source.images`` and ``advset``'s images.
        neuron: a channel of the layer, in [0, channels).
        source: the real images (class names from ``source.class_names``).
        advset: the adversarial set.
        n_shown: images per row at most, >= 1.
        patch_size, stride: the occluder of
            :func:`~advinterp_lib.interpret.receptive_field.discrepancy_maps`.
        generator: the occluders' noise (``None``: torch's global generator).

    Returns:
        ``{"real": (images [n, C, H, W], maps [n, H, W] in [0, 1], n titles),
        "adversarial": (...)}``.

    Raises:
        ValueError/TypeError: ``neuron`` outside the layer; ``n_shown < 1``; top images
            that index past ``source`` or ``advset``; a bad occluder.
    """
    real, adv = activations.real, activations.adversarial
    neuron = check_int(neuron, "neuron", minimum=0, maximum=real.channels - 1)
    shown = min(check_int(n_shown, "n_shown", minimum=1), real.k, adv.k)
    real_idx, adv_idx = real.indices[neuron, :shown], activations.adversarial_positions()[neuron, :shown]
    if int(real_idx.max()) >= len(source.images) or int(adv_idx.min()) < 0 or int(adv_idx.max()) >= len(advset):
        raise ValueError(
            f"activations: top images index past the {len(source.images)} real and {len(advset)} adversarial "
            "images given: were they streamed from source.images and advset?"
        )
    names = source.class_names
    rows = {
        "real": (source.images[real_idx], real.locations[neuron, :shown],
                 [names[int(source.labels[i])] for i in real_idx]),
        # the uint8 rows converted as ``advset.images`` does, without converting the whole set
        "adversarial": (advset.images_uint8[adv_idx].to(torch.float32) / 255, adv.locations[neuron, :shown],
                        [f"{names[int(advset.labels[i])]}→{names[int(advset.targets[i])]}" for i in adv_idx]),
    }  # fmt: skip
    return {
        label: (images, calibrate_discrepancy(discrepancy_maps(
            model, images, activations.layer, neuron, locations=locations, patch_size=patch_size, stride=stride,
            generator=generator)), titles)
        for label, (images, locations, titles) in rows.items()
    }  # fmt: skip


def sweep_bounds(
    sweep_eps: Sequence[float], eps: float, *, sweep_images: int, n_images: int, dataset: str
) -> list[float]:
    """The bounds of the ε sweep that need a new adversarial set: those of ``sweep_eps``
    other than the shared set's ``eps``, in order; none when ``sweep_images`` is 0 (the
    sweep is skipped).

    Args:
        sweep_eps: the sweep's L-inf bounds, in [0, 1] pixels.
        eps: the shared set's bound.
        sweep_images: the sweep's sources (a draw among the shared set's ``n_images``);
            0 skips the sweep.
        n_images: the shared set's sources.
        dataset: the chapter's data set; the sweep builds Fashion-MNIST sets only.

    Raises:
        ValueError: a sweep on another data set than Fashion-MNIST; ``sweep_images``
            outside [1, ``n_images``]; no bound other than ``eps``; a bound outside (0, 1].
        TypeError: a bound that is not a number.
    """
    if sweep_images and dataset != "fashion-mnist":
        raise ValueError("the ε sweep builds Fashion-MNIST adversarial sets: set sweep_images = 0 for another data set")
    if not sweep_images:
        return []
    if not 0 < sweep_images <= n_images or all(e == eps for e in sweep_eps):
        raise ValueError(
            f"sweep_images must be in [1, n_images = {n_images}] and sweep_eps hold a bound other than "
            f"eps = {eps}; got {sweep_images} and {sweep_eps}"
        )
    for e in sweep_eps:
        check_number(e, "each bound of sweep_eps", minimum=0, maximum=1, strict_minimum=True)
    return [e for e in sweep_eps if e != eps]


def describe_run_sensitivity(variants: Mapping[str, Variant], bounds: Sequence[float], *, profile: str) -> str:
    """This run's sensitivity of Table 1, in prose: where the direction consis_adv <
    consis survives the variants, what counting an adversarial image under its target
    changes, and how the gap moves with the attack's bound.

    Args:
        variants: ``{key: Variant}`` as ``consistency.sensitivity.lookup_variants``,
            ``response_variants`` and ``eps_sweep`` give them (``"table1"`` and
            ``"concept=target"`` among them, and ``"eps=<ε>"`` for each bound).
        bounds: the ε of the sweep's rows (empty without a sweep).
        profile: the run's profile, named in the text.

    Returns:
        Markdown: ``**In this run** (`profile` profile): ...``.

    Raises:
        TypeError/ValueError: no variants, or variants with different models (from
            :func:`~advinterp_lib.consistency.sensitivity.sensitivity_record`).
        KeyError: no ``"table1"`` or ``"concept=target"`` variant, or a bound without its variant.
    """
    record = sensitivity_record(variants)
    return (
        f"**In this run** (`{profile}` profile): {describe_sensitivity(record)} "
        f"{describe_target_concept(variants)}{describe_eps_trend(variants, list(bounds))}"
    )
