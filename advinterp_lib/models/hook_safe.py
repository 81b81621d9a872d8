"""Make a network safe for hook-based attributions: separate, non-inplace activations.

Guided backpropagation and Grad-CAM hook into modules. Two habits of torchvision's
nets break that (Captum issue #973):

- **inplace activations** (``nn.ReLU`` with ``inplace`` set): a backward hook wraps a
  module's output in a view, and an inplace ReLU then modifies that view — autograd
  raises, or a forward hook's stored tensor silently changes after it was recorded;
- **reused modules**: torchvision's ``BasicBlock``/``Bottleneck`` call one
  ``self.relu`` two or three times per forward pass, so a hook on it sees several
  tensors and guided backprop's hook state gets mixed up.

:func:`make_hook_safe` returns a converted *copy* (the original is untouched) that
computes the same function with the same ``state_dict`` keys. :func:`inplace_modules`
and :func:`reused_modules` diagnose a model. Functional activations (``F.relu``
inside a ``forward``) cannot be hooked at all and are not converted.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

__all__ = ["HookSafeBasicBlock", "HookSafeBottleneck", "make_hook_safe", "inplace_modules", "reused_modules"]


class HookSafeBasicBlock(nn.Module):
    """torchvision's ``BasicBlock`` with one ReLU module per use (``relu1`` after the
    first conv, ``relu2`` after the residual sum) and no inplace operations.

    Takes over the block's ``conv1``, ``bn1``, ``conv2``, ``bn2`` and ``downsample``
    (same names, so the ``state_dict`` keys stay the same).
    """

    def __init__(self, block: BasicBlock) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = block.conv1, block.bn1, nn.ReLU()
        self.conv2, self.bn2 = block.conv2, block.bn2
        self.downsample = block.downsample
        self.relu2 = nn.ReLU()
        self.stride = block.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + identity)  # not `out += identity`: a hook may hold `out`


class HookSafeBottleneck(nn.Module):
    """torchvision's ``Bottleneck`` with ``relu1``, ``relu2``, ``relu3`` (one per use)
    and no inplace operations; same parameter names as the original."""

    def __init__(self, block: Bottleneck) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = block.conv1, block.bn1, nn.ReLU()
        self.conv2, self.bn2, self.relu2 = block.conv2, block.bn2, nn.ReLU()
        self.conv3, self.bn3 = block.conv3, block.bn3
        self.downsample = block.downsample
        self.relu3 = nn.ReLU()
        self.stride = block.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + identity)


_BLOCKS: dict[type[nn.Module], type[nn.Module]] = {
    BasicBlock: HookSafeBasicBlock,
    Bottleneck: HookSafeBottleneck,
}


def _set_child(model: nn.Module, name: str, child: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, child)


def make_hook_safe(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which every activation is its own, non-inplace module.

    - torchvision ``BasicBlock``/``Bottleneck`` become :class:`HookSafeBasicBlock` /
      :class:`HookSafeBottleneck` (their shared ``relu`` becomes ``relu1``, ``relu2``
      (, ``relu3``); every other name and every parameter stays);
    - every module with an ``inplace`` flag (ReLU, LeakyReLU, Hardtanh, ELU, SiLU,
      Dropout, ...) gets ``inplace=False``;
    - a parameterless module registered under two names gets one copy per name.

    The copy computes the same outputs and keeps the training mode; ``model`` itself
    is not modified.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    safe = copy.deepcopy(model)
    for name, module in list(safe.named_modules()):
        if type(module) in _BLOCKS:
            replacement = _BLOCKS[type(module)](module)
            replacement.train(module.training)
            _set_child(safe, name, replacement)
    seen: set[int] = set()
    for name, module in list(safe.named_modules(remove_duplicate=False)):
        if not name:
            continue
        if id(module) in seen and next(module.parameters(), None) is None:
            _set_child(safe, name, copy.deepcopy(module))
        seen.add(id(module))
    for module in safe.modules():
        if isinstance(getattr(module, "inplace", None), bool):
            cast(Any, module).inplace = False  # an attribute nn.Module's stubs do not declare
    return safe


def inplace_modules(model: nn.Module) -> list[str]:
    """Names of the modules of ``model`` whose ``inplace`` flag is ``True``."""
    return [name for name, m in model.named_modules() if getattr(m, "inplace", None) is True]


def reused_modules(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the modules that run more than once in one forward pass of ``model`` on
    ``x`` (leaf modules only; containers are expected to run their children).

    Runs one forward pass without gradients; hooks are removed afterwards, also when
    the forward pass raises. The model's mode is left as it is.
    """
    counts: dict[str, int] = {}
    handles = []

    def make_hook(name: str):
        def hook(module: nn.Module, args: object, output: object) -> None:
            counts[name] = counts.get(name, 0) + 1

        return hook

    try:
        for name, module in model.named_modules():
            if name and next(module.children(), None) is None:
                handles.append(module.register_forward_hook(make_hook(name)))
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return [name for name, count in counts.items() if count > 1]
