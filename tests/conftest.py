"""Shared by the whole test suite: a tiny CNN for tests that need *some* classifier, and
a miniature ILSVRC-2012 val (``miniature_val``) for the ImageNet tests of artifacts/ and runs/.

:class:`ToyCNN` has what the library's functions look for -- convolutions (a last
conv layer for Grad-CAM and top-k), a BatchNorm and a Dropout (modules whose mode
matters), separate non-inplace ReLUs (hooks see the right tensors), a linear head --
and runs in milliseconds. Tests build it through the fixtures, seeded.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from advinterp_lib import roots
from data_scripts.imagenet import prepare_imagenet_val


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


def trained_toy_cnn(images: torch.Tensor, labels: torch.Tensor, *, steps: int, seed: int = 0) -> ToyCNN:
    """A :class:`ToyCNN` for ten classes of 28x28 images (Fashion-MNIST), trained ``steps``
    full-batch Adam steps (lr 0.01) on ``images``, in eval mode: right on many images and
    wrong on some, so its maps and predictions are not constant. Torch's global generator
    is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ToyCNN(num_classes=10, size=28)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(model(images), labels).backward()
            opt.step()
    return model.eval()


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


# ------------------------------------------- a miniature ILSVRC-2012 val (ImageNet tests)


def _miniature_val(tmp_path: Path, wnids: list[str], n: int, size: tuple[int, int]) -> Path:
    """``n`` random JPEGs in the official val tar layout, labelled round-robin with ``wnids``,
    run through ``prepare_imagenet_val`` into ``tmp_path/data`` (with the real WordNet
    linked beside them); returns that data root. Skips when WordNet is not prepared."""
    wordnet = roots.data_root() / "nltk_data"
    if not (wordnet / "corpora" / "wordnet").is_dir():
        pytest.skip("WordNet is not prepared (python -m data_scripts wordnet)")
    rng = np.random.default_rng(0)
    archive = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(archive, "w") as tf:
        for i in range(n):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(buf, "JPEG")
            info = tarfile.TarInfo(f"ILSVRC2012_val_{i + 1:08d}.JPEG")
            info.size = len(buf.getvalue())
            tf.addfile(info, io.BytesIO(buf.getvalue()))
    (tmp_path / "labels.txt").write_text("\n".join(wnids[i % len(wnids)] for i in range(n)))
    data = tmp_path / "data"
    prepare_imagenet_val(archive, tmp_path / "labels.txt", data, expected_md5=None, log=lambda s: None)
    (data / "nltk_data").symlink_to(wordnet)
    return data


@pytest.fixture()
def miniature_val(tmp_path):
    """``miniature_val(wnids, n, size=(h, w)) -> data root`` (see :func:`_miniature_val`)."""
    return lambda wnids, n, size=(50, 70): _miniature_val(tmp_path, wnids, n, size)
