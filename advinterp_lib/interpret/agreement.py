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

from dataclasses import dataclass

import torch

from ..stats import MeanInterval, bootstrap_mean, spearman_correlation, top_fraction_overlap

__all__ = ["MapAgreement", "map_agreement"]


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
        return {
            "fraction": self.fraction,
            "spearman": self.spearman_summary.to_dict(),
            "overlap": self.overlap_summary.to_dict(),
        }


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
        fraction: top share for :func:`~advinterp_lib.stats.top_fraction_overlap`.
        num_samples, confidence, seed: as :func:`bootstrap_mean` (the overlap's random
            tie-breaking uses ``seed`` too).

    Returns:
        :class:`MapAgreement`.

    Raises:
        TypeError / ValueError: see :func:`~advinterp_lib.stats.top_fraction_overlap` and :func:`bootstrap_mean`.
    """
    rho = spearman_correlation(a, b)
    overlap = top_fraction_overlap(a, b, fraction=fraction, generator=torch.Generator().manual_seed(seed))
    nan_summary = MeanInterval(float("nan"), float("nan"), float("nan"), confidence, 0)
    rho_summary = (
        bootstrap_mean(rho, num_samples=num_samples, confidence=confidence, seed=seed)
        if torch.isfinite(rho).any()
        else nan_summary
    )
    return MapAgreement(
        spearman=rho,
        overlap=overlap,
        fraction=float(fraction),
        spearman_summary=rho_summary,
        overlap_summary=bootstrap_mean(overlap, num_samples=num_samples, confidence=confidence, seed=seed),
    )
