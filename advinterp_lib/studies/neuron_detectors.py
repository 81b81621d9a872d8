"""Chapter 2 -- what a neuron detects: the bookkeeping around top images and receptive fields.

The chapter calls the methods itself (:func:`~advinterp_lib.interpret.topk.top_activating_images`,
:func:`~advinterp_lib.interpret.topk.class_frequencies`,
:func:`~advinterp_lib.interpret.receptive_field.layer_receptive_field`,
:func:`~advinterp_lib.interpret.receptive_field.empirical_receptive_field`) and shows its
from-scratch check of the streamed top-k; this module holds what it does around those calls:

- :func:`top_images_table`, :func:`streamed_state_bytes` and :func:`memory_text`: each
  model's streamed top-k state, and what it saves against the full activation table;
- :func:`dead_counts` and :func:`both_ends`: the dead neurons, and which of the chosen
  neurons the figures show;
- :func:`gradient_agreement` and :func:`fields_table`: the theoretical receptive fields,
  a geometry walk checked against the gradient's support;
- :func:`strongest_channels` and :func:`top_patch_rows`: a mid layer's maximally
  activating patches, one row per channel;
- :func:`mean_width`, :func:`width_record` and :func:`widths_table`: the empirical
  receptive fields of the chosen units against the theoretical ones;
- :func:`hit_titles`: the titles of a neuron's top images; :func:`agreement_record`: the
  gradient checks as the chapter's results record them.

Everything computes and returns; the chapter prints, displays and draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..interpret.receptive_field import (
    EmpiricalReceptiveField,
    FieldAgreement,
    ReceptiveField,
    field_agreement,
    gradient_receptive_field,
    layer_receptive_field,
)
from ..interpret.topk import TopActivations, top_activating_images, top_patches
from ..tables import markdown_table
from ..validation import check_int

__all__ = [
    "TopPatchRows",
    "agreement_record",
    "both_ends",
    "dead_counts",
    "fields_table",
    "gradient_agreement",
    "hit_titles",
    "mean_width",
    "memory_text",
    "streamed_state_bytes",
    "strongest_channels",
    "top_images_table",
    "top_patch_rows",
    "width_record",
    "widths_table",
]

#: The paper streams 500,000 images; the memory sentence compares with that scale.
PAPER_IMAGES = 500_000


# ----------------------------------------------------------------- top images, streamed


def top_images_table(tops: Mapping[str, TopActivations]) -> str:
    """Markdown: per model, the layer streamed, its neurons, its feature map and how many
    top images each neuron keeps (of how many streamed).

    Args:
        tops: ``{model name: its last conv layer's top activations}``.
    """
    return markdown_table(
        ["model", "last conv layer", "neurons", "feature map", "top images per neuron"],
        [
            [a, f"`{t.layer}`", t.channels, f"{t.feature_size[0]}×{t.feature_size[1]}", f"{t.k} of {t.num_images}"]
            for a, t in tops.items()
        ],
    )


def streamed_state_bytes(top: TopActivations) -> int:
    """Bytes of the streamed top-k state: per neuron and hit a value (float32), an image
    index (int64) and a (row, col) location (2 x int64), whatever the number of images."""
    return sum(t.element_size() * t.numel() for t in (top.values, top.indices, top.locations))


def memory_text(num_images: int, channels: int, k: int, state_bytes: int, *, paper_images: int = PAPER_IMAGES) -> str:
    """One sentence: the full float32 activation table (``num_images`` x ``channels``) in MB,
    the same for the paper's ``paper_images``, and the streamed top-``k`` state's
    ``state_bytes`` (:func:`streamed_state_bytes`), which no number of images changes.

    Raises:
        ValueError: ``num_images``, ``channels``, ``k`` or ``paper_images`` below 1, or
            ``state_bytes`` below 0.
    """
    for value, name in ((num_images, "num_images"), (channels, "channels"), (k, "k"), (paper_images, "paper_images")):
        check_int(value, name, minimum=1)
    check_int(state_bytes, "state_bytes", minimum=0)
    return (
        f"the full table for all {num_images} images would take {num_images * channels * 4 / 1e6:.2f} MB "
        f"(the paper's {paper_images:,}: {paper_images * channels * 4 / 1e6:.0f} MB); "
        f"the streamed top-{k} state takes {state_bytes / 1e6:.2f} MB for any number of images"
    )


# --------------------------------------------------------------- which neurons to look at


def dead_counts(live: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """``{model: how many of its neurons are dead}``, from each model's bool [C] mask of
    live neurons (:func:`~advinterp_lib.interpret.topk.live_channels`).

    Raises:
        ValueError: a mask that is not a 1-D bool tensor.
    """
    for name, mask in live.items():
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 1:
            raise ValueError(f"live[{name!r}] must be a 1-D bool tensor, got {getattr(mask, 'shape', mask)!r}")
    return {name: int((~mask).sum()) for name, mask in live.items()}


def both_ends(channels: Sequence[int], count: int) -> list[int]:
    """The first ``count // 2`` and the last ``count - count // 2`` of ``channels``: of
    neurons ordered from the purest to the least pure, the two ends.

    Raises:
        ValueError: ``count`` below 1 or above ``len(channels)``.
    """
    check_int(count, "count", minimum=1, maximum=len(channels))
    half = count // 2
    return list(channels[:half]) + list(channels[len(channels) - (count - half) :])


# ------------------------------------------------------------------ theoretical fields


def gradient_agreement(
    model: nn.Module,
    layer: str,
    field: ReceptiveField,
    feature_size: tuple[int, int],
    *,
    image_shape: tuple[int, int, int] = (1, 28, 28),
    samples: int = 32,
) -> FieldAgreement:
    """Check a geometry walk against autograd, at the central unit of ``layer``'s
    ``feature_size`` feature map: :func:`~advinterp_lib.interpret.receptive_field.field_agreement`
    of the unit's gradient support over ``samples`` random images of ``image_shape``
    (:func:`~advinterp_lib.interpret.receptive_field.gradient_receptive_field`) and its
    geometric box ``field.mask``.

    Raises:
        ValueError: a feature size below 1 x 1; as ``gradient_receptive_field``.
    """
    h, w = (check_int(s, "feature_size", minimum=1) for s in feature_size)
    u, v = h // 2, w // 2
    mask = gradient_receptive_field(model, layer, (u, v), image_shape, samples=samples)
    return field_agreement(mask, field.mask(u, v, (image_shape[1], image_shape[2])))


def fields_table(layers: Mapping[str, str], fields: Mapping[str, ReceptiveField], how: Mapping[str, str]) -> str:
    """Markdown: per model (in the order of ``fields``), its layer, the field's size
    ``R``, stride ``J`` and padding ``P`` (rows), and how they were found (``how``, as
    :func:`~advinterp_lib.interpret.receptive_field.layer_receptive_field` says).

    Raises:
        ValueError: a model of ``fields`` missing from ``layers`` or ``how``.
    """
    missing = [a for a in fields if a not in layers or a not in how]
    if missing:
        raise ValueError(f"layers and how must name every model of fields; missing for {missing}")
    return markdown_table(
        ["model", "layer", "size $R$", "stride $J$", "padding $P$", "by"],
        [[a, f"`{layers[a]}`", f.size[0], f.stride[0], f.padding[0], how[a]] for a, f in fields.items()],
    )


def agreement_record(checks: Mapping[str, FieldAgreement]) -> dict[str, dict[str, object]]:
    """``{model: {"outside", "coverage", "same_extent"}}``: the gradient checks as a
    results JSON records them."""
    return {name: dataclasses.asdict(check) for name, check in checks.items()}


# ------------------------------------------------------------------ mid-layer patches


def strongest_channels(top: TopActivations, count: int) -> list[int]:
    """The ``count`` channels with the largest best response (``top.values[:, 0]``),
    strongest first.

    Raises:
        ValueError: ``count`` below 1 or above the number of channels.
    """
    check_int(count, "count", minimum=1, maximum=top.channels)
    return top.values[:, 0].argsort(descending=True)[:count].tolist()


@dataclass(frozen=True, eq=False)
class TopPatchRows:
    """A layer's maximally activating patches, one row per channel.

    Attributes:
        layer: the layer's name.
        field: its units' receptive field (the size of every patch).
        channels: the channels shown, strongest first.
        patches: [len(channels) * k, C, R_h, R_w], row after row, best hit first.
    """

    layer: str
    field: ReceptiveField
    channels: list[int]
    patches: torch.Tensor


def top_patch_rows(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    *,
    k: int,
    channels: int = 3,
    fill: float = 0.5,
    batch_size: int = 500,
) -> TopPatchRows:
    """Stream ``images`` [N, C, H, W] through ``model``, keep each channel of ``layer``'s
    top ``k`` (:func:`~advinterp_lib.interpret.topk.top_activating_images`), and crop the
    receptive-field patches (:func:`~advinterp_lib.interpret.topk.top_patches`, padding
    with ``fill``) of its ``channels`` strongest channels (:func:`strongest_channels`).

    Raises:
        ValueError: ``images`` not 4-D; as the functions it calls; ``channels`` above
            the layer's channels.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a tensor [N, C, H, W], got {getattr(images, 'shape', type(images).__name__)}")
    depth, height, width = images.shape[1:]
    field, _ = layer_receptive_field(model, layer, (depth, height, width))
    top = top_activating_images(model, images, layer, k=k, batch_size=batch_size)
    best = strongest_channels(top, channels)
    patches = torch.cat([top_patches(images, top, c, field, fill=fill) for c in best])
    return TopPatchRows(layer=layer, field=field, channels=best, patches=patches)


# ------------------------------------------------------------------- empirical fields


def mean_width(erfs: Mapping[int, EmpiricalReceptiveField]) -> float:
    """The mean empirical width (px) over the units of ``erfs`` (``{channel: field}``).

    Raises:
        ValueError: no unit.
    """
    if not erfs:
        raise ValueError("erfs is empty: no unit to average")
    return float(np.mean([e.width for e in erfs.values()]))


def width_record(erfs: Mapping[int, EmpiricalReceptiveField]) -> dict[str, float]:
    """``{str(channel): width}``: each unit's empirical width as a results JSON records it."""
    return {str(c): float(e.width) for c, e in erfs.items()}


def widths_table(theoretical: Mapping[str, int], erfs: Mapping[str, Mapping[int, EmpiricalReceptiveField]]) -> str:
    """Markdown: per model (in the order of ``theoretical``), the theoretical size ``R``,
    the empirical width averaged over its units (:func:`mean_width`, each unit's width
    beside it) and their ratio.

    Raises:
        ValueError: a model without empirical fields; as :func:`mean_width`.
    """
    missing = [a for a in theoretical if a not in erfs]
    if missing:
        raise ValueError(f"erfs must hold every model of theoretical; missing {missing}")
    rows = []
    for a, r in theoretical.items():
        width = mean_width(erfs[a])
        units = ", ".join(f"{e.width:.0f}" for e in erfs[a].values())
        rows.append([a, r, f"{width:.1f} (units: {units})", f"{width / r:.2f}"])
    return markdown_table(["model", "theoretical $R$ (px)", "empirical width (px), mean over units", "ratio"], rows)


def hit_titles(class_names: Sequence[str], labels: torch.Tensor, values: torch.Tensor | None = None) -> list[str]:
    """A title per image: its class name, and under it its activation (one decimal)
    where ``values`` are given.

    Args:
        class_names: the name of every class.
        labels: int [n], the images' classes.
        values: float [n], the neuron's response to each image, or None.

    Raises:
        ValueError: ``values`` of another length than ``labels``; a label outside ``class_names``.
    """
    ids = [int(y) for y in labels]
    if any(not 0 <= y < len(class_names) for y in ids):
        raise ValueError(f"labels must lie in [0, {len(class_names)}), got {ids}")
    if values is None:
        return [class_names[y] for y in ids]
    if len(values) != len(ids):
        raise ValueError(f"values must have one entry per label ({len(ids)}), got {len(values)}")
    return [f"{class_names[y]}\n{v:.1f}" for y, v in zip(ids, values.tolist(), strict=True)]
