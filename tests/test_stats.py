"""advinterp_lib.stats: correlations equal scipy/numpy, overlaps of top sets (closed forms,
a brute-force twin, chance level), bootstrap intervals (coverage of a known mean)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from advinterp_lib.stats import (
    bootstrap_mean,
    kendall_tau,
    pearson_correlation,
    spearman_correlation,
    top_fraction_overlap,
    top_k_overlap,
)


def _maps(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


# --- correlations ----------------------------------------------------------------------


def test_spearman_matches_scipy_with_ties():
    gen = torch.Generator().manual_seed(7)
    a = torch.randint(0, 5, (6, 1, 4, 4), generator=gen).float()  # many ties
    b = torch.rand(6, 1, 4, 4, generator=gen)
    b[0] = a[0] * 2 + 1  # monotone: rho = 1
    ours = spearman_correlation(a, b)
    for i in range(6):
        ref = scipy.stats.spearmanr(a[i].flatten().numpy(), b[i].flatten().numpy()).statistic
        assert ours[i].item() == pytest.approx(ref, abs=1e-12)
    assert ours[0].item() == pytest.approx(1.0)


def test_pearson_matches_numpy_and_constant_maps_give_nan():
    gen = torch.Generator().manual_seed(8)
    a, b = torch.randn(4, 1, 5, 5, generator=gen), torch.randn(4, 1, 5, 5, generator=gen)
    ours = pearson_correlation(a, b)
    for i in range(4):
        assert ours[i].item() == pytest.approx(np.corrcoef(a[i].flatten(), b[i].flatten())[0, 1], abs=1e-12)
    a[2] = 0.0
    assert torch.isnan(pearson_correlation(a, b)[2])
    assert torch.isnan(spearman_correlation(a, b)[2])
    with pytest.raises(ValueError, match="same shape"):
        pearson_correlation(a, b[:3])


def test_kendall_of_a_constant_row_is_nan_and_of_a_reversal_is_minus_one():
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]])
    b = torch.tensor([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    tau = kendall_tau(a, b)
    assert float(tau[0]) == -1.0 and torch.isnan(tau[1])


# --- overlaps of top sets --------------------------------------------------------------


def test_top_k_overlap():
    a = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])
    assert float(top_k_overlap(a, a, 2)) == 1.0
    assert float(top_k_overlap(a, -a, 2)) == 0.0
    assert float(top_k_overlap(a, torch.tensor([[5.0, 1.0, 4.0, 2.0, 3.0]]), 2)) == 0.5


def test_overlap_of_a_map_with_itself_and_with_its_reverse():
    a = _maps()
    assert torch.equal(top_fraction_overlap(a, a, fraction=0.25), torch.ones(4, dtype=torch.float64))
    assert torch.equal(top_fraction_overlap(a, -a, fraction=0.25), torch.zeros(4, dtype=torch.float64))
    assert torch.equal(
        top_fraction_overlap(a, 3 * a + 1, fraction=0.1), torch.ones(4, dtype=torch.float64)
    )  # rank-only


def test_overlap_matches_a_brute_force_twin():
    a, b = _maps(seed=1), _maps(seed=2)
    fraction = 0.2
    k = math.ceil(fraction * 36)
    ours = top_fraction_overlap(a, b, fraction=fraction)
    for i in range(4):
        ta = set(torch.topk(a[i].flatten(), k).indices.tolist())
        tb = set(torch.topk(b[i].flatten(), k).indices.tolist())
        assert ours[i].item() == pytest.approx(len(ta & tb) / k)
    assert torch.equal(ours, top_fraction_overlap(b, a, fraction=fraction))  # symmetric


def test_overlap_of_unrelated_maps_is_about_the_fraction():
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(2000, 1, 10, 10, generator=g), torch.rand(2000, 1, 10, 10, generator=g)
    assert top_fraction_overlap(a, b, fraction=0.2).mean().item() == pytest.approx(0.2, abs=0.01)


# --- bootstrap intervals ---------------------------------------------------------------


def test_bootstrap_interval_covers_a_known_mean_and_shrinks_with_n():
    g = torch.Generator().manual_seed(0)
    small = bootstrap_mean(torch.randn(100, generator=g, dtype=torch.float64), num_samples=2000)
    large = bootstrap_mean(torch.randn(2500, generator=g, dtype=torch.float64), num_samples=2000)
    for s in (small, large):
        assert s.low <= s.mean <= s.high and s.low < 0 < s.high
    assert (large.high - large.low) < (small.high - small.low) / 3  # ~ 1/sqrt(n): 5x narrower
    # the width is about 2 * 1.96 / sqrt(n) for unit variance
    assert large.high - large.low == pytest.approx(2 * 1.96 / math.sqrt(2500), rel=0.15)
