"""Agreement between two explanations of the same kind: do they point at the same pixels?

Chapter 4 compares *methods* on one image (Grad-CAM against occlusion); chapter 14
compares one method on two *images* (a real image and its adversarial version). Both
need the same measures, per pair of maps ``a[n], b[n]``:

- **rank correlation**: Spearman's rho over the pixels
  (:func:`~advinterp_lib.interpret.attribution.spearman_correlation`, reused here);
- **top-k% overlap**: the share of the ``k`` most important pixels of ``a`` that are
  also among the ``k`` most important of ``b``, ``|T_a ∩ T_b| / k`` with
  ``k = ceil(fraction * H * W)``. 1 when the two maps put the same pixels on top; about
  ``fraction`` for two unrelated maps. Ties at the threshold are broken at random
  (``generator``), so a flat map gets no order bias — an all-zero Grad-CAM map is
  "no opinion", not "the first pixels".

and a summary over the images with a bootstrap confidence interval of the mean
(:func:`bootstrap_mean`, the percentile bootstrap: resample the images with
replacement, take the mean of each replicate, report the replicates' quantiles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..validation import check_int, check_number
from .attribution import _flat_pair, spearman_correlation

__all__ = ["MeanInterval", "MapAgreement", "top_k_overlap", "bootstrap_mean", "map_agreement"]


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


@dataclass(frozen=True)
class MapAgreement:
    """Agreement of paired maps over a set of images.

    Attributes:
        spearman: float64 [N], rank correlation per pair (NaN where a map is constant).
        overlap: float64 [N], top-``fraction`` pixel overlap per pair, in [0, 1].
        fraction: the share of pixels counted as "top".
        spearman_summary, overlap_summary: :class:`MeanInterval` of each.
    """

    spearman: torch.Tensor
    overlap: torch.Tensor
    fraction: float
    spearman_summary: MeanInterval
    overlap_summary: MeanInterval

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summaries (not the per-image values)."""
        return {"fraction": self.fraction, "spearman": self.spearman_summary.to_dict(),
                "overlap": self.overlap_summary.to_dict()}


def _top_mask(flat: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """bool [N, M]: the k largest entries of each row, ties broken at random."""
    n, m = flat.shape
    shuffle = torch.rand(n, m, generator=generator).argsort(dim=1).to(flat.device)
    shuffled = flat.gather(1, shuffle)
    top_in_shuffle = torch.sort(shuffled, dim=1, descending=True, stable=True).indices[:, :k]
    mask = torch.zeros(n, m, dtype=torch.bool, device=flat.device)
    mask.scatter_(1, shuffle.gather(1, top_in_shuffle), True)
    return mask


def top_k_overlap(
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
    confidence = check_number(confidence, "confidence", minimum=0.0, maximum=1.0, strict_minimum=True,
                              strict_maximum=True)
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


def map_agreement(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    fraction: float = 0.1,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MapAgreement:
    """Spearman correlation and top-``fraction`` overlap of paired maps, per image and
    summarised with bootstrap intervals.

    Args:
        a, b: paired maps [N, ...] of the same shape (signed maps are compared as
            they are: pass ``.abs()`` to compare magnitudes).
        fraction: top share for :func:`top_k_overlap`.
        num_samples, confidence, seed: as :func:`bootstrap_mean` (the overlap's random
            tie-breaking uses ``seed`` too).

    Returns:
        :class:`MapAgreement`.

    Raises:
        TypeError / ValueError: see :func:`top_k_overlap` and :func:`bootstrap_mean`.
    """
    rho = spearman_correlation(a, b)
    overlap = top_k_overlap(a, b, fraction=fraction, generator=torch.Generator().manual_seed(seed))
    nan_summary = MeanInterval(float("nan"), float("nan"), float("nan"), confidence, 0)
    rho_summary = (bootstrap_mean(rho, num_samples=num_samples, confidence=confidence, seed=seed)
                   if torch.isfinite(rho).any() else nan_summary)
    return MapAgreement(
        spearman=rho, overlap=overlap, fraction=float(fraction), spearman_summary=rho_summary,
        overlap_summary=bootstrap_mean(overlap, num_samples=num_samples, confidence=confidence, seed=seed),
    )
