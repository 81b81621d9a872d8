"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grayscale 28x28 images of
ten clothing classes, 60,000 for training and 10,000 for testing.

Reads the four idx files in torchvision's layout, ``<root>/FashionMNIST/raw/``
(decompressed), as ``python -m data_scripts fashion-mnist`` prepares them; so
``torchvision.datasets.FashionMNIST(root)`` reads the same files.

The classes map to WordNet 3.0 noun synsets (``SYNSETS``), each checked against
its WordNet definition:

=============  =============  ======================================================
class          synset         WordNet 3.0 definition (lemmas)
=============  =============  ======================================================
T-shirt/top    jersey.n.03    a close-fitting pullover shirt (jersey, T-shirt,
                              tee_shirt)
Trouser        trouser.n.01   a garment extending from the waist to the knee or
                              ankle, covering each leg separately (trouser, pant)
Pullover       pullover.n.01  a sweater that is put on by pulling it over the head
Dress          dress.n.01     a one-piece garment for a woman; has skirt and bodice
Coat           coat.n.01      an outer garment that has sleeves and covers the body
                              from shoulder down; worn outdoors
Sandal         sandal.n.01    a shoe consisting of a sole fastened by straps to the
                              foot
Shirt          shirt.n.01     a garment worn on the upper half of the body
Sneaker        gym_shoe.n.01  a canvas shoe with a pliable rubber sole (gym_shoe,
                              sneaker, tennis_shoe)
Bag            bag.n.01       a flexible container with a single opening
Ankle boot     boot.n.01      footwear that covers the whole foot and lower leg
=============  =============  ======================================================

Choices: "T-shirt" is a lemma of jersey.n.03 only (jersey.n.01/02/04/05 are New
Jersey, the island, a fabric and a cattle breed). The Bag class shows handbags,
totes and backpacks; bag.n.01 is the general bag, whose hyponyms include backpack,
shopping bag and carryall, whereas bag.n.04 (handbag, pocketbook, purse) is one
kind; both are children of container.n.01, so the distances to the other nine
classes are the same. WordNet 3.0 has no "ankle boot"; boot.n.01 is the footwear
sense. Path distances (``shortest_path_distance``): footwear 2-3 apart
(sandal-sneaker 2, sandal-boot 3), upper-body garments 1-5 (T-shirt-shirt 1),
bag 6-8 from everything else (sandal-bag 7).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError, ImageSet

NAME = "fashion-mnist"

#: torchvision's class names, in label order.
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

#: WordNet 3.0 synset per class, in label order (see the module docstring).
SYNSETS: tuple[str, ...] = (
    "jersey.n.03", "trouser.n.01", "pullover.n.01", "dress.n.01", "coat.n.01",
    "sandal.n.01", "shirt.n.01", "gym_shoe.n.01", "bag.n.01", "boot.n.01",
)  # fmt: skip

#: (images file, labels file) per split, decompressed, under ``raw_dir(root)``.
FILES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
)

IMAGE_SIZE = 28
_UBYTE = 0x08  # idx type code of unsigned bytes
_PREPARE_HINT = "run `make data` (or `python -m data_scripts fashion-mnist`)"


def raw_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/FashionMNIST/raw``, torchvision's folder for the decompressed files;
    ``root=None`` means ``roots.data_root()``."""
    return (roots.data_root() if root is None else Path(root)) / "FashionMNIST" / "raw"


def read_idx_ubyte(path: Path, ndim: int) -> np.ndarray:
    """Read an idx file of unsigned bytes (the MNIST format) into a uint8 array.

    The header is two zero bytes, the type code 0x08, the number of dimensions, then
    each dimension as a big-endian uint32; the data follows, row-major.

    Raises:
        ValueError: wrong magic number or dimension count, or a file whose length
            disagrees with its header (truncated or corrupt); the message names the
            file.
    """
    data = path.read_bytes()
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated idx file ({len(data)} bytes, header needs {header})")
    magic = data[:4]
    if magic != bytes((0, 0, _UBYTE, ndim)):
        raise ValueError(
            f"{path}: not an idx file of {ndim}-D unsigned bytes: magic number "
            f"{magic.hex()}, expected {bytes((0, 0, _UBYTE, ndim)).hex()}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise ValueError(
            f"{path}: truncated or corrupt idx file: header says shape {dims} "
            f"({expected} bytes) but the file has {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_fashion_mnist(split: str, *, root: str | os.PathLike[str] | None = None) -> ImageSet:
    """Load the Fashion-MNIST ``split`` ("train": 60,000 images, "test": 10,000).

    Args:
        split: ``"train"`` or ``"test"``.
        root: the data root; None means ``roots.data_root()``.

    Returns:
        ImageSet with images float32 [N, 1, 28, 28] in [0, 1] (pixel / 255, exactly
        torchvision's ``ToTensor``), labels int64 [N] in 0..9, ``CLASS_NAMES`` and
        ``SYNSETS``.

    Raises:
        ValueError: ``split`` is not "train"/"test"; a file is truncated or corrupt.
        DataNotFoundError: a file is missing; the message says how to prepare it.
    """
    if split not in FILES:
        raise ValueError(f"split: expected one of {sorted(FILES)}, got {split!r}")
    folder = raw_dir(root)
    paths = [folder / name for name in FILES[split]]
    for path in paths:
        if not path.is_file():
            raise DataNotFoundError(
                f"Fashion-MNIST {split} split not found: missing {path}. To prepare it, "
                f"{_PREPARE_HINT}; or pass root= / set ADVINTERP_DATA to where it is."
            )
    images = read_idx_ubyte(paths[0], ndim=3)
    labels = read_idx_ubyte(paths[1], ndim=1)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"{paths[0]}: expected {IMAGE_SIZE}x{IMAGE_SIZE} images, got {images.shape[1:]}"
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{paths[1]}: {labels.shape[0]} labels for {images.shape[0]} images in {paths[0]}"
        )
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise ValueError(f"{paths[1]}: label {labels.max()} is not a class (0..9)")
    pixels = torch.from_numpy(images.copy()).unsqueeze(1)  # copy: frombuffer is read-only
    return ImageSet(
        images=pixels.to(torch.float32).div_(255),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=CLASS_NAMES,
        synsets=SYNSETS,
        name=NAME,
        split=split,
    )
