"""Layers by name: input normalisation, named-layer access and activation capture.

Every model in the book is addressed through its ``named_modules()`` names
(``"features.3"``, ``"layer3.1.relu2"``). This module holds the few helpers that
make that convenient and safe:

- :class:`Normalize`, the first module of every model, so that models take pixels
  in [0, 1] and attacks and attributions work in pixel space;
- :func:`layer` / :func:`layer_names`, which turn a name into a module and say
  which names exist when a name is wrong;
- :func:`capture_activations`, a context manager that records the outputs of named
  layers during a forward pass and always removes its hooks (also when the forward
  pass raises), in the manner of Captum's hook handling;
- :func:`last_conv_layer`, the name of the layer whose channels are the paper's
  "neurons" (the last convolutional layer).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["Normalize", "layer", "layer_names", "capture_activations", "last_conv_layer"]


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel: the first module of every model.

    Args:
        mean: one value for all channels, or one per channel.
        std: likewise; every value must be > 0.

    Input ``[N, C, H, W]`` (pixels in [0, 1]); output the same shape. ``mean`` and
    ``std`` are buffers (saved in the state dict, moved with ``.to()``).

    Raises:
        ValueError: a non-positive or non-finite ``std``, or ``mean``/``std`` of
            different lengths (when both are sequences).
    """

    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() == 0 or std_t.numel() == 0:
            raise ValueError(f"mean and std must not be empty, got mean={mean!r}, std={std!r}")
        if mean_t.numel() > 1 and std_t.numel() > 1 and mean_t.numel() != std_t.numel():
            raise ValueError(f"mean and std must have the same length, got {mean_t.numel()} and {std_t.numel()}")
        if not bool(torch.isfinite(mean_t).all()):
            raise ValueError(f"mean must be finite, got {mean!r}")
        if not bool((std_t > 0).all()) or not bool(torch.isfinite(std_t).all()):
            raise ValueError(f"std must be finite and > 0, got {std!r}")
        self.register_buffer("mean", mean_t.view(1, -1, 1, 1))
        self.register_buffer("std", std_t.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


def layer_names(model: nn.Module) -> list[str]:
    """All ``named_modules()`` names of ``model`` in definition order, without the
    root's empty name."""
    return [name for name, _ in model.named_modules() if name]


def _unknown_layer_message(model: nn.Module, name: object) -> str:
    names = layer_names(model)
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"layer {name!r} not found in {type(model).__name__}.{hint} Valid names ({len(names)}): {', '.join(names)}"


def layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule of ``model`` called ``name`` in ``model.named_modules()``.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: no such layer; the message lists the valid names (and the
            closest ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"layer name must be a str, got {type(name).__name__}: {name!r}")
    modules = dict(model.named_modules())
    if not name or name not in modules:
        raise ValueError(_unknown_layer_message(model, name))
    return modules[name]


def last_conv_layer(model: nn.Module) -> str:
    """The name of the module whose output is the last convolutional layer's
    post-activation map, ``[N, channels, h, w]``; its channels are the "neurons" of
    the consistency metric.

    Models of the zoo (and the converted torchvision nets) carry it as the string
    attribute ``last_conv``; this reads and checks it.

    Raises:
        ValueError: ``model`` has no ``last_conv`` attribute (the message lists the
            model's ``Conv2d`` layers, to pick one explicitly), or it names no layer.
    """
    name = getattr(model, "last_conv", None)
    if not isinstance(name, str):
        convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
        raise ValueError(
            f"{type(model).__name__} has no `last_conv` attribute naming its last "
            f"convolutional layer (models from advinterp_lib.models.build have one); "
            f"pass a layer name explicitly instead. Its Conv2d layers: "
            f"{', '.join(convs) if convs else 'none'}"
        )
    layer(model, name)  # raises if the attribute is stale
    return name


def num_classes_of(model: nn.Module, probe: torch.Tensor) -> int:
    """The width K of ``model``'s logits: its ``num_classes`` when it has one (the zoo and
    the converted torchvision nets read it from their last layer), else one forward pass
    on ``probe[:1]`` without gradients, in the model's current mode.

    Raises:
        ValueError: the probe's output is not logits ``[1, K]``.
    """
    k = getattr(model, "num_classes", None)
    if isinstance(k, int) and not isinstance(k, bool) and k >= 1:
        return k
    with torch.no_grad():
        out = model(probe[:1])
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return logits of shape [N, num_classes], got {shape} for one image")
    return int(out.shape[1])


@contextmanager
def capture_activations(
    model: nn.Module, names: str | Sequence[str], *, detach: bool = True, inputs: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of named layers while ``model`` runs forward.

    Usage::

        with capture_activations(model, ["features.3", model.last_conv]) as acts:
            logits = model(x)
        acts["features.3"]          # the layer's output for x, e.g. [N, C, H, W]

    The dict holds, for each name, the output of the most recent forward pass of
    ``model`` (a second ``model(x2)`` inside the block replaces it; a forward pass
    starts when ``model`` itself is called). Hooks are removed when the block exits,
    normally or by an exception.

    Args:
        model: the network; the layers are its submodules (the root, name ``""``, is
            not allowed — its output is the return value of ``model(x)``).
        names: one layer name or several, as in :func:`layer_names`.
        detach: ``True`` (default) stores ``output.detach()``; ``False`` keeps the
            autograd graph, for losses on features (e.g. the consistent loss).
        inputs: ``True`` records each layer's (first) input instead of its output,
            e.g. the features that enter the final classifier.

    Raises:
        ValueError: an unknown or duplicated name (when entering the block).
        RuntimeError: during the forward pass, when a captured module runs twice in
            one forward pass of ``model`` (a reused module: its activation would be
            ambiguous).
        TypeError: during the forward pass, when a captured layer returns something
            other than a tensor.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct, got {names!r}")
    modules = {name: layer(model, name) for name in names}

    acts: dict[str, torch.Tensor] = {}
    calls: dict[str, int] = {}

    def new_forward_pass(module: nn.Module, args: tuple[Any, ...]) -> None:
        calls.clear()

    def make_hook(name: str):
        def hook(module: nn.Module, args: tuple[Any, ...], output: object) -> None:
            calls[name] = calls.get(name, 0) + 1
            if calls[name] > 1:
                raise RuntimeError(
                    f"layer {name!r} ({type(module).__name__}) ran twice in one forward "
                    f"pass: the module is reused, so its activation is ambiguous. Give "
                    f"each use its own module (e.g. one nn.ReLU per activation)."
                )
            value = args[0] if inputs and args else output
            if not isinstance(value, torch.Tensor):
                what = "received" if inputs else "returned"
                raise TypeError(f"layer {name!r} {what} {type(value).__name__}, expected a Tensor")
            acts[name] = value.detach() if detach else value

        return hook

    handles = []
    try:
        handles.append(model.register_forward_pre_hook(new_forward_pass))
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield acts
    finally:
        for handle in handles:
            handle.remove()
