"""plotting.concepts: chapter 10's tree, heat maps and curves; chapter 13's traced decisions
and removal curves. What is drawn (axes, images, lines, texts, data) and bad input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.consistency.concepts import HypernymTree  # noqa: E402
from advinterp_lib.consistency.tracing import NeuronInfluence  # noqa: E402
from advinterp_lib.plotting.concepts import (  # noqa: E402
    adversarial_removal_figure,
    consistency_curves,
    correlation_panels,
    heat_map,
    hypernym_tree_plot,
    image_strip,
    lay_out,
    removal_curves,
    trace_figure,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.fixture(autouse=True)
def close_all():
    yield
    plt.close("all")


class Node:
    """A stand-in for an nltk Synset: only ``name()`` is drawn."""

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return self._name


# ------------------------------------------------------------------ chapter 10


def test_heat_map_writes_every_entry_with_a_readable_colour(ax):
    m = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    im = heat_map(ax, m, ["a", "b"], "t", fmt=".1f", cmap="magma", vmin=0, vmax=3)
    np.testing.assert_array_equal(im.get_array(), m.numpy())
    texts = [(t.get_text(), t.get_color()) for t in ax.texts]
    assert texts == [("0.0", "white"), ("1.0", "white"), ("2.0", "black"), ("3.0", "black")]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"] and ax.get_title() == "t"
    with pytest.raises(ValueError, match="square"):
        heat_map(ax, torch.zeros(2, 3), ["a", "b"], "t")
    with pytest.raises(ValueError, match="label"):
        heat_map(ax, torch.zeros(2, 2), ["a"], "t")


def test_lay_out_centres_parents_over_their_children():
    children = {"r": ["a", "b"], "a": ["x", "y"]}
    depth = {"r": 0, "a": 1, "b": 1, "x": 2, "y": 2}
    pos = lay_out(children, depth, "r")
    assert pos == {"x": (0, -2), "y": (1, -2), "a": (0.5, -1), "b": (2, -1), "r": (1.25, 0)}
    with pytest.raises(ValueError, match="twice"):
        lay_out({"r": ["a", "a"]}, {"r": 0, "a": 1}, "r")
    with pytest.raises(KeyError):
        lay_out({"r": ["a"]}, {"r": 0}, "r")


def test_hypernym_tree_plot_draws_edges_and_boxes(ax):
    r, a, b, x = Node("entity.n.01"), Node("shoe.n.01"), Node("bag.n.01"), Node("sandal.n.01")
    tree = HypernymTree(root=r, children={r: [a, b], a: [x]}, depth={r: 0, a: 1, b: 1, x: 2})
    pos = hypernym_tree_plot(ax, tree, {x: "Sandal", b: "Bag"}, title="t")
    assert len(pos) == 4 and len(ax.lines) == 3  # one line per edge
    labels = {t.get_text(): t.get_bbox_patch().get_facecolor() for t in ax.texts}
    assert set(labels) == {"entity", "shoe", "bag\n[Bag]", "sandal\n[Sandal]"}
    assert labels["sandal\n[Sandal]"] != labels["shoe"]  # classes in orange, the rest white
    assert ax.get_ylabel() == "depth below entity.n.01" and ax.get_xlim() == (-1, 2)


def test_correlation_panels_one_panel_per_sigma_and_one_colour_bar():
    fig = correlation_panels({0.5: torch.eye(3), 2.0: torch.ones(3, 3)}, ["a", "b", "c"], title="w")
    panels = [a for a in fig.axes if a.get_images()]
    assert [a.get_title() for a in panels] == ["A at σ = 0.5", "A at σ = 2"]
    assert len(fig.axes) == 3 and fig._suptitle.get_text() == "w"
    with pytest.raises(ValueError, match="sigma=1"):
        correlation_panels({1.0: torch.eye(2)}, ["a", "b", "c"])
    with pytest.raises(ValueError, match="at least one"):
        correlation_panels({}, ["a"])


def test_consistency_curves_one_line_per_neuron(ax):
    consistency_curves(ax, [0.5, 1.0], {"n1": [0.2, 0.4], "n2": [1.0, 1.0]}, chosen=1.0)
    assert len(ax.lines) == 3  # two neurons and the chosen width
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.2, 0.4])
    with pytest.raises(ValueError, match="n1"):
        consistency_curves(ax, [0.5, 1.0], {"n1": [0.2]})


# ------------------------------------------------------------------ chapter 13


def test_image_strip_puts_the_first_n_side_by_side():
    images = torch.arange(3 * 4, dtype=torch.float32).view(3, 1, 2, 2)
    strip = image_strip(images, torch.tensor([2, 0, 1]), 2)
    assert torch.equal(strip, torch.cat([images[2, 0], images[0, 0]], dim=1))
    with pytest.raises(ValueError, match="images"):
        image_strip(torch.zeros(3, 2, 2), [0], 1)
    with pytest.raises(ValueError, match="n >= 1"):
        image_strip(images, [0], 0)


def influence(target: int, contrast: int | None, c: int = 5) -> NeuronInfluence:
    pd = torch.arange(c, dtype=torch.float32)[None].flip(1)  # neuron 0 first
    return NeuronInfluence(
        layer="features.4",
        target=torch.tensor([target]),
        contrast=None if contrast is None else torch.tensor([contrast]),
        prediction=torch.tensor([target]),
        score=torch.zeros(1),
        prediction_difference=pd,
        probability_difference=pd,
        gradient_x_activation=pd / 2,
        flips=torch.zeros(1, c, dtype=torch.bool),
    )


def test_trace_figure_one_row_per_decision():
    images = torch.rand(6, 1, 4, 4)
    decisions = {"correct": (images[0], 1, influence(1, None)), "adversarial": (images[1], 0, influence(2, 0))}
    fig = trace_figure(
        decisions,
        top_images=torch.tensor([[0, 1], [2, 3], [4, 5], [0, 2], [1, 3]]),
        images=images,
        image_labels=torch.tensor([1, 1, 0, 2, 2, 2]),
        consis=torch.linspace(0, 1, 5),
        consis_adv=torch.zeros(5),
        names=["a", "b", "c"],
        top_k=2,
        n_shown=2,
        model_name="vgg",
    )
    assert len(fig.axes) == 2 * (2 + 2)  # image, bars and two neurons per row
    assert fig.axes[0].get_title() == "correct: true b\npredicted b"
    bars = fig.axes[1]
    np.testing.assert_allclose([p.get_width() for p in bars.patches], [4, 3, 2, 1.5])  # PD, then GxA
    assert bars.get_xlabel() == "contribution to the score of b"
    assert fig.axes[5].get_xlabel() == "contribution to the score of c − a"
    strip = fig.axes[2]
    assert strip.get_images()[0].get_array().shape == (4, 8)
    assert strip.get_title(loc="left") == "100% b · consis 0.00 · consis_adv 0.00"
    assert fig._suptitle.get_text() == "vgg: decisions traced to the neurons of features.4"
    with pytest.raises(ValueError, match="decisions"):
        trace_figure({}, top_images=None, images=None, image_labels=None, consis=None, consis_adv=None,
                     names=[], top_k=1)  # fmt: skip


def test_removal_curves_two_panels_one_line_per_order():
    fig = removal_curves({"pd": [3.0, 1.0, 0.0], "random": [3.0, 2.9, 2.8]}, {"pd": [0, 0.5, 1], "random": [0, 0, 0.1]},
                         title="t")  # fmt: skip
    left, right = fig.axes
    assert len(left.lines) == 2 and len(right.lines) == 2
    np.testing.assert_allclose(left.lines[0].get_ydata(), [3.0, 1.0, 0.0])
    np.testing.assert_allclose(right.lines[1].get_xdata(), [0, 1, 2])
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["pd", "random"]
    with pytest.raises(ValueError, match="same orders"):
        removal_curves({"pd": [1, 2]}, {"other": [1, 2]})
    with pytest.raises(ValueError, match="same length"):
        removal_curves({"pd": [1, 2]}, {"pd": [1, 2, 3]})


def test_adversarial_removal_figure():
    fig = adversarial_removal_figure(
        torch.tensor([2.0, 1.0, -0.5]), {"top": torch.tensor([0.0, 0.2, 0.5])}, margin_label="m", title="t"
    )
    left, right = fig.axes
    np.testing.assert_allclose(left.lines[0].get_ydata(), [2.0, 1.0, -0.5])
    assert len(left.lines) == 2 and left.get_ylabel() == "m"  # the curve and the zero line
    assert right.get_title() == "t" and right.get_ylim() == (0, 1)
    with pytest.raises(ValueError, match="same length"):
        adversarial_removal_figure([1.0, 2.0], {"top": [0.0]}, margin_label="m", title="t")
    with pytest.raises(ValueError, match="at least one"):
        adversarial_removal_figure([1.0], {}, margin_label="m", title="t")
