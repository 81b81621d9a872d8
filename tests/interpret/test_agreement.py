"""Agreement of paired maps: top-k overlap (closed forms, brute-force twin, chance
level), the bootstrap interval (coverage of a known mean, degenerate data), bad input."""

from __future__ import annotations

import math

import pytest
import scipy.stats
import torch

from advinterp_lib.interpret.agreement import bootstrap_mean, map_agreement, top_k_overlap


def _maps(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


def test_overlap_of_a_map_with_itself_and_with_its_reverse():
    a = _maps()
    assert torch.equal(top_k_overlap(a, a, fraction=0.25), torch.ones(4, dtype=torch.float64))
    assert torch.equal(top_k_overlap(a, -a, fraction=0.25), torch.zeros(4, dtype=torch.float64))
    assert torch.equal(top_k_overlap(a, 3 * a + 1, fraction=0.1), torch.ones(4, dtype=torch.float64))  # rank-only


def test_overlap_matches_a_brute_force_twin():
    a, b = _maps(seed=1), _maps(seed=2)
    fraction = 0.2
    k = math.ceil(fraction * 36)
    ours = top_k_overlap(a, b, fraction=fraction)
    for i in range(4):
        ta = set(torch.topk(a[i].flatten(), k).indices.tolist())
        tb = set(torch.topk(b[i].flatten(), k).indices.tolist())
        assert ours[i].item() == pytest.approx(len(ta & tb) / k)
    assert torch.equal(ours, top_k_overlap(b, a, fraction=fraction))  # symmetric


def test_overlap_of_unrelated_maps_is_about_the_fraction():
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(2000, 1, 10, 10, generator=g), torch.rand(2000, 1, 10, 10, generator=g)
    assert top_k_overlap(a, b, fraction=0.2).mean().item() == pytest.approx(0.2, abs=0.01)


def test_flat_maps_get_random_ties_not_the_first_pixels():
    flat = torch.zeros(500, 1, 10, 10)
    first = torch.zeros(500, 1, 10, 10)
    first.view(500, -1)[:, :10] = 1  # a map whose top-10 are the first ten pixels
    overlap = top_k_overlap(flat, first, fraction=0.1, generator=torch.Generator().manual_seed(0))
    assert overlap.mean().item() == pytest.approx(0.1, abs=0.02)


def test_bootstrap_interval_covers_a_known_mean_and_shrinks_with_n():
    g = torch.Generator().manual_seed(0)
    small = bootstrap_mean(torch.randn(100, generator=g, dtype=torch.float64), num_samples=2000)
    large = bootstrap_mean(torch.randn(2500, generator=g, dtype=torch.float64), num_samples=2000)
    for s in (small, large):
        assert s.low <= s.mean <= s.high and s.low < 0 < s.high
    assert (large.high - large.low) < (small.high - small.low) / 3  # ~ 1/sqrt(n): 5x narrower
    # the width is about 2 * 1.96 / sqrt(n) for unit variance
    assert large.high - large.low == pytest.approx(2 * 1.96 / math.sqrt(2500), rel=0.15)


def test_bootstrap_leaves_out_nan_and_is_exact_for_constant_data():
    s = bootstrap_mean(torch.tensor([0.5, float("nan"), 0.5, 0.5]))
    assert (s.mean, s.low, s.high, s.n) == (0.5, 0.5, 0.5, 3)
    assert bootstrap_mean(torch.arange(10.0), seed=4) == bootstrap_mean(torch.arange(10.0), seed=4)


def test_map_agreement_uses_spearman_and_overlap():
    a, b = _maps(seed=5), _maps(seed=6)
    agree = map_agreement(a, b, fraction=0.25, num_samples=200)
    rho = [scipy.stats.spearmanr(a[i].flatten(), b[i].flatten())[0] for i in range(4)]
    torch.testing.assert_close(agree.spearman, torch.tensor(rho, dtype=torch.float64))
    assert agree.spearman_summary.mean == pytest.approx(sum(rho) / 4)
    assert agree.overlap_summary.mean == pytest.approx(agree.overlap.mean().item())
    d = agree.to_dict()
    assert set(d) == {"fraction", "spearman", "overlap"} and d["overlap"]["n"] == 4


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda: top_k_overlap(_maps(), _maps()[:3]), ValueError),
        (lambda: top_k_overlap(_maps(), _maps(), fraction=0.0), ValueError),
        (lambda: top_k_overlap(_maps(), _maps(), fraction=1.5), ValueError),
        (lambda: top_k_overlap(_maps(), _maps() * float("nan")), ValueError),
        (lambda: top_k_overlap([1, 2], _maps()), TypeError),
        (lambda: bootstrap_mean(torch.zeros(2, 2)), ValueError),
        (lambda: bootstrap_mean(torch.tensor([float("nan")])), ValueError),
        (lambda: bootstrap_mean(torch.tensor([float("inf")])), ValueError),
        (lambda: bootstrap_mean(torch.zeros(3), confidence=1.0), ValueError),
        (lambda: bootstrap_mean(torch.zeros(3), num_samples=0), ValueError),
        (lambda: bootstrap_mean([0.1, 0.2]), TypeError),
    ],
)
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()
