"""A model whose top images are known in closed form, and the images it reads; shared by
the tests of consistency.evaluation and consistency.sensitivity."""

from __future__ import annotations

import torch
from torch import nn


class QuadrantDetector(nn.Module):
    """One 'conv' layer whose channel c responds to quadrant c of an 8x8 image: its
    spatial max is the quadrant's mean brightness (its spatial mean a quarter of it)."""

    last_conv = "features"

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(1, 4, kernel_size=4, stride=4, bias=False)
        with torch.no_grad():
            self.features.weight.fill_(1.0 / 16)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channel c keeps only quadrant c of the 2x2 map
        f = self.features(x) * torch.eye(4, device=x.device).view(4, 2, 2)
        return self.head(f.amax((2, 3)))


def quadrant_images(levels: torch.Tensor, quadrant: torch.Tensor) -> torch.Tensor:
    """8x8 images, zero except quadrant ``quadrant[i]`` filled with ``levels[i]``."""
    x = torch.zeros(len(levels), 1, 8, 8)
    for i, (v, q) in enumerate(zip(levels.tolist(), quadrant.tolist(), strict=True)):
        r, c = divmod(q, 2)
        x[i, 0, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] = v
    return x
