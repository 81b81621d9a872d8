"""advinterp_lib.consistency.metric: closed forms, a brute-force twin, bootstrap, speed."""

from __future__ import annotations

import math
import time

import pytest
import torch

from advinterp_lib.consistency.concepts import correlation_matrix
from advinterp_lib.consistency.metric import (
    bootstrap_consistency,
    concept_distribution,
    consistency_histogram,
    consistency_scores,
    summarize_consistency,
)


def random_correlation(k: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    d = torch.randint(1, 9, (k, k), generator=g).double()
    d = torch.triu(d, 1)
    return correlation_matrix(d + d.t(), sigma=1.5)


def test_one_concept_gives_one():
    a = random_correlation(7)
    concepts = torch.tensor([[3] * 20, [0] * 20, [6] * 20])
    p = concept_distribution(concepts, 7)
    assert torch.equal(p.argmax(1), torch.tensor([3, 0, 6]))
    assert torch.allclose(consistency_scores(p, a), torch.ones(3, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("k,d,sigma", [(2, 1.0, 1.0), (5, 3.0, 1.0), (10, 2.0, 2.0), (4, 0.5, 0.7)])
def test_even_spread_over_equidistant_concepts(k, d, sigma):
    dist = torch.full((k, k), d, dtype=torch.float64).fill_diagonal_(0)
    a = correlation_matrix(dist, sigma)
    concepts = torch.arange(k).repeat(3)[None]  # each concept 3 times
    consis = consistency_scores(concept_distribution(concepts, k), a)
    expected = (1 + (k - 1) * math.exp(-(d**2) / (2 * sigma**2))) / k
    assert consis.item() == pytest.approx(expected, rel=1e-12)


def test_equals_brute_force_double_loop():
    g = torch.Generator().manual_seed(1)
    c, k, n_concepts = 12, 17, 6
    concepts = torch.randint(0, n_concepts, (c, k), generator=g)
    a = random_correlation(n_concepts, seed=2)
    fast = consistency_scores(concept_distribution(concepts, n_concepts), a)
    for n in range(c):
        p = [sum(1 for x in concepts[n].tolist() if x == i) / k for i in range(n_concepts)]
        slow = sum(p[i] * a[i, j].item() * p[j] for i in range(n_concepts) for j in range(n_concepts))
        assert fast[n].item() == pytest.approx(slow, rel=1e-12)
    # and on arbitrary (non-empirical) distributions
    p = torch.rand(5, n_concepts, generator=g, dtype=torch.float64)
    p = p / p.sum(1, keepdim=True)
    fast = consistency_scores(p, a)
    for n in range(5):
        slow = sum(p[n, i] * a[i, j] * p[n, j] for i in range(n_concepts) for j in range(n_concepts))
        assert fast[n].item() == pytest.approx(slow.item(), rel=1e-12)


def test_512_neurons_1000_concepts_under_a_second():
    g = torch.Generator().manual_seed(0)
    concepts = torch.randint(0, 1000, (512, 500), generator=g)
    a = torch.rand(1000, 1000, generator=g, dtype=torch.float64)
    a = (a + a.t()) / 2
    start = time.perf_counter()
    scores = consistency_scores(concept_distribution(concepts, 1000), a)
    elapsed = time.perf_counter() - start
    assert scores.shape == (512,)
    assert elapsed < 1.0, f"{elapsed:.2f} s"


def test_bootstrap_interval():
    g = torch.Generator().manual_seed(3)
    a = random_correlation(5)
    concepts = torch.randint(0, 5, (40, 30), generator=g)
    b1 = bootstrap_consistency(concepts, a, num_samples=400, seed=7)
    b2 = bootstrap_consistency(concepts, a, num_samples=400, seed=7)
    assert torch.equal(b1.samples, b2.samples)  # seeded
    assert b1.samples.shape == (400,)
    assert b1.mean == pytest.approx(consistency_scores(concept_distribution(concepts, 5), a).mean().item())
    # the replicates' mean shift is the plug-in's bias, (1 - consis(n)) / k averaged (a_ii = 1)
    big = bootstrap_consistency(concepts, a, num_samples=4000, seed=1)
    consis = consistency_scores(concept_distribution(concepts, 5), a)
    assert big.bias == pytest.approx(((1 - consis) / 30).mean().item(), rel=0.05)
    # the basic interval is centred on the bias-corrected estimate
    assert b1.low < b1.mean - b1.bias < b1.high
    # neurons with a single concept: every resample is the same, the interval collapses
    pure = torch.tensor([[2] * 10, [4] * 10])
    b = bootstrap_consistency(pure, a, num_samples=50)
    assert b.low == pytest.approx(1.0) and b.high == pytest.approx(1.0)
    # more images per neuron: a narrower interval (same concept proportions)
    wide = bootstrap_consistency(concepts[:, :10], a, num_samples=400, seed=0)
    narrow = bootstrap_consistency(concepts[:, :10].repeat(1, 10), a, num_samples=400, seed=0)
    assert narrow.high - narrow.low < wide.high - wide.low


def test_histogram_and_summary():
    scores = torch.tensor([0.0, 0.04, 0.05, 0.5, 0.99, 1.0], dtype=torch.float64)
    counts, edges = consistency_histogram(scores, bins=10)
    assert counts.sum() == 6 and edges.shape == (11,)
    assert counts.tolist() == [3, 0, 0, 0, 0, 1, 0, 0, 0, 2]  # 1.0 falls in the last bin
    a = random_correlation(4)
    real = torch.tensor([[0, 0, 0, 1], [2, 2, 2, 2]])
    adv = torch.tensor([[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 1, 2]])
    s = summarize_consistency(real, adv, a, num_samples=100)
    assert s.consis.shape == (2,) and s.consis_adv.shape == (2,)
    assert s.mean > s.mean_adv
    d = s.to_dict()
    assert set(d) == {"consis", "consis_adv", "consis_ci", "consis_adv_ci", "neurons"}


def test_bad_input_errors():
    a = random_correlation(3)
    with pytest.raises(ValueError, match=r"concepts: expected values in \[0, 2\]"):
        concept_distribution(torch.tensor([[0, 3]]), 3)
    with pytest.raises(TypeError, match="concepts"):
        concept_distribution(torch.tensor([[0.0, 1.0]]), 3)
    with pytest.raises(ValueError, match=r"\[C, k\]"):
        concept_distribution(torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match="distribution"):
        consistency_scores(torch.tensor([[0.5, 0.6, 0.0]], dtype=torch.float64), a)
    with pytest.raises(ValueError, match="correlation"):
        consistency_scores(torch.tensor([[0.5, 0.5]], dtype=torch.float64), a)
    with pytest.raises(ValueError, match="num_samples"):
        bootstrap_consistency(torch.tensor([[0, 1]]), a, num_samples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_consistency(torch.tensor([[0, 1]]), a, confidence=1.5)
    with pytest.raises(ValueError, match="bins"):
        consistency_histogram(torch.tensor([0.5]), bins=0)
    with pytest.raises(ValueError, match="same neurons"):
        summarize_consistency(torch.tensor([[0, 1]]), torch.tensor([[0], [1]]), a)
