"""consistency.tracing's chapter-13 summaries: agreement_summary, random_orders,
removal_effect, trace_adversarial, traced_neurons and restoration, each against the
chapter's former code (or a closed form) on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advinterp_lib.consistency.tracing import (
    ablation_curve,
    agreement_summary,
    neuron_influence,
    random_orders,
    rank_agreement,
    removal_effect,
    restoration,
    trace_adversarial,
    traced_neurons,
)


@pytest.fixture
def setup(make_toy_cnn):
    model = make_toy_cnn(3).eval()
    g = torch.Generator().manual_seed(3)
    x = torch.rand(8, 1, 12, 12, generator=g)
    y = torch.randint(0, 4, (8,), generator=g)
    return model, x, y


def test_agreement_summary_equals_the_former_table_code(setup):
    model, x, y = setup
    inf = neuron_influence(model, x, y)
    s = agreement_summary(inf, k=2)
    old = rank_agreement(inf.prediction_difference, inf.gradient_x_activation, k=2).summary()
    assert {k: s[k] for k in old} == old
    same = inf.ranking("prediction_difference")[:, 0] == inf.ranking("gradient_x_activation")[:, 0]
    assert s["same_top_neuron"] == same.float().mean().item()
    assert s["max_abs_gap"] == (inf.prediction_difference - inf.gradient_x_activation).abs().max().item()
    with pytest.raises(TypeError, match="NeuronInfluence"):
        agreement_summary("influence")


def test_random_orders_draw_one_permutation_per_image_in_order():
    orders = random_orders(3, 5, torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    assert torch.equal(orders, torch.stack([torch.randperm(5, generator=g) for _ in range(3)]))
    assert (orders.sort(1).values == torch.arange(5)).all()
    with pytest.raises(ValueError, match="n_images"):
        random_orders(0, 5, g)
    with pytest.raises(TypeError, match="generator"):
        random_orders(2, 5, 1)


def test_removal_effect_equals_the_former_loop(setup):
    model, x, y = setup
    inf = neuron_influence(model, x, y)
    orders = {"pd": inf.ranking(), "random": random_orders(8, inf.num_neurons, torch.Generator().manual_seed(0))}
    curves, flipped = removal_effect(model, x, y, orders, steps=4, batch_size=3)
    assert list(curves) == ["pd", "random"]
    for name, order in orders.items():
        scores, preds = ablation_curve(model, x, order, y, steps=4, batch_size=3)
        assert torch.equal(curves[name], scores.mean(0))
        correct = preds[:, 0] == y
        assert torch.equal(flipped[name], ((preds != y[:, None]) & correct[:, None]).float().sum(0) / correct.sum())
        assert flipped[name][0] == 0  # nothing removed, nothing flipped
    with pytest.raises(ValueError, match="orders"):
        removal_effect(model, x, y, {}, steps=2)


def test_trace_adversarial_traces_the_margin_only_when_fooled(setup):
    model, x, _ = setup
    pred = int(model(x[:1]).argmax(1))
    fooled = trace_adversarial(model, x[:1], torch.tensor([(pred + 1) % 4]))
    assert int(fooled.target[0]) == pred and int(fooled.contrast[0]) == (pred + 1) % 4
    assert torch.equal(
        fooled.prediction_difference,
        neuron_influence(model, x[:1], pred, contrast=torch.tensor([(pred + 1) % 4])).prediction_difference,
    )
    resisted = trace_adversarial(model, x[:1], torch.tensor([pred]))
    assert resisted.contrast is None and int(resisted.target[0]) == pred
    with pytest.raises(ValueError, match="one image"):
        trace_adversarial(model, x[:2], torch.tensor([0, 1]))


def test_traced_neurons_closed_form():
    c = 6
    pd = torch.tensor([[0.1, 3.0, -1.0, 2.0, 0.0, 0.5]])
    inf = neuron_influence_stub(pd)
    top_images = torch.tensor([[0, 1], [2, 3], [0, 0], [1, 3], [2, 2], [0, 2]])  # [C, 2]
    labels = torch.tensor([1, 1, 0, 1])  # the traced class is 1
    consis, consis_adv = torch.linspace(0, 1, c, dtype=torch.float64), torch.full((c,), 0.25, dtype=torch.float64)
    out = traced_neurons(inf, top_images, labels, consis, consis_adv, k=2)
    assert out["neurons"] == [1, 3]
    assert out["class_share"] == float(np.mean([0.5, 1.0]))
    assert out["consis"] == pytest.approx((0.2 + 0.6) / 2) and out["consis_adv"] == 0.25
    with pytest.raises(ValueError, match="consis"):
        traced_neurons(inf, top_images, labels, consis[:3], consis_adv, k=2)


def neuron_influence_stub(pd: torch.Tensor):
    from advinterp_lib.consistency.tracing import NeuronInfluence

    n, c = pd.shape
    return NeuronInfluence(
        layer="l",
        target=torch.ones(n, dtype=torch.int64),
        contrast=None,
        prediction=torch.ones(n, dtype=torch.int64),
        score=torch.zeros(n),
        prediction_difference=pd,
        probability_difference=pd,
        gradient_x_activation=pd,
        flips=torch.zeros(n, c, dtype=torch.bool),
    )


def test_restoration_equals_the_former_code(setup):
    model, x, y = setup
    pred = model(x).argmax(1).detach()
    true = (pred + 1) % 4  # every image "fooled": its prediction is not the true class
    inf = neuron_influence(model, x, pred, contrast=true)
    r = restoration(model, x, inf.ranking(), pred, true, steps=5, batch_size=3)
    margins, preds = ablation_curve(model, x, inf.ranking(), pred, contrast=true, steps=5, batch_size=3)
    assert torch.equal(r.margins, margins)
    assert torch.equal(r.share, (preds == true[:, None]).float().mean(0))
    for i, first in enumerate(r.first_restore()):
        hits = (preds[i] == true[i]).nonzero()
        assert first == (int(hits[0]) if len(hits) else None)
    assert r.share[0] == 0  # before any removal every image is fooled
