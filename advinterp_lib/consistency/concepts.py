"""Concepts: classes as WordNet 3.0 synsets, their distances, and the matrix A.

The paper measures how far apart two concepts are by their WordNet distance
``d(w_i, w_j)``, the length of the shortest path between the two synsets in the noun
hypernym graph (nltk's ``Synset.shortest_path_distance``), and turns distances into a
correlation matrix ``a_ij = exp(-d_ij^2 / (2 sigma^2))`` (``a_ii = 1``).

We call ``shortest_path_distance`` without ``simulate_root``: every class we use (the
ten Fashion-MNIST classes, ImageNet's 1000 wnids) is a noun below ``entity.n.01``, so
the graph is connected and a simulated root changes nothing (a test checks it for the
Fashion-MNIST classes). Two synsets with no path raise a ValueError.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from nltk.corpus.reader.wordnet import Synset

from ..data import synset as _synset
from ..data import synset_from_wnid

__all__ = [
    "class_synsets",
    "synset_distance",
    "distance_matrix",
    "correlation_matrix",
    "hypernym_path",
    "HypernymTree",
    "hypernym_tree",
    "path_turn",
    "evenly_spread",
]


def class_synsets(classes: Sequence[str], *, root: str | os.PathLike[str] | None = None) -> list[Synset]:
    """The WordNet 3.0 synset of each class.

    Args:
        classes: synset names (``"sandal.n.01"``, as ``ImageSet.synsets``) or ImageNet
            wnids (``"n02123045"``), in class order; both may be mixed.
        root: the data root (None: ``roots.data_root()``).

    Returns:
        One nltk ``Synset`` per class, in order.

    Raises:
        TypeError: ``classes`` is not a sequence of str.
        ValueError: empty, or an unknown synset name or wnid (the message names it).
    """
    if isinstance(classes, str) or not isinstance(classes, Sequence) or not all(isinstance(c, str) for c in classes):
        raise TypeError(f"classes: expected a sequence of synset names or wnids, got {classes!r}")
    if len(classes) == 0:
        raise ValueError("classes: expected at least one class, got none")
    out = []
    for c in classes:
        is_wnid = len(c) == 9 and c[0] == "n" and c[1:].isdigit()
        out.append(synset_from_wnid(c, root=root) if is_wnid else _synset(c, root=root))
    return out


def synset_distance(a: Synset, b: Synset) -> int:
    """The WordNet distance: edges on the shortest path between ``a`` and ``b`` in the
    hypernym graph (0 for the same synset; sandal-boot 3, sandal-bag 7).

    Raises:
        TypeError: an argument is not an nltk ``Synset``.
        ValueError: no path joins the two synsets (e.g. a noun and a verb).
    """
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, Synset):
            raise TypeError(f"{name}: expected an nltk Synset, got {type(s).__name__}")
    d = a.shortest_path_distance(b)
    if d is None:
        raise ValueError(f"no hypernym path joins {a.name()} and {b.name()}")
    return int(d)


def distance_matrix(synsets: Sequence[Synset]) -> torch.Tensor:
    """Pairwise WordNet distances ``D[i, j] = d(w_i, w_j)``.

    Args:
        synsets: K nltk synsets (see :func:`class_synsets`).

    Returns:
        float64 [K, K], symmetric, zero diagonal, integer-valued.

    Raises:
        TypeError/ValueError: as :func:`synset_distance`; an empty list.
    """
    if len(synsets) == 0:
        raise ValueError("synsets: expected at least one synset, got none")
    k = len(synsets)
    d = torch.zeros(k, k, dtype=torch.float64)
    for i in range(k):
        for j in range(i + 1, k):
            d[i, j] = d[j, i] = synset_distance(synsets[i], synsets[j])
    if k == 1:
        synset_distance(synsets[0], synsets[0])  # type check
    return d


def correlation_matrix(distances: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """The paper's concept correlation ``A``: ``a_ij = exp(-d_ij^2 / (2 sigma^2))``.

    Args:
        distances: [K, K] non-negative, symmetric, zero diagonal (from
            :func:`distance_matrix`).
        sigma: the kernel width, > 0 (the paper does not give it; we use 1: see
            chapter 10).

    Returns:
        float64 [K, K], symmetric, ones on the diagonal, entries in (0, 1].

    Raises:
        TypeError: ``distances`` not a tensor.
        ValueError: wrong shape, negative/NaN/asymmetric entries, nonzero diagonal,
            ``sigma`` not a positive finite number.
    """
    if not isinstance(distances, torch.Tensor):
        raise TypeError(f"distances: expected a torch.Tensor [K, K], got {type(distances).__name__}")
    if distances.dim() != 2 or distances.shape[0] != distances.shape[1] or distances.shape[0] == 0:
        raise ValueError(f"distances: expected a square [K, K] tensor, got shape {tuple(distances.shape)}")
    d = distances.to(torch.float64)
    if not torch.isfinite(d).all() or (d < 0).any():
        raise ValueError("distances: expected finite non-negative entries")
    if not torch.equal(d, d.t()) or (d.diagonal() != 0).any():
        raise ValueError("distances: expected a symmetric matrix with a zero diagonal")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma: expected a positive finite number, got {sigma!r}")
    return torch.exp(-(d**2) / (2.0 * float(sigma) ** 2))


def _check_synset(s: object, name: str) -> Synset:
    if not isinstance(s, Synset):
        raise TypeError(f"{name}: expected an nltk Synset, got {type(s).__name__}")
    return s


def hypernym_path(s: Synset) -> list[Synset]:
    """The shortest of ``s``'s hypernym paths, from ``s`` up to the root (``entity.n.01``).

    Ties keep the first path nltk lists. A root synset gives ``[s]``.

    Raises:
        TypeError: ``s`` is not an nltk ``Synset``.
    """
    return min(_check_synset(s, "s").hypernym_paths(), key=len)[::-1]


@dataclass(frozen=True)
class HypernymTree:
    """The union of hypernym paths, as a tree.

    Attributes:
        root: the node nearest the top (depth 0).
        children: each inner node's children, in the order the paths first reach them.
        depth: each node's depth below ``root``, along the path that reached it last.
    """

    root: Synset
    children: dict[Synset, list[Synset]]
    depth: dict[Synset, int]


def hypernym_tree(paths: Sequence[Sequence[Synset]]) -> HypernymTree:
    """Merge hypernym paths (each leaf first, root last, as :func:`hypernym_path`) into one tree.

    Args:
        paths: one path per class, each of at least two synsets, all ending at one root.

    Returns:
        :class:`HypernymTree`.

    Raises:
        ValueError: no paths, or a path of fewer than two synsets.
        TypeError: a path holds something that is not a ``Synset``.
    """
    if len(paths) == 0:
        raise ValueError("paths: expected at least one hypernym path, got none")
    children: dict[Synset, list[Synset]] = {}
    depth: dict[Synset, int] = {}
    for i, path in enumerate(paths):
        if len(path) < 2:
            raise ValueError(f"paths[{i}]: expected at least two synsets (a leaf and the root), got {len(path)}")
        for s in path:
            _check_synset(s, f"paths[{i}]")
        down = list(path)[::-1]
        for d, (parent, child) in enumerate(zip(down[:-1], down[1:], strict=True)):
            children.setdefault(parent, [])
            if child not in children[parent]:
                children[parent].append(child)
            depth[parent], depth[child] = d, d + 1
    return HypernymTree(root=min(depth, key=depth.__getitem__), children=children, depth=depth)


def _climb(s: Synset) -> dict[Synset, int]:
    """Steps from ``s`` up to each of its ancestors (and itself, 0), breadth first."""
    steps, frontier = {s: 0}, [s]
    while frontier:
        nxt = []
        for node in frontier:
            for parent in node.hypernyms() + node.instance_hypernyms():
                if parent not in steps:
                    steps[parent] = steps[node] + 1
                    nxt.append(parent)
        frontier = nxt
    return steps


def path_turn(a: Synset, b: Synset) -> Synset:
    """Where the shortest path between ``a`` and ``b`` turns: the common hypernym (or the
    synset itself) that minimises the two climbs to it; ties go to the first name.

    The two climbs add up to :func:`synset_distance` (chapter 10 checks it).

    Raises:
        TypeError: an argument is not an nltk ``Synset``.
        ValueError: the two synsets share no hypernym.
    """
    up_a, up_b = _climb(_check_synset(a, "a")), _climb(_check_synset(b, "b"))
    common = up_a.keys() & up_b.keys()
    if not common:
        raise ValueError(f"{a.name()} and {b.name()} share no hypernym")
    return min(common, key=lambda h: (up_a[h] + up_b[h], h.name()))


def evenly_spread(classes: Sequence[int], *, images_per_class: int = 12) -> torch.Tensor:
    """The top-image concepts of a made-up neuron whose top images spread evenly over ``classes``.

    Args:
        classes: class indices (>= 0), each drawn ``images_per_class`` times.
        images_per_class: >= 1.

    Returns:
        int64 [1, len(classes) * images_per_class]: the classes in order, repeated
        (a row for :func:`~advinterp_lib.consistency.concept_distribution`).

    Raises:
        ValueError: no classes, a negative or non-int class, ``images_per_class`` < 1.
    """
    if len(classes) == 0:
        raise ValueError("classes: expected at least one class index, got none")
    if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in classes):
        raise ValueError(f"classes: expected class indices >= 0, got {list(classes)!r}")
    if isinstance(images_per_class, bool) or not isinstance(images_per_class, int) or images_per_class < 1:
        raise ValueError(f"images_per_class: expected an int >= 1, got {images_per_class!r}")
    return torch.tensor([list(classes) * images_per_class])
