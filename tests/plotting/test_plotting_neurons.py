"""plotting.neurons: agreement bars, class-frequency bars and purity histograms."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.plotting.neurons import agreement_bars, class_frequency_bars, purity_histograms  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_agreement_bars_one_labelled_bar_per_space():
    fig = agreement_bars({"pixels": 0.5, "vgg": 0.875}, xlabel="x", title="t")
    (ax,) = fig.axes
    bars = ax.patches
    assert [b.get_width() for b in bars] == [0.5, 0.875]
    assert bars[0].get_facecolor() != bars[1].get_facecolor()  # the reference is grey
    assert [t.get_text() for t in ax.texts] == ["50.0%", "87.5%"]
    assert ax.get_title() == "t" and ax.get_xlabel() == "x"


@pytest.mark.parametrize(("agreement", "match"), [({}, "at least one"), ({"a": 1.5}, r"\[0, 1\]")])
def test_agreement_bars_refuses_bad_input(agreement, match):
    with pytest.raises(ValueError, match=match):
        agreement_bars(agreement, xlabel="x", title="t")


def test_class_frequency_bars_draws_each_chosen_neuron():
    frequencies = {"a": torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]), "b": torch.tensor([[1.0, 0.0, 0.0]])}
    fig = class_frequency_bars(frequencies, {"a": [1], "b": [0]}, ["T-shirt/top", "Trouser", "Pullover"], title="t")
    top, bottom = fig.axes
    assert [p.get_height() for p in top.patches] == [0.0, 0.0, 1.0]
    assert top.get_title() == "a, neuron 1: max 1.00" and top.get_ylabel() == "consis(n, c)"
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["T-shirt", "Trouser", "Pullove"]
    assert all(t.get_text() == "" for t in top.get_xticklabels())  # names only on the bottom row
    (chance,) = bottom.get_lines()
    assert chance.get_ydata()[0] == 0.1


@pytest.mark.parametrize(
    ("frequencies", "neurons", "match"),
    [
        ({"a": torch.rand(2, 3)}, {"b": [0]}, "same models"),
        ({"a": torch.rand(2, 3), "b": torch.rand(2, 3)}, {"a": [0], "b": [0, 1]}, "same number"),
        ({"a": torch.rand(2, 4)}, {"a": [0]}, "one column per class"),
    ],
)
def test_class_frequency_bars_refuses_bad_input(frequencies, neurons, match):
    with pytest.raises(ValueError, match=match):
        class_frequency_bars(frequencies, neurons, ["a", "b", "c"], title="t")


def test_purity_histograms_one_step_histogram_per_model():
    fig = purity_histograms(
        {"a": torch.tensor([0.12, 0.5, 0.9]), "b": torch.tensor([1.0])}, xlabel="x", title="t", bins=4
    )
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (mean 0.51)", "b (mean 1.00)"]
    assert len(ax.patches) == 2 and ax.get_ylabel() == "neurons"
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0.1, 0.1])


@pytest.mark.parametrize(
    ("purity", "bins", "match"),
    [({}, 4, "at least one"), ({"a": torch.tensor([])}, 4, "non-empty"), ({"a": torch.ones(2)}, 0, "bins")],
)
def test_purity_histograms_refuses_bad_input(purity, bins, match):
    with pytest.raises(ValueError, match=match):
        purity_histograms(purity, xlabel="x", title="t", bins=bins)
