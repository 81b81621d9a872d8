"""Broden (Bau et al. 2017, NetDissect): images densely labelled with concepts.

``broden1_224`` merges ADE20K, Pascal-Context, Pascal-Part, OpenSurfaces, DTD and a
colour set: about 63,000 images at 224x224, each annotated in up to six *categories*
-- ``color``, ``object``, ``part``, ``material`` (pixel masks) and ``scene``,
``texture`` (whole-image labels) -- with 1,197 labels in all. The paper uses it beside
ImageNet val as a source of real images whose concepts are known.

Reads ``<root>/broden1_224/`` as ``python -m data_scripts broden`` prepares it (the
NetDissect zip, unpacked). The format, as NetDissect's ``loadseg.py`` reads it:

- ``index.csv``: one row per image. Columns are read **by header name** -- the
  README lists the categories in another order than the file's header. ``image`` is
  a path under ``images/``; ``split`` (``train``/``val``); ``ih, iw`` the image size;
  ``sh, sw`` the mask size (masks may be smaller than the image). Each category cell
  is empty or holds several entries separated by ``;``: a mask file name (under
  ``images/``) or, for whole-image categories, a label number.
- a mask is a PNG whose pixel's label number is ``R + 256 * G`` (0 = unlabelled).
- ``label.csv``: ``number, name, category, frequency, coverage, syns`` -- the
  ``category`` cell lists ``name(count)`` entries separated by ``;``, ``syns`` the
  synonyms separated by ``;``. Label 0 is the implicit "-" (unlabelled).
- ``category.csv``: ``name, first, last, count, frequency`` per category.
- ``c_<category>.csv``: ``code, number, name, frequency, coverage`` -- the
  category's own label codes and the global label number of each.

:meth:`Broden.concepts` gives the set of label numbers an image contains (every
non-zero mask pixel value and every whole-image label): what the consistency metric
needs to ask "does image x contain concept c?".
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError, ImageSet

NAME = "broden"
FOLDER = "broden1_224"
#: Categories annotated by pixel masks and by whole-image labels, in the file's order.
CATEGORIES: tuple[str, ...] = ("color", "object", "part", "material", "scene", "texture")
_INDEX_FIXED = ("image", "split", "ih", "iw", "sh", "sw")
_PREPARE_HINT = "run `python -m data_scripts broden` (downloads about 1 GB from the NetDissect project)"


def broden_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/broden1_224``; ``root=None`` means ``roots.data_root()``."""
    return (roots.data_root() if root is None else Path(root)) / FOLDER


@dataclass(frozen=True)
class BrodenLabel:
    """One row of ``label.csv``: ``number`` (global), ``name``, ``categories``
    ({category: count}), ``frequency``, ``coverage``, ``synonyms``."""

    number: int
    name: str
    categories: Mapping[str, int]
    frequency: int
    coverage: float
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class BrodenRecord:
    """One row of ``index.csv``: the image path (under ``images/``), split, image
    and mask sizes, and per category the entries (mask paths as ``str``, whole-image
    labels as ``int``)."""

    image: str
    split: str
    image_size: tuple[int, int]
    mask_size: tuple[int, int]
    annotations: Mapping[str, tuple[str | int, ...]]


def decode_mask(rgb: np.ndarray) -> np.ndarray:
    """Label numbers of a Broden mask: ``R + 256 * G`` per pixel.

    Args:
        rgb: uint8 [H, W, 3] (or [H, W, 4]) array.

    Returns:
        int64 [H, W].

    Raises:
        ValueError: not an [H, W, >=2] array.
    """
    if rgb.ndim != 3 or rgb.shape[2] < 2:
        raise ValueError(f"mask: expected an RGB image [H, W, 3], got shape {rgb.shape}")
    return rgb[:, :, 0].astype(np.int64) + 256 * rgb[:, :, 1].astype(np.int64)


def _split_cell(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split(";") if part.strip()]


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataNotFoundError(f"Broden not found: missing {path}. To prepare it, {_PREPARE_HINT}.")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _require(rows: list[dict[str, str]], columns: Iterable[str], path: Path) -> None:
    present = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in present]
    if rows and missing:
        raise ValueError(f"{path}: missing columns {missing}; has {sorted(present)}")


class Broden:
    """The prepared Broden data set: labels, categories and per-image annotations.

    Args:
        root: the data root (``<root>/broden1_224``); None means ``roots.data_root()``.

    Attributes:
        labels: ``{number: BrodenLabel}``; number 0 is ``"-"`` (unlabelled).
        categories: ``{name: (first, last)}`` from ``category.csv``.
        category_codes: ``{category: {code: global number}}`` from ``c_*.csv``.
        records: one :class:`BrodenRecord` per ``index.csv`` row.

    Raises (on construction):
        DataNotFoundError: a CSV file is missing.
        ValueError: a CSV lacks a needed column, or an entry is malformed.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.folder = broden_dir(root)
        path = self.folder / "label.csv"
        rows = _read_csv(path)
        _require(rows, ("number", "name", "category"), path)
        labels = {0: BrodenLabel(0, "-", MappingProxyType({}), 0, 0.0, ())}
        for row in rows:
            cats = {}
            for entry in _split_cell(row["category"]):
                name, _, count = entry.partition("(")
                cats[name.strip()] = int(count.rstrip(")") or 0)
            number = int(row["number"])
            labels[number] = BrodenLabel(
                number, row["name"], MappingProxyType(cats), int(row.get("frequency") or 0),
                float(row.get("coverage") or 0.0), tuple(_split_cell(row.get("syns"))),
            )  # fmt: skip
        self.labels: Mapping[int, BrodenLabel] = MappingProxyType(labels)
        path = self.folder / "category.csv"
        rows = _read_csv(path)
        _require(rows, ("name", "first", "last"), path)
        self.categories: Mapping[str, tuple[int, int]] = MappingProxyType(
            {row["name"]: (int(row["first"]), int(row["last"])) for row in rows}
        )
        codes = {}
        for category in self.categories:
            path = self.folder / f"c_{category}.csv"
            rows = _read_csv(path)
            _require(rows, ("code", "number"), path)
            codes[category] = MappingProxyType({int(r["code"]): int(r["number"]) for r in rows})
        self.category_codes: Mapping[str, Mapping[int, int]] = MappingProxyType(codes)
        path = self.folder / "index.csv"
        rows = _read_csv(path)
        _require(rows, _INDEX_FIXED, path)
        present = [c for c in (rows[0] if rows else {}) if c in self.categories]
        self.records: tuple[BrodenRecord, ...] = tuple(self._record(row, present, path) for row in rows)

    def _record(self, row: dict[str, str], categories: Sequence[str], path: Path) -> BrodenRecord:
        annotations = {}
        for category in categories:
            entries: list[str | int] = []
            for entry in _split_cell(row[category]):
                if entry.isdigit():
                    number = int(entry)
                    if number not in self.labels:
                        raise ValueError(f"{path}: image {row['image']}: label {number} is not in label.csv")
                    entries.append(number)
                else:
                    entries.append(entry)
            annotations[category] = tuple(entries)
        return BrodenRecord(
            image=row["image"], split=row["split"],
            image_size=(int(row["ih"]), int(row["iw"])), mask_size=(int(row["sh"]), int(row["sw"])),
            annotations=MappingProxyType(annotations),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"Broden(images={len(self)}, labels={len(self.labels)}, categories={list(self.categories)})"

    def _check_index(self, i: int) -> BrodenRecord:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.records):
            raise ValueError(f"i: expected an image index in [0, {len(self.records) - 1}], got {i!r}")
        return self.records[i]

    def _read_rgb(self, relative: str) -> np.ndarray:
        from PIL import Image

        path = self.folder / "images" / relative
        if not path.is_file():
            raise DataNotFoundError(f"Broden file missing: {path}. To prepare it, {_PREPARE_HINT}.")
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    def image(self, i: int) -> torch.Tensor:
        """Image ``i`` as float32 [3, ih, iw] in [0, 1]."""
        rgb = self._read_rgb(self._check_index(i).image)
        return torch.from_numpy(rgb.copy()).permute(2, 0, 1).to(torch.float32) / 255

    def masks(self, i: int, category: str) -> torch.Tensor:
        """The pixel masks of image ``i`` in ``category``, decoded: int64 [m, sh, sw]
        of label numbers (m = number of mask files; 0 = unlabelled). A whole-image
        category has no masks (m = 0).

        Raises:
            ValueError: unknown category or index.
        """
        record = self._check_index(i)
        if category not in record.annotations:
            raise ValueError(f"category: expected one of {list(record.annotations)}, got {category!r}")
        files = [e for e in record.annotations[category] if isinstance(e, str)]
        decoded = [torch.from_numpy(decode_mask(self._read_rgb(f))) for f in files]
        return torch.stack(decoded) if decoded else torch.zeros(0, *record.mask_size, dtype=torch.int64)

    def concepts(self, i: int, categories: Sequence[str] | None = None) -> frozenset[int]:
        """The label numbers image ``i`` contains: every non-zero mask value and every
        whole-image label, over ``categories`` (default: all)."""
        record = self._check_index(i)
        found: set[int] = set()
        for category in categories if categories is not None else record.annotations:
            for entry in record.annotations.get(category, ()):
                if isinstance(entry, int):
                    found.add(entry)
            if any(isinstance(e, str) for e in record.annotations.get(category, ())):
                found.update(int(v) for v in self.masks(i, category).unique().tolist() if v != 0)
        return frozenset(found)

    def dominant_concept(self, i: int, category: str = "object") -> int:
        """The label of ``category`` covering most pixels of image ``i`` (a whole-image
        label counts as covering all); 0 when the image has none."""
        record = self._check_index(i)
        counts: dict[int, int] = {}
        area = record.mask_size[0] * record.mask_size[1]
        for entry in record.annotations.get(category, ()):
            if isinstance(entry, int):
                counts[entry] = counts.get(entry, 0) + area
        masks = self.masks(i, category) if category in record.annotations else torch.zeros(0, dtype=torch.int64)
        values, n = masks.unique(return_counts=True) if masks.numel() else (torch.zeros(0), torch.zeros(0))
        for v, c in zip(values.tolist(), n.tolist()):
            if v != 0:
                counts[int(v)] = counts.get(int(v), 0) + int(c)
        return max(sorted(counts), key=lambda k: counts[k]) if counts else 0


def load_broden(
    split: str = "val",
    *,
    root: str | os.PathLike[str] | None = None,
    category: str = "object",
    n: int | None = None,
    seed: int = 0,
    image_size: int = 224,
) -> ImageSet:
    """Broden images of ``split`` that have a ``category`` label, as an ImageSet.

    Each image's label is its :meth:`Broden.dominant_concept` in ``category``; the
    classes are all label numbers (class ``c`` is Broden label ``c``, ``class_names``
    the label names). Broden has no WordNet ids, so ``synsets`` holds the label names
    too; map them to WordNet before measuring concept distances. Images are resized to
    ``image_size`` (broden1_224 images are 224x224 already).

    Raises:
        ValueError: unknown split or category; bad ``n``.
        DataNotFoundError: not prepared under ``root``.
    """
    from torch.nn.functional import interpolate

    data = Broden(root)
    splits = sorted({r.split for r in data.records})
    if split not in splits:
        raise ValueError(f"split: expected one of {splits}, got {split!r}")
    if category not in data.categories:
        raise ValueError(f"category: expected one of {list(data.categories)}, got {category!r}")
    candidates = [i for i, r in enumerate(data.records) if r.split == split and r.annotations.get(category)]
    labels = torch.tensor([data.dominant_concept(i, category) for i in candidates], dtype=torch.int64)
    keep = labels != 0
    candidates, labels = [c for c, k in zip(candidates, keep.tolist()) if k], labels[keep]
    if not candidates:
        raise ValueError(f"no {split} image of {data.folder} has a {category} label")
    if n is not None:
        from advinterp_lib.data.imagenet import balanced_indices

        chosen = balanced_indices(labels, n, seed)
        candidates, labels = [candidates[int(j)] for j in chosen], labels[chosen]
    images = torch.stack(
        [interpolate(data.image(i)[None], size=(image_size, image_size), mode="bilinear", antialias=True,
                     align_corners=False)[0].clamp(0, 1) for i in candidates]
    )  # fmt: skip
    names = tuple(data.labels[k].name if k in data.labels else f"label {k}" for k in range(max(data.labels) + 1))
    return ImageSet(images=images, labels=labels, class_names=names, synsets=names, name=NAME, split=split)


__all__ = ["Broden", "BrodenLabel", "BrodenRecord", "CATEGORIES", "broden_dir", "decode_mask", "load_broden"]
