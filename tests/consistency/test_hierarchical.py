"""The hierarchical bootstrap over training seeds: it reduces to the within-model
bootstrap when the seeds agree, widens with the spread between seeds, and resamples
an adversarial set's images by source."""

from __future__ import annotations

import pytest
import torch

from advinterp_lib.consistency import bootstrap_consistency
from advinterp_lib.consistency.hierarchical import SeedTopConcepts, hierarchical_bootstrap

K, C, k = 10, 64, 30
A = torch.eye(K, dtype=torch.float64)


def table(purity: float, seed: int) -> torch.Tensor:
    """[C, k] concepts: each neuron's top images show its own concept with probability
    ``purity``, else a uniform one (consis grows with purity)."""
    g = torch.Generator().manual_seed(seed)
    own = torch.arange(C)[:, None].expand(C, k) % K
    other = torch.randint(0, K, (C, k), generator=g)
    return torch.where(torch.rand(C, k, generator=g) < purity, own, other)


def width(ci) -> float:
    return ci.high - ci.low


def test_agreeing_seeds_give_exactly_the_within_model_interval() -> None:
    t = table(0.5, 0)
    one = hierarchical_bootstrap([SeedTopConcepts(t)], A, num_samples=400)
    three = hierarchical_bootstrap([SeedTopConcepts(t)] * 3, A, num_samples=400)
    assert three.mean == one.mean and three.low == one.low and three.high == one.high


def test_without_neuron_or_seed_resampling_it_is_the_plain_bootstrap() -> None:
    t = table(0.5, 1)
    ours = hierarchical_bootstrap([SeedTopConcepts(t)], A, num_samples=3000, resample_neurons=False)
    plain = bootstrap_consistency(t, A, num_samples=3000)
    assert ours.mean == pytest.approx(plain.mean, abs=1e-12)
    assert width(ours) == pytest.approx(width(plain), rel=0.1)  # same scheme, other random numbers
    assert ours.bias == pytest.approx(plain.bias, rel=0.15)


def test_interval_widens_with_the_spread_between_seeds() -> None:
    same = [SeedTopConcepts(table(0.5, s)) for s in range(3)]
    spread = [SeedTopConcepts(table(p, s)) for p, s in ((0.2, 0), (0.5, 1), (0.8, 2))]
    a = hierarchical_bootstrap(same, A, num_samples=1000)
    b = hierarchical_bootstrap(spread, A, num_samples=1000)
    seed_means = [float(x) for x in (hierarchical_bootstrap([s], A, num_samples=10).mean for s in spread)]
    assert width(b) > 3 * width(a)
    # the interval covers most of the range of the seeds' own averages
    assert width(b) > 0.5 * (max(seed_means) - min(seed_means))
    assert b.mean == pytest.approx(sum(seed_means) / 3)


def test_clusters_of_identical_images_widen_the_interval() -> None:
    # 10 copies of each of 3 source images per neuron: resampling images as if
    # independent understates the noise; resampling sources does not
    g = torch.Generator().manual_seed(4)
    sources = torch.randint(0, 1000, (C, 3), generator=g).repeat_interleave(10, dim=1)  # [C, 30]
    concepts = sources % K
    independent = hierarchical_bootstrap([SeedTopConcepts(concepts)], A, num_samples=1000)
    clustered = hierarchical_bootstrap([SeedTopConcepts(concepts, sources)], A, num_samples=1000)
    assert clustered.mean == independent.mean
    assert width(clustered) > 1.5 * width(independent)


def test_bad_input_is_refused() -> None:
    t = table(0.5, 0)
    with pytest.raises(ValueError, match="non-empty"):
        hierarchical_bootstrap([], A)
    with pytest.raises(ValueError, match="same number of neurons"):
        hierarchical_bootstrap([SeedTopConcepts(t), SeedTopConcepts(t[:10])], A)
    with pytest.raises(ValueError, match="different concepts"):
        clusters = torch.zeros_like(t)  # one cluster holding several concepts
        hierarchical_bootstrap([SeedTopConcepts(t, clusters)], A)
    with pytest.raises(ValueError, match="clusters"):
        hierarchical_bootstrap([SeedTopConcepts(t, torch.zeros(3, 3, dtype=torch.long))], A)
    with pytest.raises(TypeError):
        hierarchical_bootstrap([t], A)


def test_hierarchical_mean_of_per_image_correctness() -> None:
    from advinterp_lib.consistency.hierarchical import hierarchical_mean

    g = torch.Generator().manual_seed(0)
    agree = (torch.rand(1, 2000, generator=g) < 0.6).float().expand(3, 2000)
    spread = torch.stack([(torch.rand(2000, generator=g) < p).float() for p in (0.4, 0.6, 0.8)])
    a, b = hierarchical_mean(agree), hierarchical_mean(spread)
    assert a.mean == pytest.approx(float(agree.mean()))
    # seeds that agree: the interval is the images' binomial one, ~ +-1.96 sqrt(p(1-p)/N)
    assert width(a) == pytest.approx(2 * 1.96 * (0.6 * 0.4 / 2000) ** 0.5, rel=0.15)
    assert width(b) > 5 * width(a) and b.low < 0.6 < b.high
    with pytest.raises(ValueError):
        hierarchical_mean(torch.ones(5))
