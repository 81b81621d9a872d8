"""advinterp_lib.consistency.sensitivity: Table 1's direction under the variants of chapter 11."""

from __future__ import annotations

import json

import pytest
import torch

from advinterp_lib.consistency.activations import concept_top_activations
from advinterp_lib.consistency.concepts import correlation_matrix
from advinterp_lib.consistency.evaluation import interval_difference
from advinterp_lib.consistency.metric import summarize_consistency
from advinterp_lib.consistency.sensitivity import (
    CRITERION,
    DirectionCheck,
    Variant,
    chance_consistency,
    channel_responses,
    describe_sensitivity,
    direction_check,
    sensitivity_record,
    sensitivity_table,
    source_positions,
    source_rows,
    target_concepts,
)
from tests.consistency.quadrants import QuadrantDetector, quadrant_images


def identity_a(k: int) -> torch.Tensor:
    return torch.eye(k, dtype=torch.float64)


def line_a(k: int, sigma: float = 1.0) -> torch.Tensor:
    idx = torch.arange(k, dtype=torch.float64)
    return correlation_matrix((idx[:, None] - idx[None]).abs(), sigma=sigma)


def test_direction_check_equals_summarize_consistency_and_interval_difference():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 3, (6, 20), generator=g)
    adv = torch.randint(0, 3, (6, 40), generator=g)
    a = line_a(3)
    got = direction_check(real, adv, a, num_samples=200, seed=5)
    s = summarize_consistency(real, adv, a, num_samples=200, seed=5)
    want = interval_difference(s.adversarial_interval, s.real_interval)
    assert got.consis.mean == s.real_interval.mean and got.consis_adv.mean == s.adversarial_interval.mean
    assert (got.difference.low, got.difference.high) == (want.low, want.high)
    assert got.difference.mean == pytest.approx(s.mean_adv - s.mean, abs=1e-12)
    from_summary = DirectionCheck.from_summary(s)
    assert from_summary.difference.low == got.difference.low and from_summary.neurons == 6


def test_the_direction_holds_for_pure_neurons_and_fails_when_adversarial_tops_are_purer():
    pure = torch.arange(4)[:, None].expand(4, 30)  # neuron c: all top images of concept c -> consis 1
    mixed = torch.arange(60).remainder(4)[None].expand(4, 60)  # evenly spread over 4 -> 1/4
    a = identity_a(4)
    down = direction_check(pure, mixed, a, num_samples=100)
    assert down.consis.mean == pytest.approx(1.0) and down.consis_adv.mean == pytest.approx(0.25)
    assert down.holds and down.intervals_apart
    up = direction_check(mixed, pure, a, num_samples=100)  # a variant where the direction reverses
    assert not up.holds and not up.intervals_apart and up.difference.low > 0
    record = up.to_dict()
    assert set(record) == {
        "consis",
        "consis_adv",
        "consis_ci",
        "consis_adv_ci",
        "difference",
        "holds",
        "intervals_apart",
        "neurons",
    }
    assert record["holds"] is False and record["difference"]["mean"] == pytest.approx(0.75)


def test_a_wider_kernel_raises_both_averages():
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 5, (8, 25), generator=g)
    adv = torch.randint(0, 5, (8, 50), generator=g)
    narrow = direction_check(real, adv, line_a(5, 0.5), num_samples=50)
    wide = direction_check(real, adv, line_a(5, 2.0), num_samples=50)
    assert wide.consis.mean > narrow.consis.mean and wide.consis_adv.mean > narrow.consis_adv.mean


def test_direction_check_refuses_tables_of_different_neurons():
    with pytest.raises(ValueError, match="same neurons"):
        direction_check(torch.zeros(3, 5, dtype=torch.long), torch.zeros(4, 5, dtype=torch.long), identity_a(2))


def test_target_concepts_reads_the_targets_of_the_stored_top_positions():
    g = torch.Generator().manual_seed(2)
    model = QuadrantDetector().eval()
    real = torch.rand(40, 1, 8, 8, generator=g)
    adv = torch.rand(60, 1, 8, 8, generator=g)
    labels, targets = torch.randint(0, 3, (60,), generator=g), torch.randint(0, 3, (60,), generator=g)
    acts = concept_top_activations(model, real, torch.zeros(40, dtype=torch.long), adv, labels, num_concepts=3,
                                   fraction=0.1)  # fmt: skip
    got = target_concepts(acts, targets)
    assert got.shape == acts.adversarial_concepts.shape
    assert torch.equal(got, targets[acts.adversarial_positions()])
    # the source concepts are what the stored table holds
    assert torch.equal(labels[acts.adversarial_positions()], acts.adversarial_concepts)
    with pytest.raises(ValueError, match="targets"):
        target_concepts(acts, targets[:-1])
    with pytest.raises(ValueError, match="targets"):
        target_concepts(acts, torch.full((60,), 3))


def test_channel_responses_rank_top_images_as_the_stream_does():
    g = torch.Generator().manual_seed(3)
    model = QuadrantDetector().eval()
    real = torch.rand(30, 1, 8, 8, generator=g)
    adv = torch.rand(50, 1, 8, 8, generator=g)
    rc, ac = torch.randint(0, 3, (30,), generator=g), torch.randint(0, 3, (50,), generator=g)
    responses = channel_responses(model, adv, batch_size=7)
    assert responses.max.shape == responses.mean.shape == (50, 4) and responses.layer == "features"
    with torch.no_grad():
        assert torch.allclose(responses.logits, model(adv)) and torch.equal(responses.predictions, model(adv).argmax(1))
    for reduction in ("max", "mean"):
        acts = concept_top_activations(model, real, rc, adv, ac, num_concepts=3, fraction=0.1, reduction=reduction)
        assert torch.equal(responses.top_concepts(ac, fraction=0.1, reduction=reduction), acts.adversarial_concepts)


def test_channel_responses_leave_the_model_as_they_found_it():
    model = QuadrantDetector().train()
    channel_responses(model, torch.rand(5, 1, 8, 8))
    assert model.training
    assert not any(m._forward_hooks for m in model.modules())


def test_top_concepts_of_a_subset_find_images_the_full_top_set_missed():
    # quadrant 0 bright: the 3 brightest images are concept 0; among the others concept 1 wins
    levels = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    images = quadrant_images(levels, torch.zeros(10, dtype=torch.long))
    concepts = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    responses = channel_responses(QuadrantDetector().eval(), images)
    assert responses.top_concepts(concepts, fraction=0.3)[0].tolist() == [0, 0, 0]
    rows = (concepts != 0).nonzero().flatten()
    assert responses.top_concepts(concepts, fraction=3 / 7, rows=rows.flip(0))[0].tolist() == [1, 1, 1]
    # the spatial mean of channel 0 is a quarter of its max: same order here
    assert responses.mean[:, 0].mul(4).allclose(responses.max[:, 0])
    with pytest.raises(ValueError, match="rows"):
        responses.top_concepts(concepts, rows=torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="rows"):
        responses.top_concepts(concepts, rows=torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="reduction"):
        responses.top_concepts(concepts, reduction="median")
    with pytest.raises(ValueError, match="one per image"):
        responses.top_concepts(concepts[:-1])


def test_source_positions_and_rows():
    g = torch.Generator().manual_seed(4)
    reference = torch.rand(12, 1, 4, 4, generator=g)
    reference[7] = reference[2]  # a duplicated picture goes to two distinct positions
    pick = torch.tensor([9, 2, 2, 5])
    got = source_positions(reference[pick], reference)
    assert got.tolist() == [9, 2, 7, 5]
    with pytest.raises(ValueError, match="not among"):
        source_positions(torch.rand(1, 1, 4, 4, generator=g), reference)
    with pytest.raises(ValueError, match="shape"):
        source_positions(torch.rand(1, 1, 5, 5), reference)
    source_index = torch.arange(6).repeat_interleave(3)  # 3 targets per source
    assert source_rows(source_index, torch.tensor([4, 1])).tolist() == [3, 4, 5, 12, 13, 14]
    with pytest.raises(TypeError):
        source_rows(source_index.float(), [1])


def _variants():
    pure = torch.arange(4)[:, None].expand(4, 30)
    mixed = torch.arange(60).remainder(4)[None].expand(4, 60)
    a = identity_a(4)
    down, up = direction_check(pure, mixed, a, num_samples=50), direction_check(mixed, pure, a, num_samples=50)
    return {
        "table1": Variant("Table 1", "baseline", None, {"m1": down, "m2": down}),
        "reversed": Variant("σ = 2", "sigma", 2.0, {"m1": up, "m2": down}, {"n_adversarial": 60}),
    }


def test_sensitivity_table_marks_where_the_direction_fails():
    variants = _variants()
    lines = sensitivity_table(variants).splitlines()
    assert len(lines) == 4 and "m1: consis_adv − consis [95% CI]" in lines[0]
    assert lines[2].startswith("| Table 1 |") and lines[2].count("✓") == 2
    assert lines[3].count("✗") == 1 and "0.750 [" in lines[3] and "−0.750 [" in lines[3]
    with pytest.raises(ValueError):
        sensitivity_table({})
    with pytest.raises(TypeError):
        sensitivity_table({"x": {"m1": variants["table1"].checks["m1"]}})
    with pytest.raises(ValueError, match="same models"):
        sensitivity_table(
            {"a": variants["table1"], "b": Variant("b", "sigma", 1.0, {"m2": variants["table1"].checks["m2"]})}
        )


def test_the_record_is_json_and_the_description_names_what_fails():
    variants = _variants()
    record = json.loads(json.dumps(sensitivity_record(variants)))
    assert record["criterion"] == CRITERION and record["models"] == ["m1", "m2"]
    assert list(record["variants"]) == ["table1", "reversed"]
    rev = record["variants"]["reversed"]
    assert rev["holds_for_all"] is False and rev["value"] == 2.0 and rev["n_adversarial"] == 60
    assert rev["archs"]["m1"]["holds"] is False and rev["archs"]["m2"]["holds"] is True
    text = describe_sensitivity(record)
    assert text.startswith("The direction survives 1 of 2 variants for every model.")
    assert "σ = 2: m1 (0.750 [" in text and "m2 (" not in text
    assert describe_sensitivity(json.loads(json.dumps(sensitivity_record({"t": variants["table1"]})))).startswith(
        "The direction survives every variant (1 of 1)"
    )
    with pytest.raises(ValueError):
        describe_sensitivity({"variants": {}})


def test_chance_consistency_is_the_consis_of_the_whole_set():
    a = identity_a(4)
    assert chance_consistency(torch.arange(40).remainder(4), a) == pytest.approx(0.25)  # even: 1/K
    assert chance_consistency(torch.zeros(9, dtype=torch.long), a) == pytest.approx(1.0)
    skewed = torch.tensor([0] * 6 + [1] * 2 + [2, 3])
    assert chance_consistency(skewed, a) == pytest.approx(0.36 + 0.04 + 0.01 + 0.01)
    assert chance_consistency(skewed, line_a(4)) > chance_consistency(skewed, a)


# ------------------------------------------------ chapter 11's variants, as the notebook built them


class _Set:
    """The attributes of an AdversarialSet the variants read (images float, labels, targets, source_index)."""

    def __init__(self, images, labels, targets, source_index):
        self.images, self.labels, self.targets, self.source_index = images, labels, targets, source_index


def _chapter11_inputs(seed=0):
    from advinterp_lib.consistency.sensitivity import channel_responses as responses

    g = torch.Generator().manual_seed(seed)
    models = {"q1": QuadrantDetector().eval(), "q2": QuadrantDetector().eval()}
    with torch.no_grad():
        models["q2"].head.weight.mul_(-1)
    real = torch.rand(40, 1, 8, 8, generator=g)
    labels = torch.randint(0, 3, (40,), generator=g)
    src = torch.arange(40).repeat_interleave(2)
    adv = _Set((real[src] + 0.2 * torch.rand(80, 1, 8, 8, generator=g)).clamp(0, 1), labels[src],
               torch.randint(0, 3, (80,), generator=g), src)  # fmt: skip
    acts = {m: concept_top_activations(model, real, labels, adv.images, adv.labels, num_concepts=3, fraction=0.1)
            for m, model in models.items()}  # fmt: skip
    real_resp = {m: responses(model, real) for m, model in models.items()}
    adv_resp = {m: responses(model, adv.images) for m, model in models.items()}
    return models, real, labels, adv, acts, real_resp, adv_resp


def test_lookup_variants_are_the_notebooks_direction_checks():
    from advinterp_lib.consistency.sensitivity import describe_target_concept, lookup_variants

    models, real, labels, adv, acts, *_ = _chapter11_inputs()
    a = line_a(3)
    summaries = {m: summarize_consistency(x.real_concepts, x.adversarial_concepts, a, num_samples=50, seed=1)
                 for m, x in acts.items()}  # fmt: skip
    got = lookup_variants(acts, summaries, a, lambda s: line_a(3, s), adv, sigma=1.0, sigmas=[0.5, 1.0],
                          eps=0.2, num_samples=50, seed=1)  # fmt: skip
    assert list(got) == ["table1", "sigma=0.5", "concept=target"] and got["table1"].group == "baseline"
    for m, x in acts.items():
        want = direction_check(x.real_concepts, x.adversarial_concepts, line_a(3, 0.5), num_samples=50, seed=1)
        assert got["sigma=0.5"].checks[m].difference.low == want.difference.low
        want = direction_check(x.real_concepts, target_concepts(x, adv.targets), a, num_samples=50, seed=1)
        assert got["concept=target"].checks[m].consis_adv.mean == want.consis_adv.mean
    chance = got["concept=target"].details["chance_consis_adv"]
    assert chance == {"source": chance_consistency(adv.labels, a), "target": chance_consistency(adv.targets, a)}
    assert describe_target_concept(got).startswith("Counted by the attack's target instead of the source")
    with pytest.raises(ValueError, match="same models"):
        lookup_variants(acts, {"q1": summaries["q1"]}, a, line_a, adv, sigma=1.0, sigmas=[], eps=0.2)


def test_response_variants_rank_by_mean_and_keep_only_fooled_images():
    from advinterp_lib.consistency.sensitivity import response_variants

    models, real, labels, adv, acts, real_resp, adv_resp = _chapter11_inputs()
    a = line_a(3)
    got = response_variants(real_resp, adv_resp, acts, labels, adv.labels, a, fraction=0.1, num_samples=50, seed=2)
    for m in models:
        want = direction_check(real_resp[m].top_concepts(labels, fraction=0.1, reduction="mean"),
                               adv_resp[m].top_concepts(adv.labels, fraction=0.1, reduction="mean"), a,
                               num_samples=50, seed=2)  # fmt: skip
        assert got["reduction=mean"].checks[m].difference.high == want.difference.high
    if "fooled_only" in got:
        fooled = {m: int((r.predictions != adv.labels).sum()) for m, r in adv_resp.items()}
        assert got["fooled_only"].details == {"n_adversarial": fooled}
    with pytest.raises(ValueError, match="same models"):
        response_variants(real_resp, {}, acts, labels, adv.labels, a)


def test_eps_sweep_restricts_the_shared_set_to_the_smaller_draw():
    from advinterp_lib.consistency.evaluation import linf_distances
    from advinterp_lib.consistency.sensitivity import describe_eps_trend, eps_sweep, sweep_table

    models, real, labels, adv, acts, real_resp, adv_resp = _chapter11_inputs()
    draw = torch.tensor([3, 5, 8, 13, 21])
    g = torch.Generator().manual_seed(9)
    small_src = torch.arange(5).repeat_interleave(2)
    small = _Set((real[draw][small_src] + 0.05 * torch.rand(10, 1, 8, 8, generator=g)).clamp(0, 1),
                 labels[draw][small_src], torch.zeros(10, dtype=torch.long), small_src)  # fmt: skip
    built = {0.05: (type("Source", (), {"images": real[draw]})(), small)}
    sweep, variants = eps_sweep(models, built, real, labels, adv, real_resp, adv_resp, line_a(3),
                                sweep_eps=[0.05, 0.2], n_sources=5, fraction=0.2, num_samples=20)  # fmt: skip
    assert list(sweep) == [0.05, 0.2] and list(variants) == ["eps=0.05", "eps=0.2"]
    rows = source_rows(adv.source_index, draw)
    assert sweep[0.2]["n_adversarial"] == len(rows) == 10
    assert sweep[0.2]["mean_linf"] == float(linf_distances(adv.images[rows], real[adv.source_index[rows]]).mean())
    assert sweep[0.05]["mean_linf"] <= 0.05 + 1e-6 and variants["eps=0.05"].details is sweep[0.05]
    assert sweep_table(sweep, list(models)).splitlines()[0].startswith("| ε | adversarial images | mean L∞ |")
    assert describe_eps_trend(variants, [0.05, 0.2]).startswith(" Over the ε sweep, consis_adv")
    assert describe_eps_trend(variants, []) == ""
    with pytest.raises(ValueError, match="at least one"):
        eps_sweep(models, {}, real, labels, adv, real_resp, adv_resp, line_a(3), sweep_eps=[0.2], n_sources=5)
