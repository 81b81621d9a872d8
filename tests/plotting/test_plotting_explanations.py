"""plotting.explanations: the maps table, the correlation histograms and the deletion /
insertion curves -- what each draws, and bad input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.interpret import PerturbationCurve  # noqa: E402
from advinterp_lib.plotting.explanations import correlation_histograms, perturbation_curves, show_maps  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _rows(n=2):
    signed = torch.tensor([[[-2.0, 1.0], [0.5, 0.0]]])
    positive = torch.tensor([[[0.0, 1.0], [3.0, 2.0]]])
    return [(torch.rand(1, 2, 2), f"row {r}", {"guided backprop: top": signed, "Grad-CAM": positive}) for r in range(n)]


def test_show_maps_draws_a_table_with_signed_and_positive_scales():
    fig = show_maps(_rows(), "title", signed={"guided backprop"})
    axes = np.array(fig.axes).reshape(2, 3)
    assert fig._suptitle.get_text() == "title"
    assert [a.get_title() for a in axes[0]] == ["image", "guided backprop\ntop", "Grad-CAM"]
    assert axes[1, 0].get_ylabel() == "row 1"
    (signed,) = axes[0, 1].get_images()
    (positive,) = axes[0, 2].get_images()
    assert signed.get_cmap().name == "RdBu_r" and signed.get_clim() == (-2.0, 2.0)
    assert positive.get_cmap().name == "inferno" and positive.get_clim() == (0.0, 3.0)
    np.testing.assert_allclose(positive.get_array(), [[0.0, 1.0], [3.0, 2.0]])
    assert all(not a.get_xticks().size and not a.get_yticks().size for a in axes.ravel())


def test_show_maps_without_signed_columns_and_a_zero_map():
    rows = [(torch.rand(3, 2, 2), "colour", {"flat": torch.zeros(2, 2)})]
    fig = show_maps(rows, "t")
    image, flat = fig.axes
    assert image.get_images()[0].get_array().shape == (2, 2, 3)
    assert flat.get_images()[0].get_clim() == (0.0, 1.0)  # a zero map still gets a scale


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([], "at least one"),
        ([(torch.rand(1, 2, 2), "a", {"x": torch.rand(1, 2, 2)}), (torch.rand(1, 2, 2), "b", {"y": torch.rand(2, 2)})],
         "columns"),
        ([(torch.rand(1, 2, 2), "a", {"x": torch.rand(2, 2, 2)})], "x"),
        ([(torch.rand(2, 2, 2), "a", {"x": torch.rand(2, 2)})], "image"),
    ],
)  # fmt: skip
def test_show_maps_refuses_bad_rows(rows, match):
    with pytest.raises(ValueError, match=match):
        show_maps(rows, "t")


def test_correlation_histograms_one_panel_per_model_nan_left_out():
    values = {
        "a": {"m1": torch.tensor([0.1, 0.2, float("nan")]), "m2": torch.tensor([-0.5, 0.5, 0.9])},
        "b": {"m1": torch.tensor([0.0, 0.0, 0.0]), "m2": torch.tensor([1.0, 1.0, -1.0])},
    }
    fig = correlation_histograms(values, xlabel="x", title="t", colours=["red", "blue"], bins=4)
    assert len(fig.axes) == 2 and [a.get_title() for a in fig.axes] == ["a", "b"]
    assert fig.axes[0].get_ylabel() == "images" and fig.axes[1].get_xlabel() == "x"
    heights = [sum(p.get_height() for p in c) for c in fig.axes[0].containers]
    assert heights == [2, 3]  # the NaN is not counted
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["m1", "m2"]
    assert fig._suptitle.get_text() == "t"


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        ({}, {}, "at least one"),
        ({"a": {"m": torch.zeros(2)}, "b": {"n": torch.zeros(2)}}, {}, "methods"),
        ({"a": {"m": torch.zeros(2), "n": torch.zeros(2)}}, {"colours": ["red"]}, "colours"),
        ({"a": {"m": torch.zeros(2)}}, {"bins": 0}, "bins"),
    ],
)
def test_correlation_histograms_refuses_bad_input(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        correlation_histograms(values, xlabel="x", title="t", **kwargs)


def test_perturbation_curves_draw_the_mean_curves():
    fractions = torch.tensor([0.0, 0.5, 1.0])
    deletion = PerturbationCurve(fractions, torch.tensor([[1.0, 0.5, 0.0], [0.8, 0.3, 0.0]]))
    insertion = PerturbationCurve(fractions, torch.tensor([[0.0, 0.5, 1.0], [0.2, 0.7, 1.0]]))
    curves = {"a": {"map": (deletion, insertion), "random": (insertion, deletion)}, "b": {"map": (deletion, insertion)}}
    fig = perturbation_curves(curves, title="t")
    axes = np.array(fig.axes).reshape(2, 2)
    assert axes[0, 0].get_title() == "a: deletion (lower is better)"
    assert axes[1, 1].get_title() == "b: insertion (higher is better)"
    mapped, random = axes[0, 0].get_lines()
    np.testing.assert_allclose(mapped.get_ydata(), [0.9, 0.4, 0.0])
    assert random.get_linestyle() == "--" and random.get_color() == "black"
    np.testing.assert_allclose(axes[1, 0].get_lines()[0].get_ydata(), [0.1, 0.6, 1.0])
    assert len(axes[0, 1].get_lines()) == 1
    with pytest.raises(ValueError, match="at least one"):
        perturbation_curves({}, title="t")
