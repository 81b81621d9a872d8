"""Statistics shared by the library: correlations, overlaps of top sets, bootstrap intervals.

One home for the small numerical tools that several families use, so each exists once:

- **correlations of paired rows** (explanation maps [N, ...] flattened per map, or
  neuron scores [N, C]): :func:`pearson_correlation`, :func:`spearman_correlation`
  (ties get their average rank, as ``scipy.stats.spearmanr``) and :func:`kendall_tau`
  (tau-b, as ``scipy.stats.kendalltau``). NaN where a row is constant.
- **overlap of top sets**: :func:`top_k_overlap` (the ``k`` largest entries per row, ties
  broken by the lower index: neuron rankings) and :func:`top_fraction_overlap` (the top
  ``fraction`` of each map's pixels, ties broken at random so a flat map has no order
  bias: explanation maps).
- **bootstrap intervals**: :class:`MeanInterval` with :func:`bootstrap_mean` (the
  percentile interval of a mean over images) and :class:`BootstrapInterval` with
  :func:`basic_interval` (the basic interval of an estimate from its replicates, which
  keeps the replicates so that two estimates can be compared pairwise).

Everything takes and returns tensors (float64 results) and checks its arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch

from .validation import check_int, check_number

__all__ = [
    "pearson_correlation",
    "spearman_correlation",
    "kendall_tau",
    "check_paired_scores",
    "top_k_overlap",
    "top_fraction_overlap",
    "MeanInterval",
    "bootstrap_mean",
    "BootstrapInterval",
    "basic_interval",
]


# --- correlations of paired rows ---------------------------------------------------


def _flat_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor of maps [N, ...], got {type(t).__name__}")
        if t.dim() < 2 or t[0].numel() < 2:
            raise ValueError(f"{name} must be maps [N, ...] with at least 2 values each, got shape {tuple(t.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a.detach().flatten(1).double(), b.detach().flatten(1).double()


def _pearson_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    denom = a.norm(dim=1) * b.norm(dim=1)
    r = (a * b).sum(dim=1) / denom
    return torch.where(denom > 0, r, torch.full_like(r, float("nan")))


def _average_ranks(v: torch.Tensor) -> torch.Tensor:
    """Ranks 1..M of every row of ``v`` [N, M], ties sharing their average rank."""
    n, m = v.shape
    sorted_v, order = v.sort(dim=1, stable=True)
    new_group = torch.ones_like(sorted_v, dtype=torch.bool)
    new_group[:, 1:] = sorted_v[:, 1:] != sorted_v[:, :-1]
    group = new_group.long().cumsum(dim=1) - 1  # group id per row, 0..G-1
    flat_group = (group + torch.arange(n, device=v.device).unsqueeze(1) * m).flatten()
    positions = torch.arange(1, m + 1, dtype=v.dtype, device=v.device).expand(n, m).flatten()
    sums = torch.zeros(n * m, dtype=v.dtype, device=v.device).index_add_(0, flat_group, positions)
    counts = torch.zeros(n * m, dtype=v.dtype, device=v.device).index_add_(0, flat_group, torch.ones_like(positions))
    avg_sorted = (sums / counts.clamp(min=1))[flat_group].view(n, m)
    ranks = torch.empty_like(avg_sorted)
    ranks.scatter_(1, order, avg_sorted)
    return ranks


def pearson_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between paired maps, one value per map.

    Args:
        a, b: maps of the same shape [N, ...] (e.g. [N, 1, H, W]).

    Returns:
        float64 tensor [N] in [-1, 1]; NaN where either map is constant.
    """
    fa, fb = _flat_pair(a, b)
    return _pearson_rows(fa, fb)


def spearman_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between paired maps (Pearson correlation of their
    ranks, ties given their average rank, as ``scipy.stats.spearmanr``).

    Returns:
        float64 tensor [N] in [-1, 1]; NaN where either map is constant.
    """
    fa, fb = _flat_pair(a, b)
    return _pearson_rows(_average_ranks(fa), _average_ranks(fb))


def check_paired_scores(a: object, b: object) -> tuple[torch.Tensor, torch.Tensor]:
    """``a`` and ``b`` as float64, after checking they are float tables of one shape [N, C]
    with C >= 2 (one ranking per row); TypeError/ValueError otherwise."""
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a float tensor [N, C], got {getattr(t, 'dtype', type(t).__name__)}")
    a, b = cast(torch.Tensor, a), cast(torch.Tensor, b)  # checked just above
    if a.dim() != 2 or a.shape != b.shape or a.shape[1] < 2:
        raise ValueError(
            f"a and b must have the same shape [N, C] with C >= 2, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return a.to(torch.float64), b.to(torch.float64)


def kendall_tau(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kendall's tau-b between the rows of ``a`` and ``b`` (as ``scipy.stats.kendalltau``).

    Args:
        a, b: float [N, C], one ranking per row (e.g. two influence scores per neuron).

    Returns:
        float64 [N] in [-1, 1]; NaN where a row is constant.

    Raises:
        TypeError/ValueError: not float tensors of one shape [N, C] with C >= 2.
    """
    a, b = check_paired_scores(a, b)
    sa = (a[:, :, None] - a[:, None, :]).sign()  # [N, C, C]
    sb = (b[:, :, None] - b[:, None, :]).sign()
    concordance = (sa * sb).sum((1, 2)) / 2
    untied_a = (sa != 0).sum((1, 2)).double() / 2  # = pairs - ties in a
    untied_b = (sb != 0).sum((1, 2)).double() / 2
    denom = (untied_a * untied_b).sqrt()
    tau = concordance / denom.clamp(min=1)
    return torch.where(denom > 0, tau, torch.full_like(tau, float("nan")))


# --- overlap of top sets -----------------------------------------------------------


def top_k_overlap(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """The share of each row's top-k entries of ``a`` that are also among the top-k of
    ``b``: float64 [N] in [0, 1] (ties broken by the lower index).

    Raises:
        TypeError/ValueError: as :func:`kendall_tau`; ``k`` outside [1, C].
    """
    a, b = check_paired_scores(a, b)
    check_int(k, "k", minimum=1, maximum=a.shape[1])
    ta = torch.sort(a, dim=1, descending=True, stable=True).indices[:, :k]
    tb = torch.sort(b, dim=1, descending=True, stable=True).indices[:, :k]
    return (ta[:, :, None] == tb[:, None, :]).any(2).sum(1).to(torch.float64) / k


def _top_mask(flat: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """bool [N, M]: the k largest entries of each row, ties broken at random."""
    n, m = flat.shape
    shuffle = torch.rand(n, m, generator=generator).argsort(dim=1).to(flat.device)
    shuffled = flat.gather(1, shuffle)
    top_in_shuffle = torch.sort(shuffled, dim=1, descending=True, stable=True).indices[:, :k]
    mask = torch.zeros(n, m, dtype=torch.bool, device=flat.device)
    mask.scatter_(1, shuffle.gather(1, top_in_shuffle), True)
    return mask


def top_fraction_overlap(
    a: torch.Tensor, b: torch.Tensor, *, fraction: float = 0.1, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Share of the top-``fraction`` pixels of ``a`` that are also top pixels of ``b``.

    Args:
        a, b: paired maps of the same shape [N, ...] (e.g. [N, 1, H, W]); larger =
            more important (pass ``.abs()`` to rank signed maps by magnitude).
        fraction: in (0, 1]; ``k = ceil(fraction * M)`` pixels of the ``M`` per map.
        generator: random tie-breaking (CPU generator).

    Returns:
        float64 [N] in [0, 1]: ``|T_a ∩ T_b| / k``. Symmetric in ``a`` and ``b``.

    Raises:
        TypeError / ValueError: non-tensors, shapes that differ, fewer than 2 values
            per map, NaN values, ``fraction`` outside (0, 1].
    """
    fa, fb = _flat_pair(a, b)
    fraction = check_number(fraction, "fraction", minimum=0.0, maximum=1.0, strict_minimum=True)
    if not (torch.isfinite(fa).all() and torch.isfinite(fb).all()):
        raise ValueError("a and b must be finite maps, got NaN or inf values")
    m = fa.shape[1]
    k = max(1, math.ceil(fraction * m - 1e-9))
    both = _top_mask(fa, k, generator) & _top_mask(fb, k, generator)
    return both.sum(dim=1).double() / k


# --- bootstrap intervals -----------------------------------------------------------


@dataclass(frozen=True)
class MeanInterval:
    """The mean of per-image values with a percentile-bootstrap interval.

    Attributes:
        mean: the mean over the finite values.
        low, high: the interval at ``confidence`` (``low <= mean <= high`` up to the
            replicates' spread; equal to ``mean`` when all values are equal).
        confidence: e.g. 0.95.
        n: how many finite values went in (NaN values, e.g. the Spearman
            correlation of a constant map, are left out).
    """

    mean: float
    low: float
    high: float
    confidence: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready: ``{"mean", "low", "high", "confidence", "n"}``."""
        return {"mean": self.mean, "low": self.low, "high": self.high, "confidence": self.confidence, "n": self.n}


def bootstrap_mean(
    values: torch.Tensor, *, num_samples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> MeanInterval:
    """Mean of ``values`` with a percentile-bootstrap confidence interval.

    Args:
        values: a 1-D tensor [N] of per-image numbers; NaN entries are left out.
        num_samples: bootstrap replicates, >= 1.
        confidence: in (0, 1).
        seed: the replicates' random seed (a fixed seed gives a fixed interval).

    Returns:
        :class:`MeanInterval`.

    Raises:
        TypeError / ValueError: not a 1-D tensor, no finite value, inf values,
            bad ``num_samples`` or ``confidence``.
    """
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a 1-D tensor, got {type(values).__name__}")
    if values.dim() != 1:
        raise ValueError(f"values must be a 1-D tensor [N], got shape {tuple(values.shape)}")
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    confidence = check_number(
        confidence, "confidence", minimum=0.0, maximum=1.0, strict_minimum=True, strict_maximum=True
    )
    v = values.detach().double().cpu()
    if torch.isinf(v).any():
        raise ValueError("values must not contain inf")
    v = v[~torch.isnan(v)]
    if v.numel() == 0:
        raise ValueError("values has no finite entry to average")
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, v.numel(), (num_samples, v.numel()), generator=generator)
    means = v[idx].mean(dim=1)
    tail = (1.0 - confidence) / 2
    low, high = torch.quantile(means, torch.tensor([tail, 1.0 - tail], dtype=torch.float64)).tolist()
    return MeanInterval(mean=float(v.mean()), low=float(low), high=float(high), confidence=confidence, n=int(v.numel()))


@dataclass(frozen=True, eq=False)
class BootstrapInterval:
    """An estimate with its bootstrap replicates and their *basic* (reverse percentile)
    interval ``[2 mean - q_hi, 2 mean - q_lo]``, built by :func:`basic_interval`.

    The basic interval corrects for a plug-in estimate's bias, which the replicates show
    as a shift: the layer average of consis is the case in point (consis is quadratic in
    p, so ``p^T A p`` over k images overestimates it by about (1 - consis)/k; see
    :mod:`advinterp_lib.consistency.metric`). The interval can lie below ``mean`` when
    the bias is large. Keeping ``samples`` lets two estimates drawn with the same
    resampling be compared pairwise (``consistency.evaluation.interval_difference``).

    Attributes:
        mean: the estimate on the data (not resampled).
        low, high: the basic bootstrap interval at ``confidence``.
        bias: ``samples.mean() - mean``, the estimated upward bias of ``mean``.
        confidence: e.g. 0.95.
        samples: float64 [B], the estimate on each bootstrap replicate.
    """

    mean: float
    low: float
    high: float
    bias: float
    confidence: float
    samples: torch.Tensor


def basic_interval(mean: float, samples: torch.Tensor, confidence: float) -> BootstrapInterval:
    """The basic (reverse percentile) bootstrap interval ``[2 mean - q_hi, 2 mean - q_lo]``
    of an estimate ``mean`` from its replicates ``samples`` (float64 [B])."""
    alpha = (1.0 - confidence) / 2
    q_lo, q_hi = torch.quantile(samples, torch.tensor([alpha, 1 - alpha], dtype=torch.float64)).tolist()
    return BootstrapInterval(
        mean=mean,
        low=2 * mean - q_hi,
        high=2 * mean - q_lo,
        bias=float(samples.mean()) - mean,
        confidence=confidence,
        samples=samples,
    )
