"""A hierarchical bootstrap of a layer's average consis over training seeds.

:func:`~advinterp_lib.consistency.metric.bootstrap_consistency` says how much one
model's layer average depends on which images happened to land in the top sets. A
claim about a *training method* ("the consistent term raises consis_adv") also has to
survive the training seed: another fine-tuning run of the same recipe gives another
model. :func:`hierarchical_bootstrap` resamples all three levels:

1. seeds, with replacement (the between-run spread);
2. neurons of the layer, with replacement;
3. each neuron's top images **by cluster**: the adversarial set holds several images of
   one source (one per target class), which share the source's concept and are not
   independent draws, so whole clusters are resampled (an image with no cluster is its
   own).

The inner levels use *common random numbers* across seeds: replicate ``b`` draws the
same uniforms for every seed. Two consequences, both intended: with one seed, or seeds
whose top-concept tables are identical, the interval is exactly the within-model
bootstrap; and the within-model noise is not averaged away over seeds (it is treated
as shared), so the interval errs on the wide side. The estimate is the plug-in
``mean over seeds of mean over neurons of consis(n)``; the interval is the basic one,
``[2 m - q_hi, 2 m - q_lo]``, as elsewhere in this package (it corrects the plug-in's
upward bias).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..stats import BootstrapInterval, basic_interval
from ..validation import check_int, check_number
from .metric import (
    _check_concept_table,
    _check_correlation,
    concept_distribution,
    consistency_scores,
)

__all__ = ["SeedTopConcepts", "hierarchical_bootstrap", "hierarchical_mean"]


@dataclass(frozen=True, eq=False)
class SeedTopConcepts:
    """One trained model's (one seed's) top images per neuron.

    Attributes:
        concepts: int [C, k], the concept of each neuron's top images.
        clusters: int [C, k] or None, the cluster of each top image (for adversarial
            images: the index of its source image); images of one cluster must share a
            concept. None: every image is its own cluster.
    """

    concepts: torch.Tensor
    clusters: torch.Tensor | None = None


def _cluster_table(
    concepts: torch.Tensor, clusters: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per neuron, its clusters padded to G = the most clusters any neuron has:
    (concept [C, G] int64, size [C, G] float64 with 0 for padding, count [C] int64)."""
    c, k = concepts.shape
    if clusters is None:
        return concepts, torch.ones(c, k, dtype=torch.float64), torch.full((c,), k, dtype=torch.int64)
    rows_concept, rows_size = [], []
    for n in range(c):
        ids, inverse, sizes = torch.unique(clusters[n], return_inverse=True, return_counts=True)
        first = torch.full((len(ids),), -1, dtype=torch.int64).scatter_reduce(
            0, inverse, concepts[n], reduce="amax", include_self=True
        )
        low = torch.full((len(ids),), 1 << 40, dtype=torch.int64).scatter_reduce(
            0, inverse, concepts[n], reduce="amin", include_self=True
        )
        if not torch.equal(first, low):
            bad = int(ids[(first != low).nonzero()[0, 0]])
            raise ValueError(
                f"clusters: the images of cluster {bad} of neuron {n} have different concepts; "
                "a cluster (one source image) must carry one concept"
            )
        rows_concept.append(first)
        rows_size.append(sizes.to(torch.float64))
    count = torch.tensor([len(r) for r in rows_concept], dtype=torch.int64)
    g = int(count.max())
    concept = torch.zeros(c, g, dtype=torch.int64)
    size = torch.zeros(c, g, dtype=torch.float64)
    for n, (rc, rs) in enumerate(zip(rows_concept, rows_size, strict=True)):
        concept[n, : len(rc)] = rc
        size[n, : len(rs)] = rs
    return concept, size, count


def hierarchical_bootstrap(
    seeds: Sequence[SeedTopConcepts],
    correlation: torch.Tensor,
    *,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    resample_neurons: bool = True,
    chunk: int = 20,
) -> BootstrapInterval:
    """The seed-averaged layer average of consis with a hierarchical bootstrap interval.

    Args:
        seeds: one :class:`SeedTopConcepts` per trained model of the method (S >= 1),
            all with the same number of neurons C.
        correlation: A, float [K, K].
        num_samples: B >= 1 replicates; confidence in (0, 1); seed: the generator's.
        resample_neurons: resample the neurons of the layer (level 2); off, each
            replicate keeps every neuron once, as
            :func:`~advinterp_lib.consistency.metric.bootstrap_consistency` does.
        chunk: replicates computed at once (memory: chunk x C x G x K floats).

    Returns:
        :class:`~advinterp_lib.consistency.metric.BootstrapInterval` whose ``samples``
        are the B replicates (compare two methods with
        :func:`~advinterp_lib.consistency.evaluation.interval_difference`: same B and
        confidence).

    Raises:
        TypeError/ValueError: no seeds; tables of the wrong type, shape or range;
            clusters that mix concepts; bad parameters.
    """
    if isinstance(seeds, SeedTopConcepts) or not isinstance(seeds, Sequence) or not seeds:
        raise ValueError("seeds: expected a non-empty sequence of SeedTopConcepts (one per trained model)")
    a = _check_correlation(correlation)
    k_concepts = a.shape[0]
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    confidence = check_number(
        confidence, "confidence", minimum=0.0, maximum=1.0, strict_minimum=True, strict_maximum=True
    )
    chunk = check_int(chunk, "chunk", minimum=1)
    tables = []
    for i, s in enumerate(seeds):
        if not isinstance(s, SeedTopConcepts):
            raise TypeError(f"seeds[{i}]: expected a SeedTopConcepts, got {type(s).__name__}")
        concepts = _check_concept_table(s.concepts, k_concepts, f"seeds[{i}].concepts")
        clusters = s.clusters
        if clusters is not None:
            if (
                not isinstance(clusters, torch.Tensor)
                or clusters.is_floating_point()
                or clusters.shape != concepts.shape
            ):
                raise ValueError(
                    f"seeds[{i}].clusters: expected an integer tensor of shape {tuple(concepts.shape)}, "
                    f"got {getattr(clusters, 'shape', type(clusters).__name__)}"
                )
            clusters = clusters.to(torch.int64)
        tables.append(_cluster_table(concepts, clusters))
    n_neurons = {t[0].shape[0] for t in tables}
    if len(n_neurons) != 1:
        raise ValueError(f"seeds: every model must have the same number of neurons, got {sorted(n_neurons)}")
    c = n_neurons.pop()
    s_count = len(tables)
    g_max = max(t[0].shape[1] for t in tables)
    plug_in = [
        float(
            consistency_scores(concept_distribution(_check_concept_table(s.concepts, k_concepts), k_concepts), a).mean()
        )
        for s in seeds
    ]
    mean = sum(plug_in) / s_count

    generator = torch.Generator().manual_seed(seed)  # levels 2 and 3
    seed_generator = torch.Generator().manual_seed(seed + 1)  # level 1 (apart: S does not shift the others)
    samples = []
    for start in range(0, num_samples, chunk):
        b = min(chunk, num_samples - start)
        seed_pick = torch.randint(0, s_count, (b, s_count), generator=seed_generator)
        neuron_u = torch.rand(b, c, generator=generator, dtype=torch.float64)
        cluster_u = torch.rand(b, c, g_max, generator=generator, dtype=torch.float64)
        if resample_neurons:
            neurons = (neuron_u * c).long().clamp(max=c - 1)
        else:
            neurons = torch.arange(c).expand(b, c)
        per_seed = []
        for concept, size, count in tables:
            g = concept.shape[1]
            cnt = count[neurons]  # [b, c] clusters of each drawn neuron
            pick = (cluster_u[:, :, :g] * cnt[..., None]).long().clamp(max=g - 1)  # [b, c, g]
            valid = torch.arange(g)[None, None, :] < cnt[..., None]
            drawn_concept = concept[neurons].gather(2, pick)
            drawn_size = size[neurons].gather(2, pick) * valid
            counts = torch.zeros(b, c, k_concepts, dtype=torch.float64)
            counts.scatter_add_(2, drawn_concept, drawn_size)
            p = counts / counts.sum(2, keepdim=True)
            per_seed.append(torch.einsum("bck,kl,bcl->bc", p, a, p).mean(1))  # [b]
        per_seed_t = torch.stack(per_seed, 1)  # [b, S]
        samples.append(per_seed_t.gather(1, seed_pick).mean(1))
    samples_t = torch.cat(samples)
    return basic_interval(mean, samples_t, confidence)


def hierarchical_mean(
    values: torch.Tensor,
    *,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """The mean of a per-image measurement over seeds and images, e.g. whether each
    evaluation image is classified correctly under attack by each seed's model, with a
    hierarchical bootstrap interval: seeds with replacement, then images with
    replacement (the same images for every seed: they are the same evaluation images,
    so the draw is paired, as the inner levels of :func:`hierarchical_bootstrap` are).

    Args:
        values: float or bool [S, N], one row per seed's model.

    Returns:
        :class:`~advinterp_lib.consistency.metric.BootstrapInterval` (basic interval).

    Raises:
        TypeError/ValueError: not a 2-D tensor with S, N >= 1; non-finite values; bad
            parameters.
    """
    if not isinstance(values, torch.Tensor) or values.dim() != 2 or 0 in values.shape:
        raise ValueError(
            f"values: expected a tensor [S, N] with S, N >= 1, got {getattr(values, 'shape', type(values).__name__)}"
        )
    v = values.to(torch.float64)
    if not torch.isfinite(v).all():
        raise ValueError("values: expected finite numbers")
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    confidence = check_number(
        confidence, "confidence", minimum=0.0, maximum=1.0, strict_minimum=True, strict_maximum=True
    )
    s_count, n = v.shape
    generator = torch.Generator().manual_seed(seed)
    seed_generator = torch.Generator().manual_seed(seed + 1)
    samples = []
    for start in range(0, num_samples, 100):
        b = min(100, num_samples - start)
        images = torch.randint(0, n, (b, n), generator=generator)
        seeds = torch.randint(0, s_count, (b, s_count), generator=seed_generator)
        per_seed = v[:, images].mean(2).T  # [b, S]
        samples.append(per_seed.gather(1, seeds).mean(1))
    samples_t = torch.cat(samples)
    mean = float(v.mean())
    return basic_interval(mean, samples_t, confidence)
