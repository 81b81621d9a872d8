"""The consistency metric: how semantically coherent are a neuron's top images?

For neuron n, ``p_n[c] = Pr(x shows concept c | x activates n)`` is the share of its
top images of concept c, and (paper, Sec. 3)

    consis(n) = p_n^T A p_n,   a_ij = exp(-d(w_i, w_j)^2 / (2 sigma^2)).

It is 1 when every top image shows one concept and about 1/K when the top images
spread evenly over K unrelated concepts. ``consis_adv(n)`` is the same over the top
adversarial images (each carrying its source image's concept). Everything here is
vectorised over neurons: one ``einsum`` for all of them.

consis is quadratic in p, so the plug-in ``p^T A p`` over k images overestimates the
consis of the distribution they are drawn from, by ``(sum_i p_i a_ii - p^T A p) / k``
on average (the multinomial covariance ``(diag p - p p^T) / k``): (1 - consis)/k when
a_ii = 1. The bootstrap replicates show the same shift, so :func:`bootstrap_consistency`
reports the *basic* (reverse percentile) interval, which corrects for it
(:class:`~advinterp_lib.stats.BootstrapInterval`; ``bias`` is the replicates' shift).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..stats import BootstrapInterval, basic_interval
from ..validation import check_int, check_number

__all__ = [
    "concept_distribution",
    "consistency_scores",
    "bootstrap_consistency",
    "consistency_histogram",
    "ConsistencySummary",
    "summarize_consistency",
]


def _check_concept_table(concepts: torch.Tensor, num_concepts: int, name: str = "concepts") -> torch.Tensor:
    if not isinstance(concepts, torch.Tensor) or concepts.is_floating_point() or concepts.dtype == torch.bool:
        raise TypeError(
            f"{name}: expected an integer tensor [C, k], got {getattr(concepts, 'dtype', type(concepts).__name__)}"
        )
    if concepts.dim() != 2 or concepts.shape[1] == 0:
        raise ValueError(f"{name}: expected shape [C, k] with k >= 1, got {tuple(concepts.shape)}")
    if isinstance(num_concepts, bool) or not isinstance(num_concepts, int) or num_concepts < 1:
        raise ValueError(f"num_concepts: expected an int >= 1, got {num_concepts!r}")
    if concepts.numel() and (int(concepts.min()) < 0 or int(concepts.max()) >= num_concepts):
        raise ValueError(
            f"{name}: expected values in [0, {num_concepts - 1}], got min {int(concepts.min())} max "
            f"{int(concepts.max())}"
        )
    return concepts.to(torch.int64)


def _check_correlation(a: torch.Tensor, num_concepts: int | None = None) -> torch.Tensor:
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"correlation: expected a torch.Tensor [K, K], got {type(a).__name__}")
    if a.dim() != 2 or a.shape[0] != a.shape[1] or (num_concepts is not None and a.shape[0] != num_concepts):
        want = f"[{num_concepts}, {num_concepts}]" if num_concepts is not None else "[K, K]"
        raise ValueError(f"correlation: expected shape {want}, got {tuple(a.shape)}")
    if not torch.isfinite(a).all():
        raise ValueError("correlation: expected finite entries")
    return a.to(torch.float64)


def concept_distribution(concepts: torch.Tensor, num_concepts: int) -> torch.Tensor:
    """``p_n``: the share of each concept among each neuron's top images.

    Args:
        concepts: int [C, k], the concept of each of neuron n's k top images.
        num_concepts: K.

    Returns:
        float64 [C, K], rows sum to 1.

    Raises:
        TypeError/ValueError: not an integer [C, k] tensor; a concept outside [0, K).
    """
    concepts = _check_concept_table(concepts, num_concepts)
    counts = torch.zeros(concepts.shape[0], num_concepts, dtype=torch.float64)
    counts.scatter_add_(1, concepts, torch.ones_like(concepts, dtype=torch.float64))
    return counts / concepts.shape[1]


def consistency_scores(p: torch.Tensor, correlation: torch.Tensor) -> torch.Tensor:
    """``consis(n) = p_n^T A p_n`` for every neuron at once.

    Args:
        p: float [C, K], each row a distribution over concepts (non-negative, sum 1).
        correlation: A, float [K, K] (:func:`~advinterp_lib.consistency.concepts.correlation_matrix`).

    Returns:
        float64 [C].

    Raises:
        TypeError/ValueError: wrong types or shapes; rows of ``p`` negative or not
            summing to 1 (tolerance 1e-6).
    """
    if not isinstance(p, torch.Tensor) or not p.is_floating_point():
        raise TypeError(f"p: expected a float tensor [C, K], got {getattr(p, 'dtype', type(p).__name__)}")
    if p.dim() != 2:
        raise ValueError(f"p: expected shape [C, K], got {tuple(p.shape)}")
    a = _check_correlation(correlation, p.shape[1])
    p = p.to(torch.float64)
    if (
        not torch.isfinite(p).all()
        or (p < 0).any()
        or not torch.allclose(p.sum(1), torch.ones(p.shape[0], dtype=torch.float64), atol=1e-6)
    ):
        raise ValueError("p: expected each row to be a distribution (non-negative, summing to 1)")
    return torch.einsum("ck,kl,cl->c", p, a, p)


def bootstrap_consistency(
    concepts: torch.Tensor,
    correlation: torch.Tensor,
    *,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 50,
) -> BootstrapInterval:
    """A basic bootstrap interval for the layer average of consis.

    Each replicate resamples, with replacement and independently per neuron, k images
    from that neuron's k top images, recomputes every ``consis(n)`` and averages over
    the layer. The interval says how much the average depends on which images happened
    to land in the top sets (it does not account for the choice of data set or model).

    Args:
        concepts: int [C, k], the concepts of each neuron's top images.
        correlation: A, [K, K].
        num_samples: B >= 1 replicates; confidence in (0, 1); seed: of the generator
            (same seed, same interval); chunk: replicates computed at once (memory).

    Returns:
        :class:`BootstrapInterval`.

    Raises:
        TypeError/ValueError: bad tables or parameters.
    """
    a = _check_correlation(correlation)
    concepts = _check_concept_table(concepts, a.shape[0])
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    confidence = check_number(
        confidence, "confidence", minimum=0.0, maximum=1.0, strict_minimum=True, strict_maximum=True
    )
    c, k = concepts.shape
    num_k = a.shape[0]
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for start in range(0, num_samples, chunk):
        b = min(chunk, num_samples - start)
        pick = torch.randint(0, k, (b, c, k), generator=generator)
        drawn = concepts[None].expand(b, c, k).gather(2, pick)
        counts = torch.zeros(b, c, num_k, dtype=torch.float64)
        counts.scatter_add_(2, drawn, torch.ones_like(drawn, dtype=torch.float64))
        p = counts / k
        samples.append(torch.einsum("bck,kl,bcl->bc", p, a, p).mean(1))
    samples_t = torch.cat(samples)
    mean = float(consistency_scores(concept_distribution(concepts, num_k), a).mean())
    return basic_interval(mean, samples_t, confidence)


def consistency_histogram(
    scores: torch.Tensor, *, bins: int = 20, value_range: tuple[float, float] = (0.0, 1.0)
) -> tuple[torch.Tensor, torch.Tensor]:
    """The distribution of consis over neurons (the data of the paper's Figure 5).

    Args:
        scores: float [C], consis of each neuron (in [0, 1] for A with entries in [0, 1]).
        bins: number of equal-width bins over ``value_range``.

    Returns:
        (counts int64 [bins], edges float64 [bins + 1]); counts sum to C when every
        score lies in ``value_range`` (the last bin includes its right edge).

    Raises:
        TypeError/ValueError: not a 1-D float tensor; NaN; bins < 1; empty range.
    """
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point() or scores.dim() != 1:
        raise TypeError(f"scores: expected a 1-D float tensor, got {getattr(scores, 'shape', type(scores).__name__)}")
    if not torch.isfinite(scores).all():
        raise ValueError("scores: expected finite values")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins: expected an int >= 1, got {bins!r}")
    lo, hi = float(value_range[0]), float(value_range[1])
    if not hi > lo:
        raise ValueError(f"value_range: expected (low, high) with high > low, got {value_range!r}")
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    s = scores.to(torch.float64)
    inside = (s >= lo) & (s <= hi)
    idx = ((s[inside] - lo) / (hi - lo) * bins).floor().long().clamp(max=bins - 1)
    return torch.bincount(idx, minlength=bins), edges


@dataclass(frozen=True, eq=False)
class ConsistencySummary:
    """consis and consis_adv of every neuron of a layer, their averages and intervals.

    Attributes:
        consis, consis_adv: float64 [C].
        real_interval, adversarial_interval: :class:`BootstrapInterval` of the averages.
    """

    consis: torch.Tensor
    consis_adv: torch.Tensor
    real_interval: BootstrapInterval
    adversarial_interval: BootstrapInterval

    @property
    def mean(self) -> float:
        return float(self.consis.mean())

    @property
    def mean_adv(self) -> float:
        return float(self.consis_adv.mean())

    def to_dict(self) -> dict:
        """JSON-ready numbers (no per-replicate samples)."""

        def interval(b: BootstrapInterval) -> dict:
            return {"mean": b.mean, "low": b.low, "high": b.high, "bias": b.bias, "confidence": b.confidence}

        return {
            "consis": self.mean,
            "consis_adv": self.mean_adv,
            "consis_ci": interval(self.real_interval),
            "consis_adv_ci": interval(self.adversarial_interval),
            "neurons": int(self.consis.shape[0]),
        }


def summarize_consistency(
    real_concepts: torch.Tensor,
    adversarial_concepts: torch.Tensor,
    correlation: torch.Tensor,
    *,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ConsistencySummary:
    """consis(n) and consis_adv(n) for every neuron, with bootstrap intervals of their
    layer averages (Table 1 of the paper is the two averages).

    Args:
        real_concepts: int [C, k_real]; adversarial_concepts: int [C, k_adv] (e.g.
            :class:`~advinterp_lib.consistency.activations.ConceptActivations` fields).
        correlation: A, [K, K].

    Raises:
        TypeError/ValueError: as :func:`bootstrap_consistency`; different C.
    """
    a = _check_correlation(correlation)
    k = a.shape[0]
    real_concepts = _check_concept_table(real_concepts, k, "real_concepts")
    adversarial_concepts = _check_concept_table(adversarial_concepts, k, "adversarial_concepts")
    if real_concepts.shape[:1] != adversarial_concepts.shape[:1]:
        raise ValueError(
            f"real_concepts and adversarial_concepts must have the same neurons, got "
            f"{tuple(real_concepts.shape)} and {tuple(adversarial_concepts.shape)}"
        )
    return ConsistencySummary(
        consis=consistency_scores(concept_distribution(real_concepts, k), a),
        consis_adv=consistency_scores(concept_distribution(adversarial_concepts, k), a),
        real_interval=bootstrap_consistency(
            real_concepts, a, num_samples=num_samples, confidence=confidence, seed=seed
        ),
        adversarial_interval=bootstrap_consistency(
            adversarial_concepts, a, num_samples=num_samples, confidence=confidence, seed=seed + 1
        ),
    )
