"""Three small convolutional networks for 28x28 grayscale images (Fashion-MNIST)
that mirror the paper's architectures: AlexNet, VGG and ResNet.

They are scaled down so that a laptop CPU trains each in seconds, but keep what
makes each family what it is:

- :class:`AlexNetSmall` — a large strided first kernel (5x5, stride 2), overlapping
  max-pooling, plain conv + ReLU stacks without normalisation, and a fully
  connected head with dropout;
- :class:`VGGSmall` — only 3x3 convolutions, stacked in blocks that end in a 2x2
  max-pool, channels doubling per block (with batch normalisation, as in VGG-BN);
- :class:`ResNetSmall` — a strided stem, three stages of basic residual blocks
  (two 3x3 convolutions with batch normalisation and an identity or 1x1 shortcut),
  global average pooling and one linear layer.

Every model takes pixels in [0, 1], ``[N, in_channels, 28, 28]``, and returns
logits ``[N, num_classes]``. Its first module is a :class:`Normalize` with the
Fashion-MNIST training-set mean and standard deviation (0.2860, 0.3530), so
attacks and attributions work in pixel space. Every activation is its own
``nn.ReLU`` module (never in place, never reused), so forward hooks see each
activation exactly once. ``model.last_conv`` names the module whose output is the
last convolutional layer after its ReLU, ``[N, 64, h, w]``: its 64 channels are the
"neurons" of the consistency metric.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import cast

import torch
from torch import nn

from advinterp_lib.models.layers import Normalize

__all__ = [
    "AlexNetSmall",
    "VGGSmall",
    "ResNetSmall",
    "BasicBlock",
    "ZOO",
    "build",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
]

# Mean and standard deviation of the Fashion-MNIST training pixels (in [0, 1]).
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530

_SIZE = 28  # input height and width the zoo is designed for


@contextlib.contextmanager
def any_input_size(model: nn.Module) -> Iterator[nn.Module]:
    """Let a fully convolutional zoo model (the ResNet: global pooling) take images of any
    height and width inside the block, e.g. to measure a receptive field larger than 28x28
    (chapter 2); its predictions on such images mean nothing. Restored on exit. A model
    whose classifier fixes the size (AlexNet, VGG) still fails on another size."""
    if not isinstance(model, ResNetSmall):  # its classifier fixes the size: nothing to relax
        yield model
        return
    previous = getattr(model, "_any_input_size", False)
    model._any_input_size = True
    try:
        yield model
    finally:
        model._any_input_size = previous


def _check_input(x: torch.Tensor, in_channels: int, model: nn.Module) -> None:
    """A clear message instead of a shape error deep inside a layer (or, for the ResNet,
    whose pooling takes any size, instead of a silent prediction on a wrong-size image)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{type(model).__name__} expects a Tensor, got {type(x).__name__}")
    size_ok = tuple(x.shape[2:]) == (_SIZE, _SIZE) or getattr(model, "_any_input_size", False)
    if not (x.dim() == 4 and x.shape[1] == in_channels and size_ok):
        raise ValueError(
            f"{type(model).__name__} expects images [N, {in_channels}, {_SIZE}, {_SIZE}], got shape {list(x.shape)}"
        )


class AlexNetSmall(nn.Module):
    """AlexNet-style network for ``[N, in_channels, 28, 28]`` pixels in [0, 1].

    ``features``: conv 5x5 (16) -> ReLU -> max-pool 3/2 -> conv 3x3 (48) -> ReLU ->
    max-pool 3/2 -> conv 3x3 (96) -> ReLU -> conv 3x3 (64) -> ReLU -> max-pool 3/2;
    spatial size 28 -> 14 -> 7 -> 3. ``classifier``: flatten -> dropout ->
    linear (576 -> 256) -> ReLU -> dropout -> linear (256 -> num_classes).

    ``last_conv = "features.9"``, the ReLU after the last convolution:
    ``[N, 64, 7, 7]``.
    """

    last_conv = "features.9"

    @property
    def num_classes(self) -> int:
        """The width of the logits, read from the last layer (never stale)."""
        return cast(nn.Linear, self.classifier[-1]).out_features

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.normalize = Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=5, padding=2),  # 0: large early kernel
            nn.ReLU(),  # 1
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # 2: overlapping, 28 -> 14
            nn.Conv2d(16, 48, kernel_size=3, padding=1),  # 3
            nn.ReLU(),  # 4
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # 5: 14 -> 7
            nn.Conv2d(48, 96, kernel_size=3, padding=1),  # 6
            nn.ReLU(),  # 7
            nn.Conv2d(96, 64, kernel_size=3, padding=1),  # 8
            nn.ReLU(),  # 9: last conv, [N, 64, 7, 7]
            nn.MaxPool2d(kernel_size=3, stride=2),  # 10: 7 -> 3
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(64 * 3 * 3, 256),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, self)
        return self.classifier(self.features(self.normalize(x)))


class VGGSmall(nn.Module):
    """VGG-style network (3x3 convolutions with batch normalisation, in blocks
    ending in a 2x2 max-pool) for ``[N, in_channels, 28, 28]`` pixels in [0, 1].

    Blocks, as in VGG-11's pattern: [16], [32, 32], [64, 64] channels, each conv
    followed by BatchNorm and ReLU, each block by a max-pool (28 -> 14 -> 7 -> 3).
    ``classifier``: flatten -> dropout -> linear (576 -> 128) -> ReLU -> dropout ->
    linear (128 -> num_classes).

    ``last_conv = "features.16"``, the ReLU after the last convolution:
    ``[N, 64, 7, 7]``.
    """

    blocks: tuple[tuple[int, ...], ...] = ((16,), (32, 32), (64, 64))
    last_conv = "features.16"

    @property
    def num_classes(self) -> int:
        """The width of the logits, read from the last layer (never stale)."""
        return cast(nn.Linear, self.classifier[-1]).out_features

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.3) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.normalize = Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD)
        layers: list[nn.Module] = []
        channels = in_channels
        for block in self.blocks:
            for width in block:
                layers += [
                    nn.Conv2d(channels, width, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(),
                ]
                channels = width
            layers.append(nn.MaxPool2d(kernel_size=2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels * 3 * 3, 128),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, self)
        return self.classifier(self.features(self.normalize(x)))


class BasicBlock(nn.Module):
    """ResNet's basic block: ``relu2(bn2(conv2(relu1(bn1(conv1(x))))) + shortcut(x))``.

    ``shortcut`` is the identity, or a strided 1x1 convolution with BatchNorm
    (``downsample``) when the stride or the channel count changes. ``relu1`` and
    ``relu2`` are separate modules, so a hook on ``relu2`` sees the block's output.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + shortcut)


class ResNetSmall(nn.Module):
    """ResNet-style network for ``[N, in_channels, 28, 28]`` pixels in [0, 1].

    Its global average pooling would accept any size, but its weights were trained on
    28x28 Fashion-MNIST: like AlexNet and VGG it refuses other sizes (a 1x1 or 64x64
    image gets a clear ValueError, not a silent, meaningless prediction).

    ``stem``: conv 3x3 stride 2 (16) -> BatchNorm -> ReLU (28 -> 14);
    ``layer1``/``layer2``/``layer3``: one :class:`BasicBlock` each with 16 / 32 / 64
    channels, the last two with stride 2 (14 -> 7 -> 4); ``avgpool`` (global) ->
    flatten -> ``fc`` (64 -> num_classes).

    ``last_conv = "layer3.0.relu2"``, the output of the last residual block:
    ``[N, 64, 4, 4]``.
    """

    widths: tuple[int, ...] = (16, 32, 64)
    last_conv = "layer3.0.relu2"
    _any_input_size: bool  # set only inside any_input_size(); absent (False) otherwise

    @property
    def num_classes(self) -> int:
        """The width of the logits, read from the last layer (never stale)."""
        return self.fc.out_features

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.normalize = Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD)
        w1, w2, w3 = self.widths
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, w1, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w1),
            nn.ReLU(),
        )
        self.layer1 = nn.Sequential(BasicBlock(w1, w1, stride=1))
        self.layer2 = nn.Sequential(BasicBlock(w1, w2, stride=2))
        self.layer3 = nn.Sequential(BasicBlock(w2, w3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(w3, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, self)
        x = self.stem(self.normalize(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


# Bump when a zoo architecture or its initialisation changes: it is part of every cached
# model's key, so weights trained for an older definition are never loaded into a newer one.
# 2: initial weights drawn from the model's seed alone (artifacts.zoo.seeded_build).
ZOO_VERSION = 2

ZOO: Mapping[str, Callable[..., nn.Module]] = MappingProxyType(
    {"alexnet": AlexNetSmall, "vgg": VGGSmall, "resnet": ResNetSmall}
)
"""The zoo's names and the classes they build (read-only)."""


def build(name: str, *, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """A freshly initialised network of the zoo.

    Args:
        name: one of ``ZOO`` (``"alexnet"``, ``"vgg"``, ``"resnet"``).
        num_classes: size of the output, >= 2.
        in_channels: image channels, >= 1 (1 for Fashion-MNIST).

    Returns:
        The model, in training mode, on the CPU, with weights drawn from torch's
        global generator (seed it for reproducible weights). It maps
        ``[N, in_channels, 28, 28]`` pixels in [0, 1] to logits ``[N, num_classes]``
        and has a ``last_conv`` attribute (see :func:`last_conv_layer`).

    Raises:
        ValueError: an unknown name (the message lists the zoo), or a bad count.
        TypeError: ``num_classes`` or ``in_channels`` is not an int.
    """
    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}; the zoo has: {', '.join(ZOO)}")
    for arg, value, low in (("num_classes", num_classes, 2), ("in_channels", in_channels, 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{arg} must be an int, got {type(value).__name__}: {value!r}")
        if value < low:
            raise ValueError(f"{arg} must be >= {low}, got {value}")
    return ZOO[name](num_classes=num_classes, in_channels=in_channels)
