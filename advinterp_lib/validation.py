"""Input checks shared by every public function (validate once, at the boundary).

Each raises ValueError/TypeError naming the argument, what was expected and what came.
"""

from __future__ import annotations

import torch


def check_images(x: object, name: str = "x", *, channels: int | None = None) -> torch.Tensor:
    """``x`` must be a float tensor [N, C, H, W] with N >= 1, finite, in [0, 1]."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape [N, C, H, W], got {x.dim()}-D shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)})")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor with pixels in [0, 1], got dtype {x.dtype}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got {x.shape[1]} (shape {tuple(x.shape)})")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    lo, hi = x.min().item(), x.max().item()
    if lo < 0.0 or hi > 1.0:
        hint = " (it looks like 0..255 pixels: divide by 255)" if hi > 1.0 and hi <= 255.0 and lo >= 0.0 else ""
        raise ValueError(f"{name} must hold pixels in [0, 1], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


def check_labels(y: object, n: int, num_classes: int, name: str = "y") -> torch.Tensor:
    """``y`` must be an integer tensor [n] with values in [0, num_classes)."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape [{n}] (one label per image), got {tuple(y.shape)}")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if n and (y.min().item() < 0 or y.max().item() >= num_classes):
        raise ValueError(
            f"{name} must be class indices in [0, {num_classes}), got values in [{y.min().item()}, {y.max().item()}]"
        )
    return y
