"""An adversarial set held in memory: the rows of a sharded set on disk, concatenated.

The type lives with the data because the analyses (consistency, the explorers) read it
like any other image set; :mod:`advinterp_lib.artifacts.store` writes and loads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class AdversarialSet:
    """A finished adversarial set, its shards concatenated.

    Attributes:
        images_uint8: uint8 [M, C, H, W], the stored pixels.
        source_index: int64 [M], the position of each row's source image in the
            images the set was generated from.
        labels: int64 [M], the true label of the source image.
        targets: int64 [M], the class the attack aimed at.
        k: targets per source image; ``num_sources``: how many source images.

    ``images`` gives float32 [M, C, H, W] in [0, 1] (``images_uint8 / 255``);
    ``set[i]`` gives ``(image [C, H, W] float, label, target, source_index)``.
    """

    def __init__(self, shards: Sequence[dict[str, torch.Tensor]], *, k: int, num_sources: int) -> None:
        self.images_uint8 = torch.cat([s["images"] for s in shards])
        self.source_index = torch.cat([s["source_index"] for s in shards])
        self.labels = torch.cat([s["label"] for s in shards])
        self.targets = torch.cat([s["target"] for s in shards])
        self.k = k
        self.num_sources = num_sources

    @property
    def images(self) -> torch.Tensor:
        """float32 [M, C, H, W] in [0, 1]."""
        return self.images_uint8.to(torch.float32) / 255

    def __len__(self) -> int:
        return self.images_uint8.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int, int]:
        return (
            self.images_uint8[i].to(torch.float32) / 255,
            int(self.labels[i]),
            int(self.targets[i]),
            int(self.source_index[i]),
        )

    def __repr__(self) -> str:
        shape = tuple(self.images_uint8.shape[1:])
        return f"AdversarialSet(n={len(self)}, sources={self.num_sources}, k={self.k}, image_shape={shape})"


__all__ = ["AdversarialSet"]
