"""advinterp_lib.consistency.evaluation: one model's consis/consis_adv, Table 1 rows, differences."""

from __future__ import annotations

import math

import pytest
import torch

from advinterp_lib.consistency.activations import concept_top_activations
from advinterp_lib.consistency.concepts import correlation_matrix
from advinterp_lib.consistency.evaluation import (
    consistency_row,
    consistency_table,
    interval_difference,
    measure_consistency,
)
from advinterp_lib.consistency.metric import bootstrap_consistency, summarize_consistency
from advinterp_lib.stats import BootstrapInterval
from tests.consistency.quadrants import QuadrantDetector, quadrant_images


def line_correlation(k: int) -> torch.Tensor:
    idx = torch.arange(k, dtype=torch.float64)
    return correlation_matrix((idx[:, None] - idx[None]).abs(), sigma=1.0)


def test_measure_equals_the_two_steps_it_combines():
    g = torch.Generator().manual_seed(0)
    model = QuadrantDetector().eval()
    real = torch.rand(200, 1, 8, 8, generator=g)
    adv = torch.rand(300, 1, 8, 8, generator=g)
    rc, ac = torch.randint(0, 3, (200,), generator=g), torch.randint(0, 3, (300,), generator=g)
    a = line_correlation(3)
    got = measure_consistency(model, real, rc, adv, ac, a, fraction=0.05, num_samples=50, seed=3)
    acts = concept_top_activations(model, real, rc, adv, ac, num_concepts=3, fraction=0.05)
    want = summarize_consistency(acts.real_concepts, acts.adversarial_concepts, a, num_samples=50, seed=3)
    assert torch.equal(got.activations.real.indices, acts.real.indices)
    assert torch.equal(got.summary.consis, want.consis)
    assert torch.equal(got.summary.consis_adv, want.consis_adv)
    assert got.summary.real_interval.low == want.real_interval.low
    assert got.activations.real.k == 10 and got.activations.adversarial.k == 15


def test_closed_form_on_a_model_with_known_top_images():
    # neuron c fires for images bright in quadrant c. Real images: the bright ones in
    # quadrant c all have concept c -> consis = 1. Adversarial: the bright ones in
    # quadrant c are split evenly between concepts 0 and 2 (distance 2) ->
    # consis_adv = (1 + e^{-2}) / 2.
    model = QuadrantDetector().eval()
    quad = torch.arange(4).repeat_interleave(10)
    real = quadrant_images(torch.full((40,), 0.9), quad)
    real_dim = quadrant_images(torch.full((40,), 0.1), quad)
    real_all = torch.cat([real, real_dim])
    real_concepts = torch.cat([quad.clamp(max=2), torch.zeros(40, dtype=torch.int64)])
    adv = quadrant_images(torch.full((40,), 0.8), quad)
    adv_concepts = torch.tensor([0, 2] * 20)
    adv_all = torch.cat([adv, quadrant_images(torch.full((40,), 0.05), quad)])
    adv_concepts_all = torch.cat([adv_concepts, torch.ones(40, dtype=torch.int64)])
    a = line_correlation(3)
    got = measure_consistency(
        model, real_all, real_concepts, adv_all, adv_concepts_all, a, fraction=10 / 80, num_samples=20
    )
    assert torch.allclose(got.summary.consis, torch.ones(4, dtype=torch.float64))
    expected = (1 + math.exp(-2.0)) / 2
    assert torch.allclose(got.summary.consis_adv, torch.full((4,), expected, dtype=torch.float64))
    row = got.row()
    assert row["layer"] == "features" and row["k_real"] == 10 and row["k_adversarial"] == 10
    assert row["consis"] == pytest.approx(1.0) and row["consis_adv"] == pytest.approx(expected)


def test_measure_rejects_a_correlation_of_the_wrong_size():
    model = QuadrantDetector().eval()
    x = torch.rand(20, 1, 8, 8)
    c = torch.zeros(20, dtype=torch.int64)
    with pytest.raises(ValueError, match="correlation"):
        measure_consistency(model, x, c, x, c, torch.ones(3))
    with pytest.raises(ValueError, match="concepts"):
        measure_consistency(model, x, c + 5, x, c, line_correlation(3))


def test_row_and_table():
    g = torch.Generator().manual_seed(1)
    a = line_correlation(4)
    s = summarize_consistency(
        torch.randint(0, 4, (8, 5), generator=g), torch.randint(0, 4, (8, 9), generator=g), a, num_samples=100
    )
    row = consistency_row(s)
    assert set(row) == {
        "consis",
        "consis_adv",
        "consis_ci",
        "consis_adv_ci",
        "consis_bias_corrected",
        "consis_adv_bias_corrected",
        "neurons",
    }
    assert row["neurons"] == 8
    assert row["consis"] == pytest.approx(float(s.consis.mean()))
    assert row["consis_adv_bias_corrected"] == pytest.approx(s.adversarial_interval.mean - s.adversarial_interval.bias)
    assert set(row["consis_ci"]) == {"mean", "low", "high", "bias", "confidence"}
    table = consistency_table({"standard": s, "-Adv": s})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| standard | 8 | ") and lines[3].startswith("| -Adv | 8 | ")
    assert f"{row['consis']:.3f}" in lines[2]
    with pytest.raises(ValueError, match="rows"):
        consistency_table({})
    with pytest.raises(TypeError, match="ConsistencySummary"):
        consistency_row(row)


def test_interval_difference_is_the_basic_interval_of_replicate_differences():
    g = torch.Generator().manual_seed(2)
    a = line_correlation(5)
    tight = bootstrap_consistency(torch.randint(0, 2, (30, 40), generator=g), a, num_samples=400, seed=0)
    loose = bootstrap_consistency(torch.randint(0, 5, (30, 40), generator=g), a, num_samples=400, seed=1)
    d = interval_difference(tight, loose)
    assert d.mean == pytest.approx(tight.mean - loose.mean)
    diffs = tight.samples - loose.samples
    q_lo, q_hi = torch.quantile(diffs, torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    assert d.low == pytest.approx(2 * d.mean - q_hi) and d.high == pytest.approx(2 * d.mean - q_lo)
    assert d.low <= d.mean <= d.high
    # two concepts instead of five: clearly more consistent, the interval excludes 0
    assert d.low > 0
    # antisymmetric
    r = interval_difference(loose, tight)
    assert r.mean == pytest.approx(-d.mean) and r.low == pytest.approx(-d.high) and r.high == pytest.approx(-d.low)
    # a model against itself (same replicates): exactly zero
    z = interval_difference(tight, tight)
    assert z.mean == 0 and z.low == 0 and z.high == 0


def test_interval_difference_validates():
    a = line_correlation(3)
    c = torch.randint(0, 3, (4, 6), generator=torch.Generator().manual_seed(0))
    b100 = bootstrap_consistency(c, a, num_samples=100)
    b50 = bootstrap_consistency(c, a, num_samples=50)
    with pytest.raises(ValueError, match="replicates"):
        interval_difference(b100, b50)
    with pytest.raises(ValueError, match="confidence"):
        interval_difference(b100, bootstrap_consistency(c, a, num_samples=100, confidence=0.9))
    with pytest.raises(TypeError, match="BootstrapInterval"):
        interval_difference(b100, 0.5)
    assert isinstance(interval_difference(b100, b100), BootstrapInterval)


# ------------------------------------------------ chapter 11/12 helpers


def _summaries():
    g = torch.Generator().manual_seed(4)
    a = line_correlation(3)
    return {
        name: summarize_consistency(torch.randint(0, 3, (5, 8), generator=g), torch.randint(0, 3, (5, 12), generator=g),
                                    a, num_samples=40, seed=0)
        for name in ("standard", "adv")
    }  # fmt: skip


def test_gains_against_the_baseline_are_interval_differences():
    from advinterp_lib.consistency.evaluation import gains_against

    s = _summaries()
    got = gains_against(s)
    want = interval_difference(s["adv"].adversarial_interval, s["standard"].adversarial_interval)
    assert list(got) == ["adv"] and got["adv"]["consis_adv"].low == want.low
    assert gains_against(s, rows=["standard"])["standard"]["consis"].mean == 0.0
    with pytest.raises(KeyError, match="baseline"):
        gains_against(s, baseline="none")
    with pytest.raises(KeyError, match="rows"):
        gains_against(s, rows=["other"])


def test_attack_rates_count_hits_misses_and_the_ensemble():
    from advinterp_lib.consistency.evaluation import attack_rates

    real = {"m": torch.tensor([[2.0, 0.0], [0.0, 1.0]]), "n": torch.tensor([[0.0, 1.0], [0.0, 1.0]])}
    adv = {"m": torch.tensor([[0.0, 3.0], [0.0, 1.0]]), "n": torch.tensor([[1.0, 0.0], [5.0, 0.0]])}
    rates = attack_rates(real, adv, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([1, 0]))
    assert rates.real_accuracy == {"m": 1.0, "n": 0.5}
    assert rates.misclassified == {"m": 0.5, "n": 0.5}
    assert rates.targeted_success == {"m": 0.5, "n": 0.5, "ensemble": 1.0}  # mean probabilities: [1, 0] for both
    with pytest.raises(ValueError, match="same models"):
        attack_rates(real, {"m": adv["m"]}, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="one row per label"):
        attack_rates(real, adv, torch.tensor([0, 1, 1]), torch.tensor([0, 1]), torch.tensor([1, 0]))


def test_linf_distances_pair_rows():
    from advinterp_lib.consistency.evaluation import linf_distances

    x = torch.zeros(2, 1, 2, 2)
    y = x.clone()
    y[0, 0, 1, 1], y[1, 0, 0, 0] = -0.3, 0.1
    assert torch.allclose(linf_distances(y, x), torch.tensor([0.3, 0.1]))
    with pytest.raises(ValueError, match="same shape"):
        linf_distances(y[:1], x)


def test_consis_adv_histograms_layout_and_table_extra_column():
    from advinterp_lib.consistency.evaluation import consis_adv_histograms, consistency_histograms

    s = _summaries()
    measured = {"shared": {"a": {k: type("M", (), {"summary": v})() for k, v in s.items()}}}
    got = consis_adv_histograms(measured, ["standard", "adv"], bins=4)
    assert got["shared"]["edges"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert got["shared"]["a"]["adv"] == consistency_histograms(s["adv"], bins=4)["adversarial"]
    with pytest.raises(KeyError):
        consis_adv_histograms(measured, ["other"])
    table = consistency_table(s, extra={"fooled": {"standard": "10%", "adv": "5%"}})
    assert table.splitlines()[0].endswith("| fooled |") and table.splitlines()[3].endswith("| 5% |")
    with pytest.raises(KeyError):
        consistency_table(s, extra={"fooled": {"standard": "10%"}})
