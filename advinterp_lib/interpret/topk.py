"""Top-activating images and patches: what makes each channel of a layer fire.

For every channel of a layer, :func:`top_activating_images` streams a data set
through the model once and keeps the ``k`` images with the largest response (the
channel's spatial maximum, or its mean), with the position of the maximum in the
feature map. Memory is O(channels x k), not O(images), as in NetDissect's streamed
top quantiles: after each batch the batch's candidates are merged with the running
top-k and everything else is dropped, so it runs over 500K images as well as 10K.

:func:`top_patches` crops, for each hit, the input patch the unit at the argmax
position can see (its receptive field): Zeiler & Fergus' "maximally activating
patches". The paper's "x activates n" is "x is in the top 1% of images for n":
:func:`top_count` turns a fraction into k, and :func:`merge_top_activations` joins
the results of several sources (real and adversarial images, chapter 11).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..models.layers import capture_activations
from ..models.layers import layer as _layer
from ..models.state import eval_mode, model_device
from ..validation import check_images
from .receptive_field import ReceptiveField

__all__ = [
    "TopActivations",
    "RunningTopK",
    "top_count",
    "top_activating_images",
    "merge_top_activations",
    "top_patches",
    "class_frequencies",
    "live_channels",
    "spread_by_purity",
]

REDUCTIONS = ("max", "mean")


def top_count(num_images: int, fraction: float) -> int:
    """How many images are the top ``fraction`` of ``num_images``: ``ceil(fraction N)``,
    at least 1 (top 1% of 50,000 is 500).

    Raises:
        ValueError: ``fraction`` not in (0, 1] or ``num_images < 1``.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1, got {num_images}")
    # the small tolerance keeps 0.07 * 100 (7.000000000000001) at 7
    return max(1, min(num_images, math.ceil(fraction * num_images - 1e-9)))


@dataclass(frozen=True, eq=False)
class TopActivations:
    """The top-k images of every channel of a layer.

    Attributes:
        values: [C, k] float32, each row in descending order: the channel's response
            (spatial max or mean) to its k best images.
        indices: [C, k] int64 data set indices of those images (plus the ``offset``
            given when streaming).
        locations: [C, k, 2] int64 (row, col) of the channel's maximum in each image's
            feature map (also for ``reduction="mean"``: where the channel peaks).
        layer: the layer name.
        reduction: ``"max"`` or ``"mean"``.
        num_images: how many images were streamed.
        feature_size: (h, w) of the layer's feature map.

    Ties are broken in favour of the earlier image (a stable sort), so the result
    equals a full stable sort of the whole activation table.
    """

    values: torch.Tensor
    indices: torch.Tensor
    locations: torch.Tensor
    layer: str
    reduction: str
    num_images: int
    feature_size: tuple[int, int]

    @property
    def k(self) -> int:
        return self.values.shape[1]

    @property
    def channels(self) -> int:
        return self.values.shape[0]


class RunningTopK:
    """A running top-k per channel, updated batch by batch; its state is three tensors
    of C x k entries whatever the number of images seen.

    ``update(values [B, C], locations [B, C, 2], indices [B])`` merges a batch;
    ``values``/``indices``/``locations`` hold the current top-k ([C, k'], k' <= k).
    """

    def __init__(self, channels: int, k: int) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.values = torch.empty(channels, 0)
        self.indices = torch.empty(channels, 0, dtype=torch.long)
        self.locations = torch.empty(channels, 0, 2, dtype=torch.long)
        self.seen = 0

    def update(self, values: torch.Tensor, locations: torch.Tensor, indices: torch.Tensor) -> None:
        b = values.shape[0]
        cand_v = torch.cat([self.values, values.t().to(self.values)], dim=1)
        cand_i = torch.cat([self.indices, indices.to(self.indices)[None].expand(values.shape[1], b)], dim=1)
        cand_l = torch.cat([self.locations, locations.transpose(0, 1).to(self.locations)], dim=1)
        # a stable sort keeps earlier images first among equal values (ReLU zeros tie often)
        order = torch.sort(cand_v, dim=1, descending=True, stable=True).indices[:, : self.k]
        self.values = cand_v.gather(1, order)
        self.indices = cand_i.gather(1, order)
        self.locations = cand_l.gather(1, order[:, :, None].expand(-1, -1, 2))
        self.seen += b

    @property
    def nbytes(self) -> int:
        """Bytes held by the state (independent of the number of images seen)."""
        return sum(t.element_size() * t.numel() for t in (self.values, self.indices, self.locations))


def _channel_responses(fmap: torch.Tensor, reduction: str) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, C, h, w] -> (responses [B, C], argmax locations [B, C, 2] as (row, col))."""
    flat = fmap.flatten(2)
    peak, pos = flat.max(dim=2)  # first maximum on ties
    value = peak if reduction == "max" else flat.mean(dim=2)
    w = fmap.shape[3]
    return value, torch.stack([pos // w, pos % w], dim=2)


def _batches(images: torch.Tensor | Iterable, batch_size: int) -> Iterable[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size]
        return
    for batch in images:
        if isinstance(batch, (tuple, list)):  # (images, labels) from a DataLoader
            batch = batch[0]
        yield batch


@torch.no_grad()
def top_activating_images(
    model: nn.Module,
    images: torch.Tensor | Iterable,
    layer: str,
    *,
    k: int | None = None,
    fraction: float | None = None,
    num_images: int | None = None,
    reduction: str = "max",
    offset: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> TopActivations:
    """Stream ``images`` through ``model`` once; keep each channel's top-k images.

    Args:
        model: any network; ``layer`` a ``named_modules()`` name whose output is a
            feature map [B, C, h, w].
        images: a tensor [N, C, H, W] in [0, 1] (cut into batches of ``batch_size``),
            or an iterable of such batches (a DataLoader; ``(images, labels)`` batches
            are accepted, labels ignored). Each batch is checked (shape, range).
        k: how many images per channel; or
        fraction: the top fraction of the data set, in (0, 1] (``k = top_count(N,
            fraction)``); N is known for a tensor or a DataLoader, otherwise pass
            ``num_images``. Give exactly one of ``k`` and ``fraction``.
        reduction: ``"max"`` (default, as NetDissect) or ``"mean"`` over positions.
        offset: added to every image index (stream a second source with
            ``offset=len(first)`` and :func:`merge_top_activations` the results).
        progress: show a tqdm progress bar.

    Returns:
        :class:`TopActivations` on the CPU. The model's train/eval mode is restored
        and no hooks remain, also after an error.

    Raises:
        ValueError/TypeError: unknown layer (listing valid names); both or neither of
            ``k``/``fraction``; ``k < 1``; ``fraction`` outside (0, 1]; an unknown
            reduction; bad images; a non-4-D layer output; fewer images than ``k``.
    """
    k, total = _check_arguments(model, images, layer, k, fraction, num_images, reduction, batch_size)
    device = model_device(model)
    batches = _batches(images, batch_size)
    if progress:
        from tqdm.auto import tqdm

        # total is the tensor's length (an int) when images is a tensor
        n_batches = math.ceil(cast(int, total) / batch_size) if isinstance(images, torch.Tensor) else None
        batches = tqdm(batches, total=n_batches, desc=f"top-{k} of {layer}")
    running, feature_size = _stream(model, images, batches, layer, k, reduction, offset, device)
    if running is None:
        raise ValueError("images is empty: nothing was streamed")
    if running.seen < k:
        raise ValueError(f"k={k} exceeds the number of images streamed ({running.seen})")
    return TopActivations(
        values=running.values,
        indices=running.indices,
        locations=running.locations,
        layer=layer,
        reduction=reduction,
        num_images=running.seen,
        feature_size=feature_size,
    )


def _check_arguments(
    model: nn.Module,
    images: torch.Tensor | Iterable,
    layer: str,
    k: int | None,
    fraction: float | None,
    num_images: int | None,
    reduction: str,
    batch_size: int,
) -> tuple[int, int | None]:
    """Refuse :func:`top_activating_images`' bad arguments; return (k, the data set size or None when unknown)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if (k is None) == (fraction is None):
        raise ValueError(f"give exactly one of k and fraction, got k={k!r}, fraction={fraction!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    _layer(model, layer)  # a wrong name raises before any work, listing valid names
    total: int | None
    if isinstance(images, torch.Tensor):
        check_images(images, "images", model=model)
        total = len(images)
    else:
        total = num_images if num_images is not None else _dataset_length(images)
    if fraction is not None:
        if total is None:
            raise ValueError("fraction needs the data set size: pass num_images= (or k=) for a plain iterable")
        k = top_count(total, fraction)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if total is not None and k > total:
        raise ValueError(f"k={k} exceeds the number of images ({total})")
    return k, total


def _stream(
    model: nn.Module,
    images: torch.Tensor | Iterable,
    batches: Iterable[torch.Tensor],
    layer: str,
    k: int,
    reduction: str,
    offset: int,
    device: torch.device,
) -> tuple[RunningTopK | None, tuple[int, int]]:
    """Stream ``batches`` through ``model`` in eval mode: (``layer``'s running top-k or None, its feature size)."""
    running: RunningTopK | None = None
    feature_size: tuple[int, int] = (0, 0)
    with eval_mode(model), capture_activations(model, [layer]) as acts:
        for batch in batches:
            if not isinstance(images, torch.Tensor):
                check_images(batch, "images batch", model=model)
            model(batch.to(device))
            fmap = acts.pop(layer)  # drop the reference: nothing outlives the batch
            if fmap.dim() != 4:
                raise ValueError(
                    f"layer {layer!r} gives a {fmap.dim()}-D output of shape {tuple(fmap.shape)}, not a feature map"
                )
            values, locations = _channel_responses(fmap, reduction)
            if running is None:
                running = RunningTopK(fmap.shape[1], k)
                feature_size = (fmap.shape[2], fmap.shape[3])
            start = offset + running.seen
            running.update(values.float().cpu(), locations.cpu(), torch.arange(start, start + len(batch)))
    return running, feature_size


def _dataset_length(images: Iterable) -> int | None:
    dataset = getattr(images, "dataset", None)
    try:
        return len(dataset) if dataset is not None else None
    except TypeError:
        return None


def merge_top_activations(*results: TopActivations, k: int | None = None) -> TopActivations:
    """The top-k of the union of several results (e.g. real images and adversarial
    images streamed with disjoint ``offset``\\ s). ``k`` defaults to the first result's
    k; earlier results win ties.

    Raises:
        ValueError: no results, or results of different layers, reductions, channel
            counts or feature sizes; ``k`` larger than the images available.
    """
    if not results:
        raise ValueError("merge_top_activations needs at least one result")
    first = results[0]
    for r in results[1:]:
        if (r.layer, r.reduction, r.channels, r.feature_size) != (
            first.layer,
            first.reduction,
            first.channels,
            first.feature_size,
        ):
            raise ValueError(
                "results must share layer, reduction, channels and feature size, got "
                f"{(first.layer, first.reduction, first.channels, first.feature_size)} and "
                f"{(r.layer, r.reduction, r.channels, r.feature_size)}"
            )
    k = first.k if k is None else k
    available = sum(r.k for r in results)
    if not 1 <= k <= available:
        raise ValueError(f"k must be in [1, {available}] (the hits available), got {k}")
    running = RunningTopK(first.channels, k)
    for r in results:  # each result's rows are sorted, so merging them is exact
        running.values = torch.cat([running.values, r.values], dim=1)
        running.indices = torch.cat([running.indices, r.indices], dim=1)
        running.locations = torch.cat([running.locations, r.locations], dim=1)
    order = torch.sort(running.values, dim=1, descending=True, stable=True).indices[:, :k]
    return TopActivations(
        values=running.values.gather(1, order),
        indices=running.indices.gather(1, order),
        locations=running.locations.gather(1, order[:, :, None].expand(-1, -1, 2)),
        layer=first.layer,
        reduction=first.reduction,
        num_images=sum(r.num_images for r in results),
        feature_size=first.feature_size,
    )


def top_patches(
    images: torch.Tensor,
    top: TopActivations,
    channel: int,
    field: ReceptiveField,
    *,
    fill: float = 0.0,
    offset: int = 0,
) -> torch.Tensor:
    """The receptive-field patches of ``channel``'s top-k hits ("maximally activating
    patches").

    For hit ``r`` (image ``top.indices[channel, r] - offset`` of ``images``, unit at
    ``top.locations[channel, r]``) the input box ``field.box(i, j)`` is cropped; the
    parts of the box outside the image are filled with ``fill``.

    Args:
        images: the streamed data set [N, C, H, W] (indexed by ``top.indices - offset``).
        field: the layer's geometry (:func:`theoretical_receptive_field`).
    Returns:
        [k, C, R_h, R_w] patches, best hit first.
    Raises:
        ValueError: channel out of range; an index outside ``images``; ``field`` of
            another layer.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a tensor [N, C, H, W], got {getattr(images, 'shape', type(images).__name__)}")
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < top.channels:
        raise ValueError(f"channel must be an int in [0, {top.channels}) for layer {top.layer!r}, got {channel!r}")
    if field.layer and field.layer != top.layer:
        raise ValueError(f"field is the geometry of layer {field.layer!r}, but top is of layer {top.layer!r}")
    idx = top.indices[channel] - offset
    if (idx < 0).any() or (idx >= len(images)).any():
        raise ValueError(f"top indices minus offset must index images (0..{len(images) - 1}), got {idx.tolist()}")
    (rh, rw), (ph, pw) = field.size, field.padding
    # pad once by padding + size on every side: every box lies inside the padded image
    mh, mw = ph + rh, pw + rw
    padded = F.pad(images[idx], (mw, mw, mh, mh), value=fill)
    out = []
    for r in range(len(idx)):
        top_, left, _, _ = field.box(int(top.locations[channel, r, 0]), int(top.locations[channel, r, 1]))
        out.append(padded[r, :, top_ + mh : top_ + mh + rh, left + mw : left + mw + rw])
    return torch.stack(out)


def class_frequencies(top: TopActivations, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """How often each class occurs among each channel's top images: the paper's
    ``consis(n, c) = |{x in T_n : y(x) = c}| / |T_n|`` (chapter 2).

    Args:
        top: a :class:`TopActivations` whose ``indices`` index ``labels``.
        labels: int [N], the class of every image of the data set ``top`` ranked.
        num_classes: the number of classes K.

    Returns:
        float64 [C, K]: row ``n`` is channel ``n``'s class frequencies (each row sums to 1).

    Raises:
        ValueError: labels that are not a 1-D integer tensor, indices outside ``labels``,
            a label outside ``[0, num_classes)``.
    """
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.is_floating_point():
        raise ValueError(f"labels must be a 1-D integer tensor, got {getattr(labels, 'shape', type(labels).__name__)}")
    if top.indices.numel() and int(top.indices.max()) >= len(labels):
        raise ValueError(f"top.indices reach {int(top.indices.max())}, but labels has only {len(labels)} entries")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got [{int(labels.min())}, {int(labels.max())}]")
    counts = torch.stack([torch.bincount(labels[top.indices[c]], minlength=num_classes) for c in range(top.channels)])
    return counts.double() / top.k


def live_channels(top: TopActivations) -> torch.Tensor:
    """bool [C]: the channels whose response is positive on all their top images. A
    "dead" channel is zero on some of its top-k images, so its ranking is arbitrary ties."""
    return top.values[:, -1] > 0


def spread_by_purity(frequencies: torch.Tensor, live: torch.Tensor, count: int) -> list[int]:
    """``count`` live channels spread evenly from the most class-pure to the least pure.

    A channel's purity is its largest class frequency (``frequencies.max(1)``); the live
    channels are sorted by it, most pure first, and ``count`` evenly spaced ranks are
    picked (the first and the last included).

    Args:
        frequencies: [C, K], e.g. :func:`class_frequencies`.
        live: bool [C], e.g. :func:`live_channels`.
        count: how many channels to pick, at least 1.

    Returns:
        ``count`` channel indices, purest first (repeats when fewer channels are live).

    Raises:
        ValueError: shapes that disagree, ``count < 1``, no live channel.
    """
    if frequencies.dim() != 2 or live.shape != (frequencies.shape[0],) or live.dtype != torch.bool:
        raise ValueError(
            f"expected frequencies [C, K] and a bool mask live [C], got {tuple(frequencies.shape)} and "
            f"{tuple(live.shape)} ({live.dtype})"
        )
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    live_ids = live.nonzero().flatten()
    if len(live_ids) == 0:
        raise ValueError("no live channel to pick from")
    purity = frequencies.max(dim=1).values[live]
    order = live_ids[purity.argsort(descending=True)]
    return order[torch.linspace(0, len(order) - 1, count).round().long()].tolist()
