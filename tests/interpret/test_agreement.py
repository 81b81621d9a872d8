"""Agreement of paired maps: top-k overlap (closed forms, brute-force twin, chance
level), the bootstrap interval (coverage of a known mean, degenerate data), bad input."""

from __future__ import annotations

import pytest
import scipy.stats
import torch

from advinterp_lib.interpret.agreement import map_agreement
from advinterp_lib.stats import bootstrap_mean, top_fraction_overlap


def _maps(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


def test_flat_maps_get_random_ties_not_the_first_pixels():
    flat = torch.zeros(500, 1, 10, 10)
    first = torch.zeros(500, 1, 10, 10)
    first.view(500, -1)[:, :10] = 1  # a map whose top-10 are the first ten pixels
    overlap = top_fraction_overlap(flat, first, fraction=0.1, generator=torch.Generator().manual_seed(0))
    assert overlap.mean().item() == pytest.approx(0.1, abs=0.02)


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
        (lambda: top_fraction_overlap(_maps(), _maps()[:3]), ValueError),
        (lambda: top_fraction_overlap(_maps(), _maps(), fraction=0.0), ValueError),
        (lambda: top_fraction_overlap(_maps(), _maps(), fraction=1.5), ValueError),
        (lambda: top_fraction_overlap(_maps(), _maps() * float("nan")), ValueError),
        (lambda: top_fraction_overlap([1, 2], _maps()), TypeError),
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
