"""The explorers' update functions on the quick profile's real cached artifacts (the zoo
models, the consistent-AT "-Adv" model and chapter 11's adversarial set), at every
control's edge values, and the widgets that call them."""

import matplotlib.pyplot as plt
import pytest
import torch

from advinterp_lib.artifacts import adversarial_set, adversarial_variant
from advinterp_lib.consistency import class_synsets, correlation_matrix, distance_matrix
from advinterp_lib.explore import (
    ATTACKS,
    METHODS,
    NeuronData,
    attack_explorer,
    attack_view,
    explanation_explorer,
    explanation_view,
    neuron_explorer,
    neuron_view,
)
from advinterp_lib.runs.profiles import ADV_TRAINING, ZOO_TRAINING, adversarial_set_recipe, chapter_parameters

pytestmark = pytest.mark.slow  # first run on a cold cache trains the quick models


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def models():
    kw = {**ZOO_TRAINING["quick"], **ADV_TRAINING["quick"], "seed": 0, "progress": False}
    return {
        "resnet": adversarial_variant("resnet", "standard", **kw),
        "resnet-Adv": adversarial_variant("resnet", "consistent-AT", **kw),
    }


@pytest.fixture(scope="module")
def sets():
    p = chapter_parameters("quick", "11")
    return adversarial_set(
        p["archs"],
        adversarial_set_recipe(p, eps="eps"),
        n=p["n_images"],
        train_size=p["train_size"],
        train_epochs=p["train_epochs"],
        seed=p["seed"],
        progress=False,
    )


@pytest.fixture(scope="module")
def data(models, sets):
    source, advset = sets
    A = correlation_matrix(distance_matrix(class_synsets(source.synsets)), sigma=1.0)
    return NeuronData(models, source, advset, A)


# ------------------------------------------------------------------ neuron explorer


def test_neuron_view_at_both_ends_of_the_layer(data):
    layer = data.default_layer("resnet")
    width = data.layers("resnet")[layer]
    for unit in (0, width - 1):
        view = neuron_view(data, "resnet", layer, unit)
        assert view.ok and 0 <= view.numbers["consis_adv"] <= 1 and 0 <= view.numbers["consis"] <= 1


def test_neuron_view_consistency_equals_a_brute_force_count(data):
    layer = data.default_layer("resnet-Adv")
    view = neuron_view(data, "resnet-Adv", layer, 3)
    t = data.table("resnet-Adv", layer)
    labels = data.source.labels[t.real.indices[3]].tolist()
    K = len(data.class_names)
    p = [labels.count(c) / len(labels) for c in range(K)]
    brute = sum(p[i] * p[j] * float(data.correlation[i, j]) for i in range(K) for j in range(K))
    assert view.numbers["consis"] == pytest.approx(brute, abs=1e-6)
    assert view.numbers["real_indices"] == t.real.indices[3, : len(view.numbers["real_indices"])].tolist()


def test_neuron_view_with_highlights(data):
    view = neuron_view(data, "resnet", data.default_layer("resnet"), 1, n_shown=3, highlight=True)
    assert view.ok


@pytest.mark.parametrize(
    "model, layer, unit, message",
    [
        ("resnet", None, -1, "unit -1 is out of range"),
        ("resnet", None, "past", "has"),
        ("vgg", None, 0, "unknown model 'vgg'; choose one of: resnet, resnet-Adv"),
        ("resnet", "features.99", 0, "unknown layer 'features.99'"),
        ("resnet", None, 1.5, "choose an integer"),
    ],
)
def test_neuron_view_bad_choices_are_messages(data, model, layer, unit, message):
    layer = layer or data.default_layer("resnet")
    if unit == "past":
        unit = data.layers("resnet")[layer]  # one past the last unit
    view = neuron_view(data, model, layer, unit)
    assert not view.ok and message in view.message


def test_neuron_explorer_widget_follows_the_layer(data):
    box = neuron_explorer(data)
    controls = box.children[1].children
    model, layer, unit, _ = controls
    first = data.layers("resnet")
    other = next(name for name, width in first.items() if width != first[layer.value])
    layer.value = other
    assert unit.max == first[other] - 1
    assert "consis(n)" in box.children[2].value


# ------------------------------------------------------------------ attack explorer


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_view_every_attack(models, sets, attack):
    source, _ = sets
    view = attack_view(models, source, "resnet", 0, attack, 0.1)
    assert view.ok
    with torch.no_grad():
        assert view.numbers["prediction"] == int(models["resnet"](source.images[:1]).argmax())
    if attack != "DeepFool":
        assert view.numbers["linf"] <= 0.1 + 1e-6


def test_attack_view_budget_edges(models, sets):
    source, _ = sets
    last = len(source) - 1
    strong = attack_view(models, source, "resnet", last, "PGD", 1.0)
    assert strong.ok and strong.numbers["fooled"]
    for eps in (0, -0.1, 1.5):
        view = attack_view(models, source, "resnet", last, "FGSM", eps)
        assert not view.ok and "eps" in view.message
    assert "out of range" in attack_view(models, source, "resnet", last + 1, "FGSM", 0.1).message
    assert "unknown attack 'CW'" in attack_view(models, source, "resnet", 0, "CW", 0.1).message


def test_attack_explorer_widget_redraws(models, sets):
    source, _ = sets
    box = attack_explorer(models, source)
    box.children[1].children[2].value = "DeepFool"
    assert "→" in box.children[2].value


# ------------------------------------------------------------------ explanation explorer


def test_explanation_view_prediction_and_class_edges(models, sets):
    source, _ = sets
    K = len(source.class_names)
    for target in (None, 0, K - 1):
        view = explanation_view(models, source, len(source) - 1, target)
        assert view.ok and set(view.numbers) == set(models)
        for row in view.numbers.values():
            assert set(row["map_max"]) == set(METHODS)
            if target is not None:
                assert row["explained_class"] == target


@pytest.mark.parametrize(
    "index, target, message",
    [(-1, None, "image index -1"), (0, 10, "class 10 is out of range"), (10**6, 0, "out of range")],
)
def test_explanation_view_bad_choices_are_messages(models, sets, index, target, message):
    source, _ = sets
    view = explanation_view(models, source, index, target)
    assert not view.ok and message in view.message


def test_explanation_explorer_widget(models, sets):
    source, _ = sets
    box = explanation_explorer(models, source)
    box.children[1].children[1].value = 3
    assert "explanations of" in box.children[2].value
