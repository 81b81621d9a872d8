"""Shared by the whole test suite: a tiny CNN for tests that need *some* classifier.

:class:`ToyCNN` has what the library's functions look for -- convolutions (a last
conv layer for Grad-CAM and top-k), a BatchNorm and a Dropout (modules whose mode
matters), separate non-inplace ReLUs (hooks see the right tensors), a linear head --
and runs in milliseconds. Tests build it through the fixtures, seeded.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


class ToyCNN(nn.Module):
    """Logits [N, num_classes] of float images [N, in_channels, size, size] in [0, 1].

    ``features``: conv 3x3 (4 channels) -> BatchNorm -> ReLU -> max-pool 2 -> conv 3x3
    (6 channels, ``"features.4"``, the last conv layer, named by ``last_conv`` as the
    zoo's models do) -> ReLU; ``classifier``: flatten -> dropout -> linear.
    """

    last_conv = "features.4"

    def __init__(self, num_classes: int = 4, in_channels: int = 1, size: int = 12) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1),
            nn.ReLU(),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(6 * (size // 2) ** 2, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@pytest.fixture
def make_toy_cnn() -> Callable[..., ToyCNN]:
    """``make_toy_cnn(seed=0, **kwargs)``: a fresh :class:`ToyCNN` whose weights depend
    on ``seed`` only (torch's global generator is left as it was)."""

    def make(seed: int = 0, **kwargs: int) -> ToyCNN:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return ToyCNN(**kwargs)

    return make


@pytest.fixture
def toy_cnn(make_toy_cnn: Callable[..., ToyCNN]) -> ToyCNN:
    """A :class:`ToyCNN` with seed 0 (4 classes, one channel, 12x12 images)."""
    return make_toy_cnn()
