"""The paper's ImageNet networks: torchvision's AlexNet, VGG-16 and ResNet-18.

:func:`imagenet_model` wraps a torchvision network so that it follows the book's
conventions, like the zoo models:

- it takes pixels in [0, 1], ``[N, 3, H, W]`` (224x224 in the paper); its first
  module, ``normalize``, applies ImageNet's mean and standard deviation, so attacks
  and attributions work in pixel space (``eps = 1/255`` is one grey level);
- every activation is its own non-inplace module (:func:`make_hook_safe`), so hooks
  see each activation once;
- ``model.last_conv`` names the last convolutional layer after its ReLU, the
  "neurons" of the consistency metric (:data:`LAST_CONV`).

Layer names are the torchvision names under ``net.`` (``"net.features.29"``,
``"net.layer4.1.relu2"``). The weights come from torchvision's ImageNet release
(``weights="DEFAULT"``: read from torch.hub's cache, ``$TORCH_HOME/hub/checkpoints``,
downloaded there only when absent), from a local ``state_dict`` file, or are left
random (``weights=None``). Every file is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import cast

import torch
from torch import nn

from advinterp_lib.models.hook_safe import make_hook_safe
from advinterp_lib.models.layers import Normalize

__all__ = [
    "ARCHS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LAST_CONV",
    "ImageNetModel",
    "imagenet_model",
    "weights_checkpoint_path",
    "weights_identity",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: torchvision builder and weights enum per architecture name.
ARCHS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"alexnet": ("alexnet", "AlexNet_Weights"), "vgg16": ("vgg16", "VGG16_Weights"),
     "resnet18": ("resnet18", "ResNet18_Weights")}
)  # fmt: skip

#: The last convolutional layer after its ReLU, per architecture (output shape at 224x224).
LAST_CONV: Mapping[str, str] = MappingProxyType(
    {
        "alexnet": "net.features.11",  # [N, 256, 13, 13]
        "vgg16": "net.features.29",  # [N, 512, 14, 14]
        "resnet18": "net.layer4.1.relu2",  # [N, 512, 7, 7]
    }
)


class ImageNetModel(nn.Module):
    """``net(normalize(x))`` for pixels ``x`` in [0, 1], ``[N, 3, H, W]`` -> logits [N, 1000].

    Attributes:
        normalize: the :class:`Normalize` with ImageNet's mean and std.
        net: the hook-safe torchvision network.
        arch: ``"alexnet"``, ``"vgg16"`` or ``"resnet18"``.
        last_conv: the name of the last convolutional layer (see :data:`LAST_CONV`).
    """

    def __init__(self, arch: str, net: nn.Module) -> None:
        super().__init__()
        self.arch = arch
        self.last_conv = LAST_CONV[arch]
        self.normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD)
        self.net = net

    @property
    def num_classes(self) -> int:
        """The width of the logits (1000), read from the network's last layer."""
        head = self.net.fc if hasattr(self.net, "fc") else cast(nn.Sequential, self.net.classifier)[-1]
        return cast(nn.Linear, head).out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"{self.arch} expects images [N, 3, H, W] in [0, 1], got "
                f"{list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
        return self.net(self.normalize(x))


def _weights_enum(arch: str):
    import torchvision.models as tvm

    return getattr(tvm, ARCHS[arch][1]).DEFAULT


def weights_checkpoint_path(arch: str) -> Path:
    """Where torch.hub keeps torchvision's default ImageNet weights for ``arch``:
    ``<torch.hub.get_dir()>/checkpoints/<file name of the release URL>`` (e.g.
    ``resnet18-f37072fd.pth``)."""
    _check_arch(arch)
    url = _weights_enum(arch).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def weights_identity(arch: str, weights: str | os.PathLike[str] | None) -> str:
    """A string that identifies the weights, for cache keys: the torchvision release
    (``"ResNet18_Weights.IMAGENET1K_V1"`` plus the file's hash prefix), ``"random"``
    (``None``), or ``"file:<sha256>"`` of a local state_dict."""
    _check_arch(arch)
    if weights is None:
        return "random"
    if isinstance(weights, str) and weights == "DEFAULT":
        enum = _weights_enum(arch)
        return f"{type(enum).__name__}.{enum.name}:{os.path.basename(enum.url)}"
    import hashlib

    digest = hashlib.sha256()
    with open(weights, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return f"file:{digest.hexdigest()}"


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ValueError(f"arch: expected one of {', '.join(ARCHS)}, got {arch!r}")


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state_dict (a dict of tensors)")
    return state


def imagenet_model(
    arch: str,
    weights: str | os.PathLike[str] | None = "DEFAULT",
    *,
    device: torch.device | str | None = None,
) -> ImageNetModel:
    """A torchvision ImageNet network in the book's conventions (module docstring).

    Args:
        arch: ``"alexnet"``, ``"vgg16"`` or ``"resnet18"``.
        weights: ``"DEFAULT"`` (torchvision's ImageNet weights, from torch.hub's cache
            or downloaded into it), a path to a local ``state_dict`` of the torchvision
            network (its own keys, e.g. ``conv1.weight``), or ``None`` (random init).
        device: where to put the model (default CPU).

    Returns:
        The :class:`ImageNetModel` in eval mode.

    Raises:
        ValueError: unknown ``arch``; a weights file that is not a matching state_dict.
        FileNotFoundError: a weights path that does not exist.
    """
    import torchvision.models as tvm

    _check_arch(arch)
    net = getattr(tvm, ARCHS[arch][0])(weights=None)
    if weights is not None:
        if isinstance(weights, str) and weights == "DEFAULT":
            path = weights_checkpoint_path(arch)
            if path.is_file():
                state = _load_state_dict(path)
            else:  # torch.hub downloads into the same cache and checks the hash prefix
                state = torch.hub.load_state_dict_from_url(
                    _weights_enum(arch).url, map_location="cpu", check_hash=True, weights_only=True
                )
        else:
            path = Path(weights)
            if not path.is_file():
                raise FileNotFoundError(f"weights: no state_dict file at {path}")
            state = _load_state_dict(path)
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise ValueError(f"weights: not a torchvision {arch} state_dict ({str(err).splitlines()[0]})") from None
    model = ImageNetModel(arch, make_hook_safe(net))
    return model.to(torch.device(device) if device is not None else torch.device("cpu")).eval()
