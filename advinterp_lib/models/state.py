"""The model-state chores every family shares, in one place (torchattacks' ``Attack``
base class keeps them together the same way).

- :func:`eval_mode`: eval mode inside a block, and every submodule's own ``training``
  flag restored on exit, also when the block raises. ``model.train(was_training)``
  would not do: it sets every submodule to the *parent's* flag, so a BatchNorm the
  caller froze in eval mode inside a training model would come back in train mode.
- :func:`model_device`: where a model's tensors live.
- :func:`predicted_labels`: top-1 labels in batches, in eval mode, without gradients.

Attacks, attributions, the interpretation tools, the training loop's ``predict`` and
the explorers all go through these, so a caller's model leaves every public function
in the state it came in (``tests/models/test_state.py`` checks each function).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["eval_mode", "model_device", "predicted_labels"]


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode inside the block; restore each module's previous
    ``training`` flag on exit (normal or by exception). Yields ``model``.

    Raises:
        TypeError: ``model`` is not a ``torch.nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    previous = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in previous:
            m.training = flag


def model_device(model: nn.Module, fallback: torch.device | str = "cpu") -> torch.device:
    """The device of the model's first parameter, else of its first buffer, else
    ``fallback`` (a model without tensors runs wherever its input is)."""
    for t in model.parameters():
        return t.device
    for b in model.buffers():
        return b.device
    return torch.device(fallback)


def predicted_labels(model: nn.Module, x: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
    """The model's top-1 classes of ``x`` (float [N, C, H, W]): int64 [N] on ``x``'s
    device. Runs ``batch_size`` images at a time on the model's device, in eval mode
    (restored) and without gradients. The caller validates ``x``."""
    device = model_device(model, x.device)
    with eval_mode(model), torch.no_grad():
        return torch.cat([model(chunk.to(device)).argmax(1).to(x.device) for chunk in x.split(batch_size)])
