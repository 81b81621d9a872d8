"""First-layer filters and feature maps (the first looks inside a CNN)."""

from __future__ import annotations

import torch
from torch import nn

from ..models.layers import capture_activations
from ..models.state import eval_mode, model_device
from ..validation import check_images


def first_conv_weights(model: nn.Module) -> tuple[str, torch.Tensor]:
    """The first ``nn.Conv2d`` of ``model`` in module order: its name and a detached copy
    of its weights, shape [out_channels, in_channels, kH, kW]."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module.weight.detach().cpu().clone()
    raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer")


@torch.no_grad()
def feature_maps(model: nn.Module, images: torch.Tensor, layer: str) -> torch.Tensor:
    """The activations of ``layer`` for ``images`` ([N,C,H,W] in [0,1]): a CPU tensor
    [N, channels, h, w]. Raises ValueError for an unknown layer (listing valid names)
    or a layer whose output is not a 4-D map."""
    check_images(images, "images", model=model)
    device = model_device(model)
    with eval_mode(model), capture_activations(model, [layer]) as acts:
        model(images.to(device))
    out = acts[layer]
    if out.dim() != 4:
        raise ValueError(f"layer {layer!r} gives a {out.dim()}-D output of shape {tuple(out.shape)}, not a feature map")
    return out.cpu()
