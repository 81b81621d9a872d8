"""Attributions: which pixels explain a class score? Thin wrappers over Captum.

Every method has one call shape::

    heat = method(model, x, target, **params)      # [N, 1, H, W], on x's device

- ``model``: a classifier taking pixels in [0, 1] and returning logits ``[N, K]``.
- ``x``: images ``[N, C, H, W]``, float in [0, 1] (never modified).
- ``target``: the class to explain, an ``int`` (same for all images) or an integer
  tensor ``[N]`` (one per image), each in ``[0, K)``.
- the result is always ``[N, 1, H, W]``: one value per pixel, the input's spatial size.
  Colour channels are reduced the way each method's paper does it (saliency: max of
  ``|gradient|`` over channels; guided backprop and guided Grad-CAM: sum over
  channels, signed; Grad-CAM is one map per layer; occlusion windows span all
  channels, so every channel gets the same value).

The methods (Captum class in brackets):

- :func:`saliency` — ``|d score / d x|`` (Simonyan et al. 2014) [``Saliency``].
- :func:`guided_backprop` — the gradient with negative gradients zeroed at every ReLU
  on the way back (Springenberg et al. 2015) [``GuidedBackprop``].
- :func:`grad_cam` — channel weights = spatially pooled gradients of the class score
  at a conv layer; map = ReLU of the weighted channel sum, upsampled to the input
  (Selvaraju et al. 2017) [``LayerGradCam`` + ``LayerAttribution.interpolate``].
- :func:`guided_grad_cam` — guided backprop times the upsampled Grad-CAM map
  [``GuidedGradCam``].
- :func:`occlusion` — the drop of the class score when a window of pixels is set to a
  baseline, averaged over the windows covering each pixel (Zeiler & Fergus 2014)
  [``Occlusion``].

Shared chores live in one place, :func:`explaining`: validation, eval mode (and
restoring the model's previous mode), the model's device, and a detached copy of
``x`` that may require gradients. Captum registers its hooks inside ``try/finally``,
so no hook is left on the model after a call, also when it raises.

Hook-based methods (guided backprop, Grad-CAM) need every ReLU to be its own,
non-inplace ``nn.ReLU`` module; torchvision nets are converted with
:func:`advinterp_lib.models.hook_safe.make_hook_safe` first.

Comparing two maps (:func:`pearson_correlation`, :func:`spearman_correlation`)
lives here too: it is how the book measures agreement between methods.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from captum.attr import GuidedBackprop, GuidedGradCam, LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from ..models.layers import last_conv_layer, num_classes_of
from ..models.layers import layer as layer_by_name
from ..models.state import eval_mode, model_device
from ..validation import check_images, check_labels

__all__ = [
    "Explained",
    "explaining",
    "saliency",
    "guided_backprop",
    "grad_cam",
    "guided_grad_cam",
    "occlusion",
    "occlusion_forward_passes",
]


@dataclass(frozen=True)
class Explained:
    """What :func:`explaining` hands to a method: the validated inputs, ready to use.

    Attributes:
        x: a detached copy of the images on the model's device, ``[N, C, H, W]``,
            with ``requires_grad`` set (Captum may set it again; the caller's tensor
            is never touched).
        target: the classes, a long tensor ``[N]`` on the model's device.
        num_classes: ``K``, the width of the model's output.
    """

    x: torch.Tensor
    target: torch.Tensor
    num_classes: int


def _as_target(target: object, n: int, num_classes: int) -> torch.Tensor:
    if isinstance(target, torch.Tensor) and target.dim() == 0 and not target.is_floating_point():
        target = int(target.item())
    if isinstance(target, bool) or not isinstance(target, (int, torch.Tensor)):
        raise TypeError(f"target must be an int or an integer tensor [N], got {type(target).__name__}")
    if isinstance(target, int):
        if not 0 <= target < num_classes:
            raise ValueError(f"target must be a class index in [0, {num_classes}), got {target}")
        return torch.full((n,), target, dtype=torch.long)
    return check_labels(target, n, num_classes, "target").long()


@contextmanager
def explaining(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> Iterator[Explained]:
    """The shared chores of every attribution method, as a context manager.

    Validates ``x`` (:func:`~advinterp_lib.validation.check_images`) and ``target``
    (an int or a tensor ``[N]`` in ``[0, K)``; ``K`` from
    :func:`~advinterp_lib.models.layers.num_classes_of`), puts ``model`` in eval mode and restores its previous mode on
    exit (also on an exception), and yields an :class:`Explained` whose ``x`` is a
    detached copy on the model's device with ``requires_grad=True``.

    Raises:
        TypeError / ValueError: bad ``x`` or ``target`` (naming what was expected and
            what came), or a model whose output is not logits ``[N, K]``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_images(x, "x", model=model)
    device = model_device(model)
    with eval_mode(model):
        x_copy = x.detach().to(device).clone()
        num_classes = num_classes_of(model, x_copy)  # the model's num_classes, or one probe image
        tgt = _as_target(target, x.shape[0], num_classes).to(device)
        x_copy.requires_grad_(True)
        yield Explained(x_copy, tgt, num_classes)


UPSAMPLE_MODES = ("nearest", "bilinear", "bicubic", "area", "nearest-exact")


def _check_upsample(upsample: object) -> None:
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")


def _conv_layer(model: nn.Module, layer: str | None) -> nn.Module:
    return layer_by_name(model, last_conv_layer(model) if layer is None else layer)


def _check_spatial(layer_name: str | None, cam: torch.Tensor) -> None:
    if cam.dim() != 4:
        raise ValueError(
            f"Grad-CAM needs a layer with a spatial output [N, C, h, w]; layer {layer_name!r} "
            f"gives shape {tuple(cam.shape)} (pick a convolutional layer)"
        )


def _to_caller(heat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return heat.detach().to(device=x.device, dtype=x.dtype)


def saliency(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Saliency map (Simonyan et al. 2014): ``max_c |d S_target / d x_c|`` per pixel.

    Args:
        model: classifier, pixels in [0, 1] -> logits [N, K].
        x: images [N, C, H, W] in [0, 1].
        target: class index (int) or long tensor [N].

    Returns:
        [N, 1, H, W], >= 0, on ``x``'s device.

    Raises:
        TypeError / ValueError: see :func:`explaining`.
    """
    with explaining(model, x, target) as ex:
        grads = Saliency(model).attribute(ex.x, target=ex.target, abs=True)
        return _to_caller(grads.amax(dim=1, keepdim=True), x)


def guided_backprop(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Guided backpropagation (Springenberg et al. 2015): the gradient of the class
    score where every ``nn.ReLU`` passes back only positive gradients (and only where
    its input was positive), summed over colour channels.

    Needs every ReLU to be a separate, non-inplace ``nn.ReLU`` module (functional
    ``F.relu`` calls are not guided): convert torchvision nets with
    :func:`~advinterp_lib.models.hook_safe.make_hook_safe`.

    Returns:
        [N, 1, H, W], signed, on ``x``'s device.
    """
    with explaining(model, x, target) as ex:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
            grads = GuidedBackprop(model).attribute(ex.x, target=ex.target)
        return _to_caller(grads.sum(dim=1, keepdim=True), x)


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    *,
    layer: str | None = None,
    relu: bool = True,
    upsample: str = "bilinear",
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) at a convolutional layer, upsampled to the input.

    With ``A^k`` the layer's channel maps and ``S`` the target's logit:
    ``alpha_k = mean_{ij} dS / dA^k_ij`` and ``L = ReLU(sum_k alpha_k A^k)``.

    Args:
        layer: a ``named_modules()`` name whose output is ``[N, C, h, w]``; ``None``
            takes ``model.last_conv`` (the zoo models and converted nets have one).
        relu: apply the ReLU (keep only evidence *for* the class); ``False`` keeps the
            signed map.
        upsample: ``torch.nn.functional.interpolate`` mode from ``[h, w]`` to
            ``[H, W]`` (``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``).

    Returns:
        [N, 1, H, W] on ``x``'s device (>= 0 when ``relu``).

    Raises:
        ValueError: unknown layer (listing valid names), a layer without a spatial
            output, no ``last_conv`` when ``layer`` is ``None``; see also :func:`explaining`.
    """
    _check_upsample(upsample)
    module = _conv_layer(model, layer)
    with explaining(model, x, target) as ex:
        cam = LayerGradCam(model, module).attribute(ex.x, target=ex.target, relu_attributions=relu)
        _check_spatial(layer, cam)
        cam = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode=upsample)
        return _to_caller(cam, x)


def guided_grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    *,
    layer: str | None = None,
    upsample: str = "bilinear",
) -> torch.Tensor:
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backprop times the (ReLU'd)
    Grad-CAM map upsampled to the input; pixel-sharp *and* class-discriminative.

    ``layer`` and ``upsample`` as in :func:`grad_cam` (Captum's default upsampling is
    ``"nearest"``; we use ``"bilinear"`` so the two functions match).

    Returns:
        [N, 1, H, W], signed, on ``x``'s device; equals
        ``guided_backprop(...) * grad_cam(...)`` for one-channel images.
    """
    _check_upsample(upsample)
    module = _conv_layer(model, layer)
    with explaining(model, x, target) as ex:
        with warnings.catch_warnings():
            # Captum warns and returns an empty tensor for a layer without a spatial map.
            warnings.filterwarnings("ignore", message="Couldn't appropriately interpolate")
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
            heat = GuidedGradCam(model, module).attribute(ex.x, target=ex.target, interpolate_mode=upsample)
        if heat.shape != ex.x.shape:
            raise ValueError(
                f"Guided Grad-CAM needs a layer with a spatial output [N, C, h, w]; layer "
                f"{layer!r} does not give one (pick a convolutional layer)"
            )
        return _to_caller(heat.sum(dim=1, keepdim=True), x)


def _window(value: int | tuple[int, int], name: str, limit: tuple[int, int]) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    ):
        raise TypeError(f"{name} must be an int or a pair of ints (height, width), got {value!r}")
    if not (1 <= pair[0] <= limit[0] and 1 <= pair[1] <= limit[1]):
        raise ValueError(f"{name} must be between 1 and the image size {limit}, got {pair}")
    return pair


def occlusion_forward_passes(
    image_size: tuple[int, int], window: int | tuple[int, int], stride: int | tuple[int, int]
) -> int:
    """Forward passes (images through the model) that :func:`occlusion` needs per image:
    one per window position, plus one for the unoccluded image. As in Captum, the
    last window of a row/column is clipped at the border, so every pixel is covered:
    ``ceil((H - kh) / sh) + 1`` positions down, likewise across."""
    size = (int(image_size[0]), int(image_size[1]))
    kh, kw = _window(window, "window", size)
    sh, sw = _window(stride, "stride", size)
    return (-(-(size[0] - kh) // sh) + 1) * (-(-(size[1] - kw) // sw) + 1) + 1


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    *,
    window: int | tuple[int, int] = 4,
    stride: int | tuple[int, int] = 2,
    baseline: float = 0.0,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Occlusion (Zeiler & Fergus 2014): slide a ``window`` (all channels) over the
    image in steps of ``stride``, set it to ``baseline`` and record the drop of the
    target's logit, ``S(x) - S(x_occluded)``; each pixel gets the mean drop over the
    windows that cover it (windows at the border are clipped, so every pixel is covered).

    Costs :func:`occlusion_forward_passes` forward passes per image, run in batches
    of at most ``batch_size`` occluded images (no gradients).

    Args:
        window, stride: an int or (height, width), between 1 and the image size.
        baseline: the value occluded pixels take, in [0, 1] (0 = black).
        batch_size: occluded images per forward pass (memory vs speed).

    Returns:
        [N, 1, H, W], signed (positive: occluding here lowers the score), on ``x``'s device.
    """
    check_images(x, "x", model=model)
    size = (int(x.shape[-2]), int(x.shape[-1]))
    kh, kw = _window(window, "window", size)
    sh, sw = _window(stride, "stride", size)
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) or not 0.0 <= float(baseline) <= 1.0:
        raise ValueError(f"baseline must be a number in [0, 1], got {baseline!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    with explaining(model, x, target) as ex:
        c = ex.x.shape[1]
        xs = ex.x.detach()
        per_eval = max(1, batch_size // xs.shape[0])
        with torch.no_grad():
            heat = Occlusion(model).attribute(
                xs,
                sliding_window_shapes=(c, kh, kw),
                strides=(c, sh, sw),
                target=ex.target,
                baselines=float(baseline),
                perturbations_per_eval=per_eval,
            )
        return _to_caller(heat.mean(dim=1, keepdim=True), x)
