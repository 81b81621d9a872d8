"""Nearest neighbours in a network's feature space (Krizhevsky et al. 2012, Fig. 4).

Images whose last-layer features are close tend to share a class even when their
pixels differ: the representation has abstracted away pose and colour.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..models.layers import capture_activations
from ..models.state import eval_mode, model_device
from ..validation import check_images


def _classifier_input_name(model: nn.Module) -> str:
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer; pass layer= explicitly")
    return last


@torch.no_grad()
def embed(
    model: nn.Module,
    images: torch.Tensor,
    *,
    layer: str | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """Feature vectors of ``images`` ([N,C,H,W] in [0,1]) -> CPU tensor [N, D].

    ``layer=None`` takes the input of the model's last ``nn.Linear`` (the
    penultimate representation); a layer name takes that layer's output, flattened.
    """
    check_images(images, "images", model=model)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = model_device(model)
    name = layer if layer is not None else _classifier_input_name(model)
    chunks = []
    with eval_mode(model):
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device)
            with capture_activations(model, [name], inputs=layer is None) as acts:
                model(batch)
            chunks.append(acts[name].flatten(1).cpu())
    return torch.cat(chunks)


def nearest_neighbours(
    queries: torch.Tensor,
    gallery: torch.Tensor,
    k: int,
    *,
    exclude: torch.Tensor | None = None,
    chunk_size: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest gallery rows (Euclidean) of each query row.

    ``queries`` [Q, D], ``gallery`` [G, D] (any matching D; flatten images first).
    Returns ``(indices [Q, k], distances [Q, k])``, nearest first. ``exclude`` [Q]
    (optional) names one gallery index per query that is never returned — the
    query itself when queries are drawn from the gallery. Distances are computed in
    float64, ``chunk_size`` queries at a time.
    """
    if queries.dim() != 2 or gallery.dim() != 2 or queries.shape[1] != gallery.shape[1]:
        raise ValueError(
            f"queries and gallery must be 2-D with the same width, got {tuple(queries.shape)} and "
            f"{tuple(gallery.shape)}"
        )
    if exclude is not None and (exclude.shape != (len(queries),) or exclude.min() < 0 or exclude.max() >= len(gallery)):
        raise ValueError(
            f"exclude must hold one gallery index per query (shape [{len(queries)}]), got shape {tuple(exclude.shape)}"
        )
    extra = 1 if exclude is not None else 0
    if not 1 <= k <= len(gallery) - extra:
        raise ValueError(f"k must be in [1, {len(gallery) - extra}], got {k}")
    gallery64 = gallery.double()
    dists, inds = [], []
    for start in range(0, len(queries), chunk_size):  # bounded memory: chunk x G distances
        d = torch.cdist(queries[start : start + chunk_size].double(), gallery64)
        if exclude is not None:
            d[torch.arange(d.shape[0]), exclude[start : start + chunk_size]] = float("inf")
        dist, ind = d.topk(k, dim=1, largest=False)
        dists.append(dist)
        inds.append(ind)
    return torch.cat(inds), torch.cat(dists).to(queries.dtype)


def neighbour_label_agreement(
    neighbour_indices: torch.Tensor, query_labels: torch.Tensor, gallery_labels: torch.Tensor
) -> float:
    """The fraction of neighbours that share their query's label (a number in [0, 1]).

    Args:
        neighbour_indices: int [Q, k], indices into the gallery.
        query_labels: int [Q]; gallery_labels: int [G].

    Raises:
        TypeError/ValueError: not integer tensors, shapes that disagree, an index outside the gallery.
    """
    for name, t, dim in (
        ("neighbour_indices", neighbour_indices, 2),
        ("query_labels", query_labels, 1),
        ("gallery_labels", gallery_labels, 1),
    ):
        if not isinstance(t, torch.Tensor) or t.is_floating_point() or t.is_complex():
            raise TypeError(f"{name} must be an integer tensor, got {getattr(t, 'dtype', type(t).__name__)}")
        if t.dim() != dim:
            raise ValueError(f"{name} must be {dim}-D, got shape {tuple(t.shape)}")
    if query_labels.shape[0] != neighbour_indices.shape[0]:
        raise ValueError(
            f"query_labels must have one label per row of neighbour_indices ({neighbour_indices.shape[0]}), "
            f"got shape {tuple(query_labels.shape)}"
        )
    if neighbour_indices.numel() and (
        int(neighbour_indices.min()) < 0 or int(neighbour_indices.max()) >= len(gallery_labels)
    ):
        raise ValueError(
            f"neighbour_indices must index gallery_labels (0..{len(gallery_labels) - 1}), "
            f"got values in [{int(neighbour_indices.min())}, {int(neighbour_indices.max())}]"
        )
    same = gallery_labels[neighbour_indices] == query_labels[:, None]
    return same.double().mean().item()


def neighbours_in_spaces(
    spaces: Mapping[str, torch.Tensor], queries: torch.Tensor, labels: torch.Tensor, k: int
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """The ``k`` nearest neighbours of the same queries in several feature spaces of one
    data set, and how often they share their query's label (chapter 1).

    Each query is a row of the data set itself and is never its own neighbour.

    Args:
        spaces: name -> vectors [N, D] (D may differ between spaces; flatten images first).
        queries: int [Q], the data set rows used as queries.
        labels: int [N], the label of every row.
        k: neighbours per query.

    Returns:
        ``(neighbours, agreement)``: name -> int [Q, k] row indices (nearest first), and
        name -> the fraction of neighbours sharing their query's label, in [0, 1].

    Raises:
        ValueError: no spaces, spaces or labels of another number of rows, a bad ``k``
            or query index (as :func:`nearest_neighbours`).
    """
    if not spaces:
        raise ValueError("spaces: need at least one feature space")
    for name, vectors in spaces.items():
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or len(vectors) != len(labels):
            raise ValueError(
                f"spaces[{name!r}]: expected vectors [N={len(labels)}, D] (one row per label), "
                f"got {getattr(vectors, 'shape', type(vectors).__name__)}"
            )
    neighbours, agreement = {}, {}
    for name, vectors in spaces.items():
        idx, _ = nearest_neighbours(vectors[queries], vectors, k, exclude=queries)
        neighbours[name] = idx
        agreement[name] = neighbour_label_agreement(idx, labels[queries], labels)
    return neighbours, agreement
