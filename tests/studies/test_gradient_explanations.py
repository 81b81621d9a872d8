"""Chapter 3's bookkeeping (``studies.gradient_explanations``): each function gives what
the chapter's cells computed inline before, checked against the methods called one image
at a time, numpy's Pearson correlation of the two maps, the logits' own ranking, and
closed forms; on real Fashion-MNIST test images and a small CNN trained for a few steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from advinterp_lib.data import load
from advinterp_lib.interpret import grad_cam, guided_backprop, saliency
from advinterp_lib.studies import gradient_explanations as study

NAMES = tuple(f"class {i}" for i in range(10))


@pytest.fixture(scope="module")
def setting():
    """10 real test images and a ToyCNN for 10 classes trained 20 steps on 120 of them
    (its maps are not constant and differ between classes)."""
    from tests.conftest import trained_toy_cnn

    source = load("fashion-mnist", "test").subset(120, seed=3)
    model = trained_toy_cnn(source.images, source.labels, steps=20)
    return model, source.images[:10], source.labels[:10]


def _rows(table: str) -> list[list[str]]:
    """The body cells of a markdown table (header and rule skipped)."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def _top_two(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The top class and the runner-up, by sorting each image's logits."""
    with torch.no_grad():
        order = model(x).argsort(dim=1, descending=True)
    return order[:, 0], order[:, 1]


def _source_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """60 other real test images and their labels (to train a second model)."""
    source = load("fashion-mnist", "test").subset(60, seed=4)
    return source.images, source.labels


def test_prediction_captions_name_the_true_and_the_predicted_class() -> None:
    got = study.prediction_captions(torch.tensor([0, 3]), torch.tensor([0, 7]), NAMES)
    assert got == ["true class 0\npred class 0", "true class 3\npred class 7"]
    with pytest.raises(ValueError, match="predicted"):
        study.prediction_captions(torch.tensor([0, 3]), torch.tensor([0]), NAMES)


def test_runner_up_captions_name_both_classes() -> None:
    got = study.runner_up_captions((torch.tensor([2, 9]), torch.tensor([4, 1])), NAMES)
    assert got == ["top: class 2\nrunner-up: class 4", "top: class 9\nrunner-up: class 1"]
    with pytest.raises(ValueError, match="classes"):
        study.runner_up_captions((torch.tensor([2, 9]), torch.tensor([4])), NAMES)


def test_map_rows_slice_every_map_per_image(setting) -> None:
    _, x, _ = setting
    maps = {"b": torch.rand(len(x), 1, 28, 28), "a": torch.rand(len(x), 1, 28, 28)}
    captions = [f"image {i}" for i in range(len(x))]
    rows = study.map_rows(x, captions, maps)
    assert len(rows) == len(x)
    for i, (image, caption, cols) in enumerate(rows):
        assert torch.equal(image, x[i]) and caption == f"image {i}"
        assert list(cols) == ["b", "a"]  # the maps' order
        assert all(torch.equal(cols[t], maps[t][i]) for t in maps)
    with pytest.raises(ValueError, match="at least one map"):
        study.map_rows(x, captions, {})
    with pytest.raises(ValueError, match="captions"):
        study.map_rows(x, captions[:-1], maps)
    with pytest.raises(ValueError, match="'a'"):
        study.map_rows(x, captions, {"b": maps["b"], "a": maps["a"][:-1]})


def test_runner_up_maps_are_the_methods_maps_of_each_image_for_both_classes(setting) -> None:
    model, x, _ = setting
    first, second = _top_two(model, x)
    methods = {"guided backprop": guided_backprop, "Grad-CAM": grad_cam}
    got = study.runner_up_maps(model, x, (first, second), methods)
    assert list(got) == [
        "guided backprop: top class",
        "guided backprop: runner-up",
        "Grad-CAM: top class",
        "Grad-CAM: runner-up",
    ]
    for name, method in methods.items():
        for which, target in (("top class", first), ("runner-up", second)):
            one_by_one = torch.cat([method(model, x[i : i + 1], target[i : i + 1]) for i in range(len(x))])
            assert got[f"{name}: {which}"].shape == (len(x), 1, 28, 28)
            torch.testing.assert_close(got[f"{name}: {which}"], one_by_one, rtol=1e-5, atol=1e-6)
    assert not torch.equal(got["Grad-CAM: top class"], got["Grad-CAM: runner-up"])  # the class matters
    with pytest.raises(ValueError, match="at least one method"):
        study.runner_up_maps(model, x, (first, second), {})
    with pytest.raises(ValueError, match="classes"):
        study.runner_up_maps(model, x, (first, second[:-1]), methods)


def test_class_map_correlations_are_numpys_pearson_of_the_two_maps(setting) -> None:
    from tests.conftest import trained_toy_cnn

    model, x, _ = setting
    other = trained_toy_cnn(*_source_pair(), steps=5, seed=1)  # a second, different model
    models = {"trained": model, "other": other}
    methods = {"saliency": (saliency, {}), "Grad-CAM (no ReLU)": (grad_cam, {"relu": False})}
    correlation, seconds = study.class_map_correlations(models, x, methods)
    assert list(correlation) == ["trained", "other"] and seconds > 0
    for arch, m in models.items():
        first, second = _top_two(m, x)
        assert list(correlation[arch]) == list(methods)
        for name, (method, options) in methods.items():
            a, b = method(m, x, first, **options), method(m, x, second, **options)
            expected = [np.corrcoef(a[i].flatten().double(), b[i].flatten().double())[0, 1] for i in range(len(x))]
            assert correlation[arch][name].dtype == torch.float64
            assert correlation[arch][name].tolist() == pytest.approx(expected, abs=1e-9)
    with pytest.raises(ValueError, match="at least one model"):
        study.class_map_correlations({}, x, methods)
    with pytest.raises(ValueError, match="at least one method"):
        study.class_map_correlations(models, x, {})


def test_correlation_statistics_ignore_nan_and_count_it() -> None:
    nan = float("nan")
    correlation = {
        "a": {"saliency": torch.tensor([0.2, nan, 0.6, nan], dtype=torch.float64)},
        "b": {"saliency": torch.tensor([nan, nan], dtype=torch.float64)},
    }
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):  # b: every value undefined
        mean, nan_share = study.correlation_statistics(correlation)
    assert mean["a"] == {"saliency": pytest.approx(0.4)}
    assert math.isnan(mean["b"]["saliency"])
    assert nan_share == {"a": {"saliency": 0.5}, "b": {"saliency": 1.0}}


def test_correlation_table_states_the_images_and_rounds_to_two_decimals() -> None:
    mean = {"alexnet": {"saliency": 0.497, "Grad-CAM": 0.4812}, "resnet": {"saliency": 0.351, "Grad-CAM": 0.049}}
    sentence, table = study.correlation_table(mean, n_images=100).split("\n\n")
    assert sentence == (
        "Mean correlation between the maps of the top class and the runner-up "
        "(100 test images; lower = more class-discriminative):"
    )
    assert table.splitlines()[0] == "| model | saliency | Grad-CAM |"
    assert _rows(table) == [["alexnet", "0.50", "0.48"], ["resnet", "0.35", "0.05"]]
    with pytest.raises(ValueError, match="at least one model"):
        study.correlation_table({}, n_images=100)
    with pytest.raises(ValueError, match="methods"):
        study.correlation_table({**mean, "vgg": {"saliency": 0.4}}, n_images=100)
