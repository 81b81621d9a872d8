"""plotting.consistency: what each figure of chapters 11, 12 and 15 draws, and bad input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from advinterp_lib.consistency.sensitivity import DirectionCheck, Variant  # noqa: E402
from advinterp_lib.plotting.consistency import (  # noqa: E402
    HistogramPanel,
    ablation_figure,
    adversarial_pairs_figure,
    consistency_histogram_figure,
    direction_intervals_figure,
    share_bars_figure,
    top_images_figure,
    verdict_bars_figure,
)
from advinterp_lib.stats import basic_interval  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


EDGES = [0.0, 0.25, 0.5, 0.75, 1.0]


def bars_of(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_figure5_draws_each_series_over_its_bins():
    panels = [
        HistogramPanel("alexnet", EDGES, {"consis": [1, 2, 3, 4], "consis_adv": [4, 3, 2, 1]}),
        HistogramPanel("vgg", EDGES, {"consis": [0, 0, 5, 5]}, {"-Adv": [1, 1, 1, 1]}),
        HistogramPanel("resnet", EDGES, {"consis": [2, 2, 2, 2]}),
    ]
    fig = consistency_histogram_figure(panels, ncols=2, suptitle="Figure 5")
    axes = fig.axes
    assert len(axes) == 4 and not axes[3].axison  # 3 panels on a 2 x 2 grid: the last one blank
    assert [ax.get_title() for ax in axes[:3]] == ["alexnet", "vgg", "resnet"]
    first = bars_of(axes[0])
    assert len(first) == 2
    np.testing.assert_allclose([p.get_height() for p in first[1]], [4, 3, 2, 1])
    np.testing.assert_allclose([p.get_x() + p.get_width() / 2 for p in first[0]], [0.125, 0.375, 0.625, 0.875])
    steps = [p for p in axes[1].patches if isinstance(p, StepPatch)]
    assert len(steps) == 1 and list(steps[0].get_data().values) == [1, 1, 1, 1]
    assert sorted(t.get_text() for t in axes[1].get_legend().get_texts()) == ["-Adv", "consis"]
    assert axes[0].get_ylabel() == "neurons" and axes[1].get_ylabel() == "" and axes[2].get_ylabel() == "neurons"
    assert fig._suptitle.get_text() == "Figure 5"


@pytest.mark.parametrize(
    ("panels", "match"),
    [
        ([], "at least one"),
        ([HistogramPanel("a", EDGES, {"x": [1, 2]})], "4 counts"),
        ([HistogramPanel("a", [0.0, 0.5, 0.4], {"x": [1, 2]})], "increasing"),
        ([HistogramPanel("a", EDGES, {})], "nothing to draw"),
    ],
)
def test_figure5_rejects_bad_panels(panels, match):
    with pytest.raises(ValueError, match=match):
        consistency_histogram_figure(panels)
    with pytest.raises(TypeError, match="HistogramPanel"):
        consistency_histogram_figure([{"edges": EDGES}])


def test_adversarial_pairs_are_each_source_then_its_versions():
    src = torch.rand(3, 1, 4, 4)
    adv = torch.rand(6, 1, 4, 4)
    fig = adversarial_pairs_figure(src, torch.tensor([0, 1, 2]), adv, torch.tensor([1, 2, 0, 2, 0, 1]),
                                   ["a", "b", "c"], k=2, show=2)  # fmt: skip
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title() for ax in shown] == ["a", "→ b", "→ c", "b", "→ a", "→ c"]
    np.testing.assert_allclose(shown[2].get_images()[0].get_array(), adv[1, 0].numpy())
    with pytest.raises(ValueError, match="adversarial images"):
        adversarial_pairs_figure(src, torch.tensor([0, 1, 2]), adv[:3], torch.tensor([1, 2, 0]), "abc", k=2, show=2)


def test_top_images_rows_overlay_their_maps():
    imgs, heat = torch.rand(3, 1, 5, 5), torch.rand(3, 5, 5)
    rows = {"real": (imgs, heat, ["x", "y", "z"]), "adversarial": (imgs, heat, ["p", "q", "r"])}
    fig = top_images_figure(rows, suptitle="neuron 3")
    assert len(fig.axes) == 6 and [ax.get_title() for ax in fig.axes] == ["x", "y", "z", "p", "q", "r"]
    picture, red = fig.axes[4].get_images()
    np.testing.assert_allclose(red.get_alpha(), (0.65 * heat[1]).clamp(0, 1).numpy())  # maps.overlay's default
    assert [t.get_text() for t in fig.axes[0].texts] == ["real"]
    with pytest.raises(ValueError, match="same number"):
        top_images_figure({"real": (imgs, heat[:2], ["x", "y", "z"])})


def _check(mean, low, high):
    samples = torch.tensor([low, high], dtype=torch.float64)
    real = basic_interval(0.5, samples * 0 + 0.5, 0.95)
    adv = basic_interval(0.5 + mean, samples * 0 + 0.5 + mean, 0.95)
    return DirectionCheck.from_intervals(real, adv, neurons=4)


def test_direction_intervals_colour_by_verdict():
    variants = {
        "a": Variant("baseline", "baseline", None, {"m": _check(-0.2, 0, 0)}),
        "b": Variant("other", "sigma", 1.0, {"m": _check(0.1, 0, 0)}),
    }
    fig = direction_intervals_figure(variants, ["m"])
    (ax,) = fig.axes
    colours = [tuple(c.get_colors()[0]) for c in ax.collections]
    assert colours[0] != colours[1]  # holds (blue) against does not (red)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["baseline", "other"]
    with pytest.raises(ValueError, match="no check"):
        direction_intervals_figure(variants, ["m", "n"])


def _row(mean, per_seed):
    d = {"mean": mean, "low": mean - 0.1, "high": mean + 0.1}
    return {"consis_adv": d, "gain_consis_adv": d, "strong:apgd-t": d, "per_seed": per_seed}


def test_ablation_figure_bars_and_seed_dots():
    seeds = [{"consis_adv": 0.5, "strong:apgd-t": 0.3}, {"consis_adv": 0.7, "strong:apgd-t": 0.4}]
    summary = {"resnet": {"rows": {"standard": _row(0.5, seeds), "consistent-AT": _row(0.2, seeds)}}}
    fig = ablation_figure(summary, ["consistent-AT"], eps=0.1)
    left, right = fig.axes
    assert [p.get_height() for p in bars_of(left)[0]] == pytest.approx([0.2])
    assert [p.get_height() for p in bars_of(right)[0]] == pytest.approx([0.5, 0.2])
    np.testing.assert_allclose(left.collections[-1].get_offsets()[:, 1], [0.0, 0.2])  # seeds minus the standard's
    assert "ε = 0.1" in right.get_title()
    with pytest.raises(ValueError, match="no rows"):
        ablation_figure(summary, ["targeted-AT"], eps=0.1)


def test_verdict_bars_stack_per_group():
    fig = verdict_bars_figure({"quick": {"reproduced": [1, 2], "not reproduced": [3, 0]}}, ["T1", "T3"])
    (ax,) = fig.axes
    first, second = bars_of(ax)
    assert [p.get_width() for p in second] == [3, 0] and [p.get_x() for p in second] == [1, 2]
    with pytest.raises(ValueError, match="one per group"):
        verdict_bars_figure({"quick": {"reproduced": [1]}}, ["T1", "T3"])


def test_share_bars_leave_missing_models_empty():
    fig = share_bars_figure({"paper": {"A": 0.5, "B": 0.7}, "ours": {"A": 0.9}}, ["A", "B"])
    (ax,) = fig.axes
    paper, ours = bars_of(ax)
    assert [p.get_height() for p in paper] == pytest.approx([0.5, 0.7])
    assert np.isnan(ours[1].get_height())
    with pytest.raises(ValueError):
        share_bars_figure({}, ["A"])


def test_standard_vs_adv_figure_puts_sets_in_rows_and_architectures_in_columns():
    from advinterp_lib.plotting.consistency import standard_vs_adv_figure

    def counts(a, b):
        return {"standard": [a, 0, 0, 0], "consistent-AT": [0, 0, 0, b]}

    hist = {
        kind: {"edges": EDGES, "vgg": counts(1, 2), "resnet": counts(3, 4 + i)} for i, kind in enumerate(["s", "w"])
    }
    fig = standard_vs_adv_figure(hist, ["vgg", "resnet"], {"s": "shared", "w": "white-box"}, suptitle="Fig 5")
    assert [ax.get_title() for ax in fig.axes] == [
        "vgg: shared",
        "resnet: shared",
        "vgg: white-box",
        "resnet: white-box",
    ]
    standard, adv = bars_of(fig.axes[3])
    assert [p.get_height() for p in standard] == [3, 0, 0, 0] and [p.get_height() for p in adv] == [0, 0, 0, 5]
    assert sorted(t.get_text() for t in fig.axes[3].get_legend().get_texts()) == ["resnet", "resnet-Adv"]
    assert fig.axes[0].get_xlabel() == "consis_adv(n)" and fig._suptitle.get_text() == "Fig 5"
    with pytest.raises(KeyError):
        standard_vs_adv_figure(hist, ["alexnet"], {"s": "shared"})
