"""Chapter 4's bookkeeping (``studies.perturbation_explanations``): each function gives
what the chapter's cells computed inline before, checked against closed forms (forward
passes, areas under known curves), scipy's Spearman correlation, the faithfulness curves
called directly, and a method that sleeps a known time; on real Fashion-MNIST test images
and a small CNN trained for a few steps."""

from __future__ import annotations

import math
import statistics
import time

import pytest
import scipy.stats
import torch

from advinterp_lib.data import load
from advinterp_lib.interpret import (
    PerturbationCurve,
    deletion_curve,
    grad_cam,
    guided_backprop,
    insertion_curve,
    occlusion,
    saliency,
)
from advinterp_lib.studies import perturbation_explanations as study


@pytest.fixture(scope="module")
def setting():
    """12 real test images and a ToyCNN for 10 classes trained 20 steps on 120 of them
    (the trained model's maps are not constant), with its predicted classes."""
    from tests.conftest import trained_toy_cnn

    source = load("fashion-mnist", "test").subset(120, seed=3)
    model = trained_toy_cnn(source.images, source.labels, steps=20)
    x = source.images[:12]
    with torch.no_grad():
        target = model(x).argmax(1)
    return model, x, target


def _rows(table: str) -> list[list[str]]:
    """The body cells of a markdown table (header and rule skipped)."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def _passes(size: int, k: int, s: int) -> int:
    """Closed form: (ceil((size - k) / s) + 1)^2 window positions, plus the clean image."""
    return (math.ceil((size - k) / s) + 1) ** 2 + 1


def test_forward_passes_table_has_one_row_per_window() -> None:
    passes = {k: _passes(28, k, 2) for k in (2, 4, 8)}
    table = study.forward_passes_table(passes, stride=2)
    assert table.splitlines()[0] == "| window | stride | forward passes per image |"
    assert _rows(table) == [["2×2", "2", "197"], ["4×4", "2", "170"], ["8×8", "2", "122"]]
    with pytest.raises(ValueError, match="passes"):
        study.forward_passes_table({}, stride=2)


def test_timed_map_returns_the_methods_map_and_its_time_per_image(setting) -> None:
    model, x, target = setting
    heat, seconds = study.timed_map(occlusion, model, x, target, window=4, stride=4)
    assert torch.equal(heat, occlusion(model, x, target, window=4, stride=4))
    assert seconds > 0

    def sleepy(model, images, target, *, pause):
        time.sleep(pause)
        return images

    start = time.perf_counter()
    same, seconds = study.timed_map(sleepy, model, x[:4], target[:4], pause=0.08)
    elapsed = time.perf_counter() - start
    assert same is not None and torch.equal(same, x[:4])
    assert 0.08 / 4 <= seconds <= elapsed / 4  # the pause, split over 4 images
    with pytest.raises(ValueError, match="at least one image"):
        study.timed_map(sleepy, model, x[:0], target[:0], pause=0.0)


def test_occlusion_agreement_is_scipys_spearman_per_image(setting) -> None:
    model, x, target = setting
    occ = occlusion(model, x, target, window=4, stride=2)
    maps = {
        "saliency": saliency(model, x, target),
        "guided backprop": guided_backprop(model, x, target),
        "Grad-CAM": grad_cam(model, x, target),
    }
    got = study.occlusion_agreement(occ, maps, x)
    assert list(got) == ["Grad-CAM", "saliency", "guided backprop", "image intensity"]
    for method, reference in {**maps, "image intensity": x}.items():
        expected = [scipy.stats.spearmanr(reference[i].flatten(), occ[i].flatten()).statistic for i in range(len(x))]
        assert got[method].shape == (len(x),)
        assert got[method].tolist() == pytest.approx(expected, abs=1e-9, nan_ok=True)
    with pytest.raises(ValueError, match="missing"):
        study.occlusion_agreement(occ, {"saliency": maps["saliency"]}, x)
    with pytest.raises(ValueError, match="image intensity"):
        study.occlusion_agreement(occ, maps, x[:-1])


def test_agreement_statistics_ignore_nan() -> None:
    nan = float("nan")
    agreement = {
        "a": {"Grad-CAM": torch.tensor([0.1, nan, 0.5, 0.3], dtype=torch.float64)},
        "b": {"Grad-CAM": torch.tensor([-0.2, 0.4], dtype=torch.float64)},
    }
    mean, median = study.agreement_statistics(agreement)
    assert mean == {"a": {"Grad-CAM": pytest.approx(0.3)}, "b": {"Grad-CAM": pytest.approx(0.1)}}
    assert median["a"]["Grad-CAM"] == pytest.approx(statistics.median([0.1, 0.5, 0.3]))
    assert median["b"]["Grad-CAM"] == pytest.approx(0.1)


def test_agreement_table_states_the_passes_and_the_milliseconds() -> None:
    mean = {"alexnet": {"Grad-CAM": 0.214, "image intensity": 0.6}, "vgg": {"Grad-CAM": -0.05, "image intensity": 0.5}}
    seconds = {("alexnet", "occlusion"): 0.01234, ("alexnet", "Grad-CAM"): 0.0004, ("vgg", "occlusion"): 0.2,
               ("vgg", "Grad-CAM"): 0.00105}  # fmt: skip
    text = study.agreement_table(mean, seconds, window=4, stride=2)
    sentence, table = text.split("\n\n")
    assert f"(4×4 window, {_passes(28, 4, 2)} forward passes per image;" in sentence
    assert table.splitlines()[0] == "| model | Grad-CAM | image intensity | occlusion ms/image | Grad-CAM ms/image |"
    assert _rows(table) == [["alexnet", "0.21", "0.60", "12.3", "0.4"], ["vgg", "-0.05", "0.50", "200.0", "1.1"]]
    assert f"{_passes(12, 3, 3)} forward passes" in study.agreement_table(
        mean, seconds, window=3, stride=3, image_size=(12, 12)
    )
    with pytest.raises(ValueError, match="at least one model"):
        study.agreement_table({}, seconds, window=4, stride=2)
    with pytest.raises(ValueError, match="missing"):
        study.agreement_table(mean, {("alexnet", "occlusion"): 0.1}, window=4, stride=2)


def test_faithfulness_curves_are_the_curves_in_order_on_one_generator(setting) -> None:
    model, x, target = setting
    # rounded maps: many ties, so the generator's draws decide the order
    maps = {"saliency": saliency(model, x, target).round(decimals=1), "flat": torch.zeros(len(x), 1, 28, 28)}
    got_gen, ref_gen = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    got = study.faithfulness_curves(model, x, target, maps, steps=4, generator=got_gen)
    assert list(got) == ["saliency", "flat"]
    for method, heat in maps.items():
        d = deletion_curve(model, x, target, heat, steps=4, generator=ref_gen)
        i = insertion_curve(model, x, target, heat, steps=4, generator=ref_gen)
        assert torch.equal(got[method][0].probabilities, d.probabilities)
        assert torch.equal(got[method][1].probabilities, i.probabilities)
        assert torch.equal(got[method][0].fractions, torch.linspace(0, 1, 5, dtype=torch.float64))
    assert torch.equal(got_gen.get_state(), ref_gen.get_state())
    with pytest.raises(ValueError, match="at least one map"):
        study.faithfulness_curves(model, x, target, {}, steps=4)
    with pytest.raises(ValueError, match="steps"):
        study.faithfulness_curves(model, x, target, maps, steps=0)


def test_mean_auc_is_the_trapezoid_area_averaged_over_images() -> None:
    fractions = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    falling = PerturbationCurve(fractions, torch.tensor([[1.0, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64))
    rising = PerturbationCurve(fractions, torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64))
    auc = study.mean_auc({"m": {"occlusion": (falling, rising)}})
    # image areas: 0.5 and 0.25 (deletion), 0.75 and 1.0 (insertion)
    assert auc == {"m": {"occlusion": {"deletion": pytest.approx(0.375), "insertion": pytest.approx(0.875)}}}


def test_auc_table_bolds_the_smallest_deletion_and_the_largest_insertion() -> None:
    auc = {
        "alexnet": {"occlusion": {"deletion": 0.1, "insertion": 0.9}, "random": {"deletion": 0.4, "insertion": 0.2}},
        "vgg": {"occlusion": {"deletion": 0.3, "insertion": 0.5}, "random": {"deletion": 0.3, "insertion": 0.6}},
    }
    table = study.auc_table(auc)
    assert table.splitlines()[0] == "| model | curve | occlusion | random |"
    assert _rows(table) == [
        ["alexnet", "deletion AUC", "**0.100**", "0.400"],
        ["alexnet", "insertion AUC", "**0.900**", "0.200"],
        ["vgg", "deletion AUC", "**0.300**", "**0.300**"],  # a tie: both bold
        ["vgg", "insertion AUC", "0.500", "**0.600**"],
    ]
    with pytest.raises(ValueError, match="at least one model"):
        study.auc_table({})
    with pytest.raises(ValueError, match="methods"):
        study.auc_table({**auc, "resnet": {"occlusion": {"deletion": 0.1, "insertion": 0.9}}})
