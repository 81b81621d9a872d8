"""Loaders that read prepared data sets; they never download.

``python -m data_scripts`` (or ``make data``) prepares the data under
``roots.data_root()``; these loaders only read it::

    from advinterp_lib.data import load, ImageSet, DataNotFoundError
    train = load("fashion-mnist", "train")           # root=None -> roots.data_root()
    test = load("fashion-mnist", "test", root=path)

``wordnet()``, ``synset()`` and ``synset_from_wnid()`` give WordNet 3.0 through nltk.
``AdversarialSet`` holds an adversarial set in memory (written and loaded by
:mod:`advinterp_lib.artifacts.store`).

``DataNotFoundError`` and ``ImageSet`` are defined here, before the loader modules
are imported, because every loader module uses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch.utils.data import TensorDataset


class DataNotFoundError(FileNotFoundError):
    """Prepared data is missing. The message names the missing path and the command
    that prepares it."""


@dataclass(frozen=True, eq=False)
class ImageSet:
    """A labelled image data set held in memory.

    Attributes:
        images: float32 tensor [N, C, H, W] with values in [0, 1] (Fashion-MNIST:
            [N, 1, 28, 28]).
        labels: int64 tensor [N], each in ``range(len(class_names))``.
        class_names: one human-readable name per class, in label order.
        synsets: one WordNet 3.0 synset name per class (e.g. ``"sandal.n.01"``), in
            label order; chapter 10 measures concept distances between them.
        name: the registry name of the data set (``"fashion-mnist"``).
        split: ``"train"`` or ``"test"``.

    Frozen means the fields cannot be rebound; the tensors themselves are not
    copied, so do not modify them in place.

    Raises (on construction):
        TypeError: a field has the wrong type or dtype.
        ValueError: shapes disagree, a label is out of range, or a pixel is outside
            [0, 1] or NaN.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    synsets: tuple[str, ...]
    name: str
    split: str

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if not isinstance(images, torch.Tensor) or images.dtype != torch.float32:
            raise TypeError(f"images: expected a float32 torch.Tensor, got {_describe(images)}")
        if images.ndim != 4:
            raise ValueError(f"images: expected shape [N, C, H, W], got {tuple(images.shape)}")
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
            raise TypeError(f"labels: expected an int64 torch.Tensor, got {_describe(labels)}")
        if labels.shape != images.shape[:1]:
            raise ValueError(
                f"labels: expected shape [{images.shape[0]}] (one per image), "
                f"got {tuple(labels.shape)}"
            )
        for field in ("class_names", "synsets"):
            value = getattr(self, field)
            if (
                not isinstance(value, Sequence)
                or isinstance(value, str)
                or not all(isinstance(v, str) for v in value)
            ):
                raise TypeError(f"{field}: expected a sequence of str, got {value!r}")
            object.__setattr__(self, field, tuple(value))
        if len(self.synsets) != len(self.class_names):
            raise ValueError(
                f"synsets: expected one per class ({len(self.class_names)}), "
                f"got {len(self.synsets)}"
            )
        if images.shape[0] > 0:
            lo, hi = torch.aminmax(images)
            if not (lo >= 0 and hi <= 1):  # also catches NaN: comparisons are False
                raise ValueError(
                    f"images: expected values in [0, 1], got min {lo.item()} max {hi.item()}"
                )
            lo, hi = torch.aminmax(labels)
            if lo < 0 or hi >= len(self.class_names):
                raise ValueError(
                    f"labels: expected values in [0, {len(self.class_names) - 1}], "
                    f"got min {lo.item()} max {hi.item()}"
                )

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        return (
            f"ImageSet(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"image_shape={tuple(self.images.shape[1:])}, classes={len(self.class_names)})"
        )

    def subset(
        self,
        n: int | None = None,
        *,
        indices: Sequence[int] | torch.Tensor | None = None,
        seed: int = 0,
        stratified: bool = True,
    ) -> ImageSet:
        """A smaller ImageSet: ``n`` images drawn reproducibly, or the given ``indices``.

        With ``stratified=True`` (the default) each class gets ``n // K`` images
        (K = number of classes) and the first ``n % K`` classes in label order one
        more, so a quick profile sees every class equally. The same ``seed`` always
        gives the same images. The chosen images keep their original order.

        Args:
            n: how many images, 1 <= n <= len(self). Give ``n`` or ``indices``.
            indices: explicit positions (int sequence or 1-D integer tensor), each in
                [0, len(self)); ``seed`` and ``stratified`` are then ignored.
            seed: seed of the ``torch.Generator`` that draws the images.
            stratified: class-balanced draw (True) or uniform draw without
                replacement over all images (False).

        Returns:
            A new ImageSet sharing ``class_names``, ``synsets``, ``name``, ``split``;
            its tensors are copies.

        Raises:
            ValueError: neither or both of ``n`` and ``indices``; ``n`` out of range;
                a class has fewer images than its share; an index out of range.
            TypeError: ``n`` is not an int or ``indices`` not integers.
        """
        if (n is None) == (indices is None):
            raise ValueError(
                f"subset: give exactly one of n and indices, got n={n!r}, "
                f"indices={'None' if indices is None else 'given'}"
            )
        if indices is not None:
            chosen = torch.as_tensor(indices)
            if chosen.ndim != 1 or chosen.is_floating_point() or chosen.dtype == torch.bool:
                raise TypeError(
                    f"indices: expected a 1-D sequence of ints, got {_describe(chosen)}"
                )
            chosen = chosen.to(torch.int64)
            if chosen.numel() and (chosen.min() < 0 or chosen.max() >= len(self)):
                raise ValueError(
                    f"indices: expected values in [0, {len(self) - 1}], got min "
                    f"{chosen.min().item()} max {chosen.max().item()}"
                )
        else:
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError(f"n: expected an int, got {type(n).__name__}")
            if not 1 <= n <= len(self):
                raise ValueError(f"n: expected 1 <= n <= {len(self)}, got {n}")
            generator = torch.Generator().manual_seed(seed)
            if stratified:
                chosen = self._stratified_indices(n, generator)
            else:
                chosen = torch.randperm(len(self), generator=generator)[:n].sort().values
        return ImageSet(
            images=self.images[chosen],
            labels=self.labels[chosen],
            class_names=self.class_names,
            synsets=self.synsets,
            name=self.name,
            split=self.split,
        )

    def _stratified_indices(self, n: int, generator: torch.Generator) -> torch.Tensor:
        k = len(self.class_names)
        picked = []
        for c in range(k):
            share = n // k + (1 if c < n % k else 0)
            members = (self.labels == c).nonzero().squeeze(1)
            if share > len(members):
                raise ValueError(
                    f"n: a class-balanced subset of {n} needs {share} images of class "
                    f"{c} ({self.class_names[c]!r}), but there are only {len(members)}"
                )
            picked.append(members[torch.randperm(len(members), generator=generator)[:share]])
        return torch.cat(picked).sort().values

    def as_dataset(self) -> TensorDataset:
        """A ``torch.utils.data.TensorDataset`` of ``(image [C,H,W], label)`` pairs,
        sharing this set's tensors, for a ``DataLoader``."""
        return TensorDataset(self.images, self.labels)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


# The loader modules import DataNotFoundError and ImageSet from here.
from advinterp_lib.data.adversarial import AdversarialSet  # noqa: E402
from advinterp_lib.data.broden import load_broden  # noqa: E402
from advinterp_lib.data.fashion_mnist import load_fashion_mnist  # noqa: E402
from advinterp_lib.data.imagenet import load_imagenet_val  # noqa: E402
from advinterp_lib.data.wordnet import synset, synset_from_wnid, wordnet  # noqa: E402

_LOADERS: MappingProxyType[str, Callable[..., ImageSet]] = MappingProxyType(
    {"fashion-mnist": load_fashion_mnist, "imagenet-val": load_imagenet_val, "broden": load_broden}
)

#: Names that ``load`` accepts.
DATASETS: tuple[str, ...] = tuple(_LOADERS)


def load(name: str, split: str, *, root: str | os.PathLike[str] | None = None, **options) -> ImageSet:
    """Load a prepared data set split into memory.

    Args:
        name: a registered data set; see ``DATASETS`` (``"fashion-mnist"``,
            ``"imagenet-val"``, ``"broden"``).
        split: ``"train"`` or ``"test"`` (Fashion-MNIST); ``"val"`` (ImageNet);
            ``"train"``/``"val"`` (Broden).
        root: the data root; None means ``roots.data_root()`` (``ADVINTERP_DATA``,
            default ``<project>/data``).
        **options: passed to the data set's loader (ImageNet and Broden: ``n``,
            ``seed``, ``image_size``; see ``load_imagenet_val`` / ``load_broden``).

    Returns:
        An ImageSet (float32 images in [0, 1], int64 labels).

    Raises:
        ValueError: unknown ``name`` (the message lists the known ones) or ``split``;
            a prepared file is corrupt.
        DataNotFoundError: the data is not prepared under ``root``.
    """
    if name not in _LOADERS:
        raise ValueError(f"name: unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return _LOADERS[name](split, root=root, **options)


__all__ = [
    "AdversarialSet",
    "DATASETS",
    "DataNotFoundError",
    "ImageSet",
    "load",
    "load_broden",
    "load_fashion_mnist",
    "load_imagenet_val",
    "synset",
    "synset_from_wnid",
    "wordnet",
]
