"""Chapter 11's steps around Table 1 (studies.inconsistency), on real Fashion-MNIST test
images and a tiny real CNN.

The top-image rows are checked against a twin (the chapter's notebook code as it was
before it moved into the library, run on the same inputs: the same tensors and titles);
the tables and lines against the numbers computed here independently; the sweep's bounds
and the perturbation's size against closed forms; and each function's bad input.
"""

from __future__ import annotations

import math

import pytest
import torch

from advinterp_lib.consistency import concept_top_activations, summarize_consistency
from advinterp_lib.consistency.evaluation import AttackRates, attack_rates, linf_distances
from advinterp_lib.consistency.sensitivity import (
    Variant,
    describe_eps_trend,
    describe_sensitivity,
    describe_target_concept,
    direction_check,
    lookup_variants,
    sensitivity_record,
)
from advinterp_lib.data import AdversarialSet, load
from advinterp_lib.interpret.receptive_field import calibrate_discrepancy, discrepancy_maps
from advinterp_lib.studies import inconsistency as study

N_SOURCES, K_TARGETS, FRACTION = 30, 2, 0.1


@pytest.fixture(scope="module")
def source():
    """30 real Fashion-MNIST test images, three of each class."""
    return load("fashion-mnist", "test").subset(N_SOURCES, seed=0)


@pytest.fixture(scope="module")
def advset(source):
    """Each source twice, each copy with its own target and a fixed-sign step of 51/255
    (0.2) on a band of pixels, on the uint8 grid."""
    g = torch.Generator().manual_seed(0)
    index = torch.arange(N_SOURCES).repeat_interleave(K_TARGETS)
    pixels = (source.images[index] * 255).round().to(torch.int16)
    step = torch.where(pixels[:, :, 10:14] < 128, 51, -51)
    pixels[:, :, 10:14] += step
    labels = source.labels[index]
    targets = (labels + torch.randint(1, 10, labels.shape, generator=g)) % 10
    shard = {"images": pixels.to(torch.uint8), "source_index": index, "label": labels, "target": targets}
    return AdversarialSet([shard], k=K_TARGETS, num_sources=N_SOURCES)


@pytest.fixture
def model(make_toy_cnn):
    """A ToyCNN for 28x28 images and ten classes, eval mode; last conv layer of 6 channels."""
    return make_toy_cnn(seed=1, num_classes=10, size=28).eval()


@pytest.fixture
def activations(model, source, advset):
    return concept_top_activations(model, source.images, source.labels, advset.images, advset.labels,
                                   num_concepts=10, fraction=FRACTION)  # fmt: skip


# --- the attack's rates ------------------------------------------------------------


def _rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_attack_rate_table_lists_the_rates_of_each_model_and_of_the_ensemble(make_toy_cnn, source, advset):
    models = {"a": make_toy_cnn(seed=1, num_classes=10, size=28).eval(),
              "b": make_toy_cnn(seed=2, num_classes=10, size=28).eval()}  # fmt: skip
    with torch.no_grad():
        real = {m: net(source.images) for m, net in models.items()}
        adv = {m: net(advset.images) for m, net in models.items()}
    rates = attack_rates(real, adv, source.labels, advset.labels, advset.targets)
    rows = _rows(study.attack_rate_table(rates, ["b", "a"]))
    assert [r[0] for r in rows] == ["b", "a", "average of the three"]
    for row in rows[:2]:
        m = row[0]
        accuracy = (real[m].argmax(1) == source.labels).double().mean().item()
        hit = (adv[m].argmax(1) == advset.targets).double().mean().item()
        fooled = (adv[m].argmax(1) != advset.labels).double().mean().item()
        assert row[1:] == [f"{accuracy:.1%}", f"{hit:.1%}", f"{fooled:.1%}"]
    average = sum(v.softmax(1) for v in adv.values()).argmax(1)
    assert rows[2] == ["average of the three", "", f"{(average == advset.targets).double().mean().item():.1%}", ""]


def test_attack_rate_table_rejects_missing_models():
    rates = AttackRates({"a": 0.9}, {"a": 0.5, "ensemble": 0.6}, {"a": 0.7})
    with pytest.raises(ValueError, match="at least one model"):
        study.attack_rate_table(rates, [])
    with pytest.raises(ValueError, match=r"rates.real_accuracy: no entry for \['b'\]"):
        study.attack_rate_table(rates, ["a", "b"])
    with pytest.raises(ValueError, match="'ensemble' entry"):
        study.attack_rate_table(AttackRates({"a": 0.9}, {"a": 0.5}, {"a": 0.7}), ["a"])


# --- the perturbation's size --------------------------------------------------------


def test_describe_perturbation_gives_the_mean_linf_on_both_scales(source, advset):
    linf = linf_distances(advset.images, source.images[advset.source_index])
    assert linf.tolist() == pytest.approx([51 / 255] * len(advset), abs=1e-6)  # the step, on every image
    assert study.describe_perturbation(advset, linf) == (
        f"{2 * N_SOURCES} adversarial images from {N_SOURCES} sources; mean L-inf distance 0.200 (51/255)"
    )


def test_describe_perturbation_rejects_linf_not_one_per_image(advset):
    for bad in (torch.zeros(len(advset) - 1), torch.zeros(len(advset), 1), torch.zeros(0), [0.2] * len(advset)):
        with pytest.raises(ValueError, match=f"linf: expected a tensor \\[{len(advset)}\\]"):
            study.describe_perturbation(advset, bad)


# --- streaming against forward passes -----------------------------------------------


def test_forward_pass_seconds_runs_every_image_once_in_batches_and_restores_the_mode(make_toy_cnn):
    model = make_toy_cnn(seed=0).train()
    seen: list[tuple[int, bool]] = []
    handle = model.register_forward_hook(lambda m, i, o: seen.append((len(i[0]), m.training or o.requires_grad)))
    x, y = torch.rand(7, 1, 12, 12), torch.rand(4, 1, 12, 12)
    try:
        seconds = study.forward_pass_seconds(model, x, y, batch_size=3)
    finally:
        handle.remove()
    assert isinstance(seconds, float) and seconds >= 0
    assert [n for n, _ in seen] == [3, 3, 1, 3, 1]  # each set in batches of 3, in order
    assert not any(flag for _, flag in seen)  # eval mode, no graph
    assert all(m.training for m in model.modules())  # train mode restored


def test_forward_pass_seconds_rejects_bad_input(toy_cnn):
    x = torch.rand(2, 1, 12, 12)
    with pytest.raises(ValueError, match="at least one tensor"):
        study.forward_pass_seconds(toy_cnn)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        study.forward_pass_seconds(toy_cnn, x, batch_size=0)
    with pytest.raises(ValueError, match=r"image_sets\[1\]"):
        study.forward_pass_seconds(toy_cnn, x, x + 1)
    with pytest.raises((ValueError, TypeError), match=r"image_sets\[0\]"):
        study.forward_pass_seconds(toy_cnn, x.double())


def test_describe_streaming_reports_the_top_counts_and_each_models_times(make_toy_cnn, source, advset):
    nets = {"first": make_toy_cnn(seed=1, num_classes=10, size=28).eval(),
            "second": make_toy_cnn(seed=2, num_classes=10, size=28).eval()}  # fmt: skip
    acts = {m: concept_top_activations(net, source.images, source.labels, advset.images, advset.labels,
                                       num_concepts=10, fraction=FRACTION) for m, net in nets.items()}  # fmt: skip
    text = study.describe_streaming(acts, {"first": 1.234, "second": 0.5}, {"first": 0.25, "second": 2.0})
    k_real, k_adv = math.ceil(FRACTION * N_SOURCES), math.ceil(FRACTION * 2 * N_SOURCES)
    assert text.splitlines() == [
        f"per neuron: top {k_real} of {N_SOURCES} real and top {k_adv} of {2 * N_SOURCES} adversarial images",
        "first: layer 'features.4', 6 neurons; streaming 1.23 s vs forward passes alone 0.25 s",
        "second: layer 'features.4', 6 neurons; streaming 0.50 s vs forward passes alone 2.00 s",
    ]


def test_describe_streaming_rejects_missing_times(activations):
    with pytest.raises(ValueError, match="at least one model"):
        study.describe_streaming({}, {}, {})
    with pytest.raises(ValueError, match=r"missing \['m'\]"):
        study.describe_streaming({"m": activations}, {"m": 1.0}, {})


# --- a neuron's top images, as the figure's rows -------------------------------------


def _notebook_rows(model, a, n, source, advset, *, n_shown, patch_size, stride, generator):
    """The chapter's cell before the move (x_adv = advset.images, names = class names)."""
    names, x_adv = list(source.class_names), advset.images
    shown = min(n_shown, a.real.k, a.adversarial.k)
    real_idx, adv_idx = a.real.indices[n, :shown], a.adversarial_positions()[n, :shown]
    adv_titles = [f"{names[int(advset.labels[i])]}→{names[int(advset.targets[i])]}" for i in adv_idx]
    rows = {"real": (source.images[real_idx], a.real.locations[n, :shown],
                     [names[int(source.labels[i])] for i in real_idx]),
            "adversarial": (x_adv[adv_idx], a.adversarial.locations[n, :shown], adv_titles)}  # fmt: skip
    return {label: (imgs, calibrate_discrepancy(discrepancy_maps(model, imgs, a.layer, n, locations=locs,
                    patch_size=patch_size, stride=stride, generator=generator)), titles)
            for label, (imgs, locs, titles) in rows.items()}  # fmt: skip


@pytest.mark.parametrize("n_shown", [2, 8])  # 8 > k_real = 3: the row is cut to the smaller top set
def test_top_image_rows_matches_the_chapters_former_cell(model, activations, source, advset, n_shown):
    occluder = dict(n_shown=n_shown, patch_size=5, stride=3)
    for neuron in (0, 5):  # one generator across neurons, as in the chapter
        got = study.top_image_rows(model, activations, neuron, source, advset, **occluder,
                                   generator=torch.Generator().manual_seed(neuron))  # fmt: skip
        want = _notebook_rows(model, activations, neuron, source, advset, **occluder,
                              generator=torch.Generator().manual_seed(neuron))  # fmt: skip
        assert list(got) == ["real", "adversarial"]
        shown = min(n_shown, activations.real.k, activations.adversarial.k)
        for label in got:
            images, maps, titles = got[label]
            assert images.shape == (shown, 1, 28, 28) and maps.shape == (shown, 28, 28) and len(titles) == shown
            assert torch.equal(images, want[label][0]) and torch.equal(maps, want[label][1])
            assert titles == want[label][2]
            assert float(maps.min()) >= 0 and float(maps.max()) <= 1
        best = int(activations.adversarial_positions()[5 if neuron else 0, 0])
        names = source.class_names
        assert got["adversarial"][2][0] == f"{names[int(advset.labels[best])]}→{names[int(advset.targets[best])]}"


def test_top_image_rows_rejects_bad_input(model, activations, source, advset):
    with pytest.raises(ValueError, match="neuron must be <= 5"):
        study.top_image_rows(model, activations, 6, source, advset)
    with pytest.raises(ValueError, match="n_shown must be >= 1"):
        study.top_image_rows(model, activations, 0, source, advset, n_shown=0)
    with pytest.raises(ValueError, match="index past"):  # streamed from more images than given
        study.top_image_rows(model, activations, 0, source.subset(indices=range(2)), advset)
    with pytest.raises(ValueError, match="patch_size"):
        study.top_image_rows(model, activations, 0, source, advset, patch_size=40)


# --- the ε sweep's bounds -----------------------------------------------------------


def test_sweep_bounds_keeps_the_bounds_other_than_eps_in_order():
    args = dict(sweep_images=300, n_images=1000, dataset="fashion-mnist")
    assert study.sweep_bounds([0.05, 0.1, 0.2], 0.2, **args) == [0.05, 0.1]
    assert study.sweep_bounds([0.3, 0.2, 0.05], 0.2, **args) == [0.3, 0.05]
    assert study.sweep_bounds([0.05], 0.2, sweep_images=1000, n_images=1000, dataset="fashion-mnist") == [0.05]
    # sweep_images = 0 skips the sweep, on any data set and whatever the bounds
    assert study.sweep_bounds([0.2], 0.2, sweep_images=0, n_images=1000, dataset="imagenet-val") == []


def test_sweep_bounds_rejects_bad_parameters():
    args = dict(n_images=1000, dataset="fashion-mnist")
    with pytest.raises(ValueError, match="builds Fashion-MNIST adversarial sets"):
        study.sweep_bounds([0.05], 0.2, sweep_images=300, n_images=1000, dataset="imagenet-val")
    for sweep_images in (1001, -5):
        with pytest.raises(ValueError, match=r"sweep_images must be in \[1, n_images = 1000\]"):
            study.sweep_bounds([0.05], 0.2, sweep_images=sweep_images, **args)
    for bounds in ([0.2, 0.2], []):
        with pytest.raises(ValueError, match="a bound other than eps = 0.2"):
            study.sweep_bounds(bounds, 0.2, sweep_images=300, **args)
    for bounds in ([0.0, 0.2], [0.05, 1.5]):
        with pytest.raises(ValueError, match="each bound of sweep_eps"):
            study.sweep_bounds(bounds, 0.2, sweep_images=300, **args)
    with pytest.raises(TypeError, match="each bound of sweep_eps"):
        study.sweep_bounds(["0.1"], 0.2, sweep_images=300, **args)


# --- this run's sensitivity, in prose -------------------------------------------------


@pytest.fixture
def variants(make_toy_cnn, source, advset):
    """Table 1, σ = 2 and the target's concept from the real lookup, on two models and
    the identity as A (a new A per σ: 0.5 * identity + 0.5), and two ε rows made of
    direction checks of the same tables."""
    nets = {m: make_toy_cnn(seed=s, num_classes=10, size=28).eval() for m, s in (("a", 1), ("b", 2))}
    acts = {m: concept_top_activations(net, source.images, source.labels, advset.images, advset.labels,
                                       num_concepts=10, fraction=FRACTION) for m, net in nets.items()}  # fmt: skip
    eye = torch.eye(10, dtype=torch.float64)
    boot = dict(num_samples=50, seed=0)
    summaries = {
        m: summarize_consistency(a.real_concepts, a.adversarial_concepts, eye, **boot) for m, a in acts.items()
    }
    found = lookup_variants(acts, summaries, eye, lambda s: 0.5 * eye + 0.5, advset, sigma=1.0, sigmas=[2.0],
                            eps=0.2, **boot)  # fmt: skip
    for e, shift in ((0.1, 0), (0.2, 1)):  # consis_adv of a rolled table: another value per bound
        found[f"eps={e:g}"] = Variant(f"ε = {e:g}", "eps", e, {
            m: direction_check(a.real_concepts, a.adversarial_concepts.roll(shift, 0), eye, **boot)
            for m, a in acts.items()})  # fmt: skip
    return found


def test_describe_run_sensitivity_joins_the_three_descriptions_of_this_run(variants):
    record = sensitivity_record(variants)
    for bounds in ([0.1, 0.2], []):
        twin = (  # the chapter's cell before the move
            f"**In this run** (`quick` profile): {describe_sensitivity(record)} "
            f"{describe_target_concept(variants)}{describe_eps_trend(variants, bounds)}"
        )
        text = study.describe_run_sensitivity(variants, bounds, profile="quick")
        assert text == twin
        assert text.startswith("**In this run** (`quick` profile): The direction survives")
        assert ("Over the ε sweep, consis_adv" in text) == bool(bounds)
    assert study.describe_run_sensitivity(variants, (0.1, 0.2), profile="full") == study.describe_run_sensitivity(
        variants, [0.1, 0.2], profile="full"
    )


def test_describe_run_sensitivity_rejects_incomplete_variants(variants):
    with pytest.raises(ValueError, match="no variants|at least one"):
        study.describe_run_sensitivity({}, [], profile="quick")
    without_target = {k: v for k, v in variants.items() if k != "concept=target"}
    with pytest.raises(KeyError, match="concept=target"):
        study.describe_run_sensitivity(without_target, [], profile="quick")
    with pytest.raises(KeyError, match="eps=0.05"):
        study.describe_run_sensitivity(variants, [0.05], profile="quick")
