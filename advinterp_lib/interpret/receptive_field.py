"""Receptive fields: which input pixels a unit of a layer can see, and which it uses.

Three views of the same question, from cheapest to most empirical:

- :func:`theoretical_receptive_field` walks the layer geometry (kernel, stride,
  padding, dilation of every convolution and pooling up to the layer) of a
  Sequential-style net. With layer ``l`` of kernel ``k_l`` (dilated:
  ``d_l (k_l - 1) + 1``), stride ``s_l`` and padding ``p_l``, and the "jump"
  ``J_l = s_1 ... s_l`` (input pixels between neighbouring units of layer ``l``),

  .. math::  R_L = 1 + \\sum_l (k_l - 1) J_{l-1}, \\qquad P_L = \\sum_l p_l J_{l-1},

  and unit ``i`` of layer ``L`` sees the input rows ``[i J_L - P_L, i J_L - P_L + R_L)``.
- :func:`gradient_receptive_field` asks autograd: the input pixels with a nonzero
  gradient of the unit. It works for any architecture (residual nets included).
- :func:`discrepancy_maps` and :func:`empirical_receptive_field` follow Zhou et al.
  (2015, *Object detectors emerge in deep scene CNNs*): slide a small random patch
  over an image, record how much the unit's activation drops, and average the
  calibrated maps over the unit's top images. The part of the theoretical field a
  unit really *uses* is usually much smaller than the theoretical field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from ..models.layers import capture_activations
from ..models.layers import layer as _layer
from ..models.state import eval_mode, model_device
from ..models.zoo import any_input_size
from ..validation import check_images

__all__ = [
    "ReceptiveField",
    "theoretical_receptive_field",
    "gradient_receptive_field",
    "receptive_field_from_gradient",
    "FieldAgreement",
    "field_agreement",
    "layer_receptive_field",
    "discrepancy_maps",
    "calibrate_discrepancy",
    "EmpiricalReceptiveField",
    "empirical_receptive_field",
]


@dataclass(frozen=True)
class ReceptiveField:
    """The geometry of a layer's units in input pixels, per axis ``(rows, cols)``.

    Attributes:
        size: ``R``, the side of the square (or rectangle) of input pixels one unit sees.
        stride: ``J``, input pixels between neighbouring units (the product of strides).
        padding: ``P``, how far the box of unit 0 starts before pixel 0 (the sum of
            paddings, each scaled by the jump before it).
        layer: the layer name this geometry belongs to.

    Unit ``(i, j)`` sees rows ``[i J_h - P_h, i J_h - P_h + R_h)`` and the
    corresponding columns; parts outside the image are padding.
    """

    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    layer: str = ""

    def box(self, i: int, j: int, clip_to: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        """``(top, left, bottom, right)`` of unit ``(i, j)``'s field, bottom/right
        exclusive; with ``clip_to=(H, W)`` clipped to the image."""
        top = i * self.stride[0] - self.padding[0]
        left = j * self.stride[1] - self.padding[1]
        bottom, right = top + self.size[0], left + self.size[1]
        if clip_to is not None:
            top, left = max(top, 0), max(left, 0)
            bottom, right = min(bottom, clip_to[0]), min(right, clip_to[1])
        return top, left, bottom, right

    def center(self, i: int, j: int) -> tuple[float, float]:
        """The centre of unit ``(i, j)``'s field in (fractional) input pixel coordinates."""
        top, left, bottom, right = self.box(i, j)
        return (top + bottom - 1) / 2.0, (left + right - 1) / 2.0

    def mask(self, i: int, j: int, image_size: tuple[int, int]) -> torch.Tensor:
        """A bool ``[H, W]`` mask of the pixels of the image inside unit ``(i, j)``'s field."""
        top, left, bottom, right = self.box(i, j, clip_to=image_size)
        m = torch.zeros(image_size, dtype=torch.bool)
        m[top:bottom, left:right] = True
        return m


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


# Modules that keep every spatial position where it is (elementwise or per channel).
_POINTWISE = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.PReLU,
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.InstanceNorm2d,
    nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
)


def _geometry(module: nn.Module) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """(effective kernel, stride, padding) of a module that moves pixels, or None if
    it keeps positions; raises for a module whose geometry is unknown."""
    if isinstance(module, nn.Conv2d):
        k, d, s = _pair(module.kernel_size), _pair(module.dilation), _pair(module.stride)
        keff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        if module.padding == "valid":
            p = (0, 0)
        elif module.padding == "same":  # PyTorch pads total // 2 before, the rest after
            p = ((keff[0] - 1) // 2, (keff[1] - 1) // 2)
        else:  # a string padding is "valid" or "same" (PyTorch rejects others)
            p = _pair(cast("tuple[int, ...]", module.padding))
        return keff, s, p
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = _pair(module.kernel_size)
        s = _pair(module.stride if module.stride is not None else module.kernel_size)
        p = _pair(module.padding)
        d = _pair(getattr(module, "dilation", 1))
        return (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1), s, p
    if isinstance(module, _POINTWISE) or type(module).__name__ == "Normalize":
        return None
    raise ValueError(
        f"cannot compute the receptive field through {type(module).__name__}: its geometry "
        f"is unknown here; use gradient_receptive_field (works for any network)"
    )


def theoretical_receptive_field(model: nn.Module, layer: str) -> ReceptiveField:
    """The receptive field of ``layer``'s units from the geometry of the layers before it.

    Walks ``model.named_modules()`` in definition order, up to and including ``layer``,
    combining every ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` (elementwise modules
    such as ReLU, BatchNorm, Dropout, Normalize keep positions). This assumes the
    modules run one after the other in definition order, as in ``nn.Sequential``
    nets (AlexNet, VGG). For other nets use :func:`gradient_receptive_field`.

    Raises:
        ValueError: unknown layer (listing valid names); a container other than
            ``nn.Sequential`` holding convolutions before the layer (e.g. a residual
            block, whose branches do not run in sequence); a module of unknown
            geometry (e.g. adaptive pooling) before the layer.
    """
    _layer(model, layer)  # a wrong name raises, listing valid names
    size, jump, pad = [1, 1], [1, 1], [0, 0]
    named = list(model.named_modules())
    last = max(i for i, (n, _) in enumerate(named) if n == layer or n.startswith(layer + "."))
    for name, module in named[1 : last + 1]:
        children = list(module.children())
        if children:
            if not isinstance(module, nn.Sequential) and any(
                isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) for m in module.modules()
            ):
                raise ValueError(
                    f"{name!r} is a {type(module).__name__} holding convolutions or pooling: its "
                    f"modules need not run in sequence (e.g. a residual block), so the geometry "
                    f"walk is ill-defined; use gradient_receptive_field instead"
                )
            continue
        geometry = _geometry(module)
        if geometry is None:
            continue
        k, s, p = geometry
        for a in range(2):
            size[a] += (k[a] - 1) * jump[a]
            pad[a] += p[a] * jump[a]
            jump[a] *= s[a]
    return ReceptiveField(size=(size[0], size[1]), stride=(jump[0], jump[1]), padding=(pad[0], pad[1]), layer=layer)


def _check_unit(shape: torch.Size, layer: str, channel: int) -> None:
    if len(shape) != 4:
        raise ValueError(f"layer {layer!r} gives a {len(shape)}-D output of shape {tuple(shape)}, not a feature map")
    if not isinstance(channel, int) or isinstance(channel, bool):
        raise TypeError(f"channel must be an int, got {type(channel).__name__}")
    if not 0 <= channel < shape[1]:
        raise ValueError(f"channel must be in [0, {shape[1]}) for layer {layer!r}, got {channel}")


def _check_locations(locations: torch.Tensor | None, n: int, fmap: tuple[int, int]) -> torch.Tensor | None:
    if locations is None:
        return None
    if not isinstance(locations, torch.Tensor):
        raise TypeError(f"locations must be a tensor [N, 2] of (row, col), got {type(locations).__name__}")
    locations = locations.reshape(-1, 2) if locations.shape == (2,) else locations
    if locations.dim() != 2 or locations.shape != (n, 2):
        raise ValueError(f"locations must have shape [{n}, 2] (one (row, col) per image), got {tuple(locations.shape)}")
    locations = locations.long()
    if (locations < 0).any() or (locations[:, 0] >= fmap[0]).any() or (locations[:, 1] >= fmap[1]).any():
        raise ValueError(f"locations must lie in the layer's {fmap[0]}x{fmap[1]} feature map, got {locations.tolist()}")
    return locations


def gradient_receptive_field(
    model: nn.Module,
    layer: str,
    location: tuple[int, int],
    image_shape: tuple[int, int, int],
    *,
    samples: int = 16,
    seed: int = 0,
) -> torch.Tensor:
    """The input pixels that unit ``location`` of ``layer`` depends on, found by autograd.

    Backpropagates the sum over channels of ``layer``'s activation at ``location`` to
    ``samples`` random images (uniform in [0, 1], seeded) and returns the union of the
    pixels with a nonzero gradient: a bool mask ``[H, W]``. One image is not enough:
    a ReLU that is off, or a max-pool that picks another input, hides a pixel from
    the gradient; over several random images every pixel the unit can see shows up.
    Works for any architecture (residual blocks included). Model mode is restored.

    Raises:
        ValueError: unknown layer, non-4-D output, location outside the feature map,
            ``samples < 1``.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W), got {image_shape!r}")
    device = model_device(model)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((samples, *image_shape), generator=g).to(device).requires_grad_(True)
    with eval_mode(model):
        with capture_activations(model, [layer], detach=False) as acts:
            model(x)
        out = acts[layer]
        if out.dim() != 4:
            raise ValueError(
                f"layer {layer!r} gives a {out.dim()}-D output of shape {tuple(out.shape)}, not a feature map"
            )
        i, j = int(location[0]), int(location[1])
        if not (0 <= i < out.shape[2] and 0 <= j < out.shape[3]):
            raise ValueError(
                f"location must lie in the layer's {out.shape[2]}x{out.shape[3]} feature map, got {location}"
            )
        (grad,) = torch.autograd.grad(out[:, :, i, j].sum(), x)
    return (grad != 0).any(dim=1).any(dim=0).cpu()


@dataclass(frozen=True)
class FieldAgreement:
    """How a unit's gradient support (:func:`gradient_receptive_field`) compares with its
    geometric field (:meth:`ReceptiveField.mask`).

    The geometry is an upper bound: no input pixel outside the box can reach the unit,
    so ``outside`` must be 0. It need not be reached everywhere: on a trained network
    a ReLU that stays off or a max-pool that never picks an input, for every sampled
    image, hides pixels inside the box (``coverage`` below 1, rising with the number of
    samples). ``same_extent`` says whether the support reaches the box's four edges,
    i.e. the bound is tight. :attr:`consistent` is what a correct geometry walk gives.
    """

    outside: int  #: pixels with a gradient outside the geometric box
    coverage: float  #: share of the box's pixels with a gradient
    same_extent: bool  #: the support's bounding box equals the geometric box

    @property
    def consistent(self) -> bool:
        return self.outside == 0 and self.same_extent


def _bounding_box(mask: torch.Tensor) -> tuple[int, int, int, int] | None:
    rows, cols = mask.any(dim=1).nonzero(), mask.any(dim=0).nonzero()
    if len(rows) == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def field_agreement(gradient: torch.Tensor, geometry: torch.Tensor) -> FieldAgreement:
    """Compare a gradient support with a geometric field, both bool masks ``[H, W]``.

    Raises:
        ValueError: the masks are not bool, not 2-D or not of one shape; an empty geometry.
    """
    if gradient.dtype != torch.bool or geometry.dtype != torch.bool:
        raise ValueError(f"both masks must be bool, got {gradient.dtype} and {geometry.dtype}")
    if gradient.dim() != 2 or gradient.shape != geometry.shape:
        raise ValueError(
            f"both masks must be [H, W] of one shape, got {tuple(gradient.shape)} and {tuple(geometry.shape)}"
        )
    if not geometry.any():
        raise ValueError("the geometric field is empty: the unit sees no pixel of the image")
    return FieldAgreement(
        outside=int((gradient & ~geometry).sum()),
        coverage=float((gradient & geometry).sum()) / float(geometry.sum()),
        same_extent=_bounding_box(gradient) == _bounding_box(geometry),
    )


def receptive_field_from_gradient(
    model: nn.Module,
    layer: str,
    image_shape: tuple[int, int, int],
    *,
    samples: int = 16,
    seed: int = 0,
) -> ReceptiveField:
    """The geometry of ``layer``'s units measured with :func:`gradient_receptive_field`,
    for any architecture (for a residual net: the longest path's field).

    Measures the gradient support of the central unit ``(h // 2, w // 2)`` and of its
    diagonal neighbour; size, stride and padding follow from their bounding boxes.
    Fully convolutional nets accept a larger ``image_shape`` than their training
    images, which measures fields larger than those images.

    Raises:
        ValueError: as :func:`gradient_receptive_field`; the central unit's field
            touches the image border (it may be cut off: pass a larger image_shape,
            if the model accepts one) or the feature map is smaller than 2x2.
    """
    probe = torch.zeros((1, *image_shape), device=model_device(model))
    with eval_mode(model), torch.no_grad(), capture_activations(model, [layer]) as acts:
        model(probe)
    out = acts[layer]
    if out.dim() != 4:
        raise ValueError(f"layer {layer!r} gives a {out.dim()}-D output of shape {tuple(out.shape)}, not a feature map")
    fh, fw = out.shape[2:]
    if fh < 2 or fw < 2:
        raise ValueError(f"layer {layer!r} has a {fh}x{fw} feature map; need at least 2x2 units to measure a stride")
    i, j = fh // 2, fw // 2
    i2, j2 = (i + 1, j + 1) if i + 1 < fh and j + 1 < fw else (i - 1, j - 1)
    boxes = []
    for loc in ((i, j), (i2, j2)):
        mask = gradient_receptive_field(model, layer, loc, image_shape, samples=samples, seed=seed)
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        if len(rows) == 0:
            raise ValueError(f"unit {loc} of layer {layer!r} has no gradient at all (a dead unit?)")
        boxes.append((int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1))
    top, left, bottom, right = boxes[0]
    h, w = image_shape[1:]
    if top == 0 or left == 0 or bottom == h or right == w:
        raise ValueError(
            f"the field of unit ({i}, {j}) of layer {layer!r} reaches the border of a {h}x{w} image, "
            f"so it may be cut off; pass a larger image_shape (if the model accepts it)"
        )
    stride = (abs(boxes[1][0] - top) // abs(i2 - i), abs(boxes[1][1] - left) // abs(j2 - j))
    return ReceptiveField(
        size=(bottom - top, right - left),
        stride=stride,
        padding=(i * stride[0] - top, j * stride[1] - left),
        layer=layer,
    )


def _occluder_positions(size: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:  # the last patch reaches the border
        starts.append(size - patch)
    return starts


@torch.no_grad()
def discrepancy_maps(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    channel: int,
    *,
    locations: torch.Tensor | None = None,
    patch_size: int = 5,
    stride: int = 2,
    fill: float | None = None,
    generator: torch.Generator | None = None,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Zhou et al. (2015) discrepancy maps: how much a unit's activation drops when a
    small patch of the image is occluded.

    For each image, a ``patch_size`` x ``patch_size`` occluder visits a grid of
    positions (``stride`` apart; the last row/column of positions touches the
    border). The occluder holds uniform random noise in [0, 1) (drawn from
    ``generator``) or, with ``fill``, a constant. For each occluded copy the drop
    ``a(x) - a(x_occluded)`` of the unit is recorded; a pixel's value in the map is
    the mean drop over the occluder positions covering it. All occluded copies go
    through the model in batches of ``batch_size``.

    Args:
        images: [N, C, H, W] in [0, 1].
        layer, channel: the unit's layer and channel.
        locations: [N, 2] (row, col) in the feature map: the unit at that position of
            each image (e.g. its argmax, from top-k). ``None``: the channel's spatial
            maximum.
    Returns:
        [N, H, W] float32 CPU maps of signed drops (positive: occluding there lowers
        the unit). The model's mode is restored.
    Raises:
        ValueError/TypeError: bad images, unknown layer, channel out of range, bad
            locations, ``patch_size`` not in [1, min(H, W)], ``stride < 1``,
            ``fill`` outside [0, 1], ``batch_size < 1``.
    """
    check_images(images, "images", model=model)
    n, c, h, w = images.shape
    if not 1 <= patch_size <= min(h, w):
        raise ValueError(f"patch_size must be in [1, {min(h, w)}], got {patch_size}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if fill is not None and not 0.0 <= fill <= 1.0:
        raise ValueError(f"fill must be None (random noise) or a pixel value in [0, 1], got {fill}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = model_device(model)
    rows, cols = _occluder_positions(h, patch_size, stride), _occluder_positions(w, patch_size, stride)
    r0 = torch.tensor(rows).repeat_interleave(len(cols))
    c0 = torch.tensor(cols).repeat(len(rows))
    npos = len(r0)
    offs = torch.arange(patch_size)
    images = images.to(device)

    with eval_mode(model), capture_activations(model, [layer]) as acts:
        model(images)
        base_map = acts[layer]
        _check_unit(base_map.shape, layer, channel)
        locs = _check_locations(locations, n, (base_map.shape[2], base_map.shape[3]))  # 4-D: checked above

        def unit(fmap: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
            fm = fmap[:, channel]
            if locs is None:
                return fm.flatten(1).amax(dim=1)
            loc = locs[img].to(fm.device)
            return fm[torch.arange(len(fm), device=fm.device), loc[:, 0], loc[:, 1]]

        base = unit(base_map, torch.arange(n)).float().cpu()
        drops = torch.empty(n * npos)
        for start in range(0, n * npos, batch_size):
            flat = torch.arange(start, min(start + batch_size, n * npos))
            img, pos = flat // npos, flat % npos
            x = images[img.to(device)].clone()
            b = len(flat)
            if fill is None:
                patch = torch.rand((b, patch_size, patch_size, c), generator=generator)
            else:
                patch = torch.full((b, patch_size, patch_size, c), float(fill))
            ri = (r0[pos][:, None] + offs)[:, :, None]
            ci = (c0[pos][:, None] + offs)[:, None, :]
            x.permute(0, 2, 3, 1)[torch.arange(b)[:, None, None], ri, ci] = patch.to(device)
            model(x)
            drops[flat] = base[img] - unit(acts[layer], img).float().cpu()

    drops = drops.view(n, npos)
    total = torch.zeros(n, h, w)
    count = torch.zeros(h, w)
    for p in range(npos):  # mean drop over the occluder positions covering each pixel
        r, cc = int(r0[p]), int(c0[p])
        total[:, r : r + patch_size, cc : cc + patch_size] += drops[:, p, None, None]
        count[r : r + patch_size, cc : cc + patch_size] += 1
    return total / count


def calibrate_discrepancy(maps: torch.Tensor) -> torch.Tensor:
    """Calibrate discrepancy maps ``[N, H, W]`` (or one ``[H, W]``): subtract each
    map's median, clip at 0, scale each to a maximum of 1 (an all-zero map stays 0).

    The baseline is the median rather than the mean: a unit's field covers a minority
    of the pixels, so the median is the change caused by occluding pixels the unit
    ignores, while the mean is pulled up by the field itself and would cut its tails.
    """
    single = maps.dim() == 2
    m = maps[None] if single else maps
    base = m.flatten(1).median(dim=1).values[:, None, None]
    out = (m - base).clamp(min=0)
    peak = out.flatten(1).amax(dim=1)[:, None, None]
    out = torch.where(peak > 0, out / peak.clamp(min=torch.finfo(out.dtype).tiny), out)
    return out[0] if single else out


@dataclass(frozen=True, eq=False)
class EmpiricalReceptiveField:
    """A unit's empirical receptive field (Zhou et al. 2015).

    Attributes:
        mean_map: ``[2H-1, 2W-1]`` calibrated discrepancy maps averaged over images,
            each shifted so the unit's centre sits at the middle pixel ``(H-1, W-1)``;
            a pixel is averaged over the images whose map covers it (0 where none).
        maps: ``[N, H, W]`` the calibrated maps, unshifted.
        area: number of pixels of ``mean_map`` at or above ``threshold * max``.
        width: ``sqrt(area)``, the side of a square of that area (compare with the
            theoretical size ``R``).
        threshold: the fraction of the maximum used for ``area``.
    """

    mean_map: torch.Tensor
    maps: torch.Tensor
    area: int
    width: float
    threshold: float


def empirical_receptive_field(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    channel: int,
    locations: torch.Tensor,
    *,
    field: ReceptiveField | None = None,
    threshold: float = 0.5,
    patch_size: int = 3,
    stride: int = 1,
    fill: float | None = None,
    generator: torch.Generator | None = None,
    batch_size: int = 1024,
) -> EmpiricalReceptiveField:
    """Estimate a unit's receptive field from the discrepancy maps of its top images.

    Each image's map (:func:`discrepancy_maps` for the unit at that image's
    ``location``, then :func:`calibrate_discrepancy`) is centred at the unit: at
    ``field.center(i, j)`` when the theoretical geometry ``field`` is given, else at
    the feature-map position scaled to the image (``(i + 0.5) H / h - 0.5``). The
    centred maps are averaged; the area above ``threshold`` of the maximum is the
    empirical size.

    Args:
        images: [N, C, H, W] in [0, 1], e.g. the unit's top-k images.
        locations: [N, 2] (row, col) of the unit in each image's feature map (the
            argmax locations of top-k).
        threshold: in (0, 1].
    Raises:
        ValueError/TypeError: as :func:`discrepancy_maps`; ``threshold`` outside (0, 1].
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if locations is None:
        raise ValueError("locations must be given: the unit's (row, col) in each image's feature map")
    raw = discrepancy_maps(
        model,
        images,
        layer,
        channel,
        locations=locations,
        patch_size=patch_size,
        stride=stride,
        fill=fill,
        generator=generator,
        batch_size=batch_size,
    )
    maps = calibrate_discrepancy(raw)
    n, h, w = maps.shape
    locs = locations.reshape(n, 2).long().cpu()
    if field is None:
        with torch.no_grad(), eval_mode(model), capture_activations(model, [layer]) as acts:
            model(images[:1].to(model_device(model)))
        fh, fw = acts[layer].shape[2:]
    total = torch.zeros(2 * h - 1, 2 * w - 1)
    count = torch.zeros(2 * h - 1, 2 * w - 1)
    for k in range(n):
        i, j = int(locs[k, 0]), int(locs[k, 1])
        if field is not None:
            cy, cx = field.center(i, j)
        else:
            cy, cx = (i + 0.5) * h / fh - 0.5, (j + 0.5) * w / fw - 0.5
        # put pixel (cy, cx) of the map at canvas pixel (h-1, w-1)
        top = (h - 1) - math.floor(cy + 0.5)
        left = (w - 1) - math.floor(cx + 0.5)
        t0, l0 = max(top, 0), max(left, 0)
        t1, l1 = min(top + h, 2 * h - 1), min(left + w, 2 * w - 1)
        if t1 <= t0 or l1 <= l0:
            continue
        total[t0:t1, l0:l1] += maps[k, t0 - top : t1 - top, l0 - left : l1 - left]
        count[t0:t1, l0:l1] += 1
    mean_map = torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))
    peak = float(mean_map.max())
    area = int((mean_map >= threshold * peak).sum()) if peak > 0 else 0
    return EmpiricalReceptiveField(mean_map=mean_map, maps=maps, area=area, width=math.sqrt(area), threshold=threshold)


def layer_receptive_field(
    model: nn.Module, layer: str, image_shape: tuple[int, int, int], *, samples: int = 16
) -> tuple[ReceptiveField, str]:
    """The geometry of ``layer``'s units, by the cheapest method that works.

    :func:`theoretical_receptive_field` where the net is a chain of layers; else (residual
    blocks) :func:`receptive_field_from_gradient` on images of ``image_shape``, inside
    :func:`~advinterp_lib.models.zoo.any_input_size` so a fully convolutional zoo ResNet
    takes an image larger than its training images (its predictions are not used).

    Args:
        model, layer: the network and the name of a layer of feature maps.
        image_shape: (C, H, W) of the images the gradient method measures on; large
            enough that the central unit's field does not reach the border.
        samples: random images of the gradient method.

    Returns:
        ``(field, how)``; ``how`` is ``"geometry walk"`` or
        ``"gradient (HxW input)"``.

    Raises:
        ValueError: as :func:`receptive_field_from_gradient` (e.g. an image too small).
    """
    try:
        return theoretical_receptive_field(model, layer), "geometry walk"
    except ValueError:  # residual blocks: measure the geometry by gradient
        with any_input_size(model):
            field = receptive_field_from_gradient(model, layer, image_shape, samples=samples)
        return field, f"gradient ({image_shape[1]}×{image_shape[2]} input)"
