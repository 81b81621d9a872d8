"""Input checks shared by every public function (validate once, at the boundary).

Each raises ValueError/TypeError naming the argument, what was expected and what came.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = [
    "check_images",
    "check_labels",
    "check_int",
    "check_number",
    "model_channels",
    "model_dtype",
    "same_methods",
]


def model_channels(model: nn.Module) -> int | None:
    """The number of image channels ``model`` takes: ``in_channels`` of its first
    ``Conv2d`` (None when it has none, e.g. a linear model)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return None


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of ``model``'s floating-point weights (None when it has none)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


def check_images(
    x: object, name: str = "x", *, channels: int | None = None, model: nn.Module | None = None
) -> torch.Tensor:
    """``x`` must be a float tensor [N, C, H, W] with N >= 1, finite, in [0, 1].

    ``channels`` (or ``model``, whose first convolution's ``in_channels`` is used)
    fixes C. With ``model``, ``x`` must also have the dtype of its weights: float64
    images for a float32 model are refused with a clear TypeError (convert with
    ``x.float()``), not converted silently and not left to fail deep inside a layer
    with "expected scalar type Double". Raises TypeError (not a tensor, not floating
    point, another dtype than the model's) or ValueError (rank, empty batch, channel
    count, NaN/inf, values outside [0, 1]; the message says when the values look like
    0..255 pixels or like normalised ones).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images, got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (add the channel axis: x.unsqueeze(1))" if x.dim() == 3 else ""
        raise ValueError(f"{name} must have shape [N, C, H, W], got {x.dim()}-D shape {tuple(x.shape)}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}); expected N >= 1 images")
    if not x.is_floating_point():
        hint = " (for 0..255 bytes use x.float() / 255)" if x.dtype == torch.uint8 else ""
        raise TypeError(f"{name} must be a float tensor with pixels in [0, 1], got dtype {x.dtype}{hint}")
    if model is not None:
        expected = model_dtype(model)
        if expected is not None and x.dtype != expected:
            fix = f"{name}.float()" if expected == torch.float32 else f"{name}.to({expected})"
            raise TypeError(
                f"{name} must have the dtype of the model's weights, {expected}, got {x.dtype} (convert with {fix})"
            )
    if channels is None and model is not None:
        channels = model_channels(model)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got {x.shape[1]} (shape {tuple(x.shape)})")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} contains NaN or inf values ({bad} of them); expected finite pixels in [0, 1]")
    lo, hi = x.min().item(), x.max().item()
    if lo < 0.0 or hi > 1.0:
        if hi > 1.0 and hi <= 255.0 and lo >= 0.0:
            hint = " (it looks like 0..255 pixels: divide by 255)"
        elif lo < 0.0:
            hint = " (it looks normalised: pass raw pixels, the model normalises its own input)"
        else:
            hint = ""
        raise ValueError(f"{name} must hold pixels in [0, 1], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


def check_labels(y: object, n: int, num_classes: int | None, name: str = "y") -> torch.Tensor:
    """``y`` must be an integer tensor [n] with values in [0, num_classes) (only >= 0
    where ``num_classes`` is None: not known yet)."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape [{n}] (one label per image), got {tuple(y.shape)}")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if n and num_classes is None and y.min().item() < 0:
        raise ValueError(f"{name} must be class indices >= 0, got values in [{y.min().item()}, {y.max().item()}]")
    if n and num_classes is not None and (y.min().item() < 0 or y.max().item() >= num_classes):
        raise ValueError(
            f"{name} must be class indices in [0, {num_classes}), got values in [{y.min().item()}, {y.max().item()}]"
        )
    return y


def check_int(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` must be an int (not a bool) in [minimum, maximum] where given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    strict_maximum: bool = False,
) -> float:
    """``value`` must be a finite real number (not a bool) in the given range
    (``> minimum`` when ``strict_minimum``, ``< maximum`` when ``strict_maximum``);
    returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value < minimum or (strict_minimum and value == minimum)):
        raise ValueError(f"{name} must be {'>' if strict_minimum else '>='} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (strict_maximum and value == maximum)):
        raise ValueError(f"{name} must be {'<' if strict_maximum else '<='} {maximum}, got {value}")
    return value


def same_methods(per_model: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    """The methods (inner keys) of ``{model: {method: ...}}``, in the first model's order:
    every model must have exactly those, in that order, so that they make one table or
    figure.

    Raises:
        ValueError: no models ("at least one model"); a model with other methods.
    """
    if not per_model:
        raise ValueError(f"{name}: expected at least one model, got none")
    methods = list(next(iter(per_model.values())))
    for model, per in per_model.items():
        if list(per) != methods:
            raise ValueError(f"{name}: every model needs the methods {methods}, {model!r} has {list(per)}")
    return methods
