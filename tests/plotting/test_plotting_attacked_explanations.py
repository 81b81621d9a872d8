"""plotting.attacked_explanations: chapter 14's figures -- the axes, images, lines and
titles each draws, the data of its artists, and bad input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.plotting.attacked_explanations import (  # noqa: E402
    agreement_figure,
    attacked_maps_figure,
    explanation_attack_figure,
    filtered_accuracy_figure,
    radial_profiles_figure,
    spectra_figure,
)

METHODS = ("Grad-CAM", "occlusion")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _maps(n, value):
    return {m: torch.full((n, 1, 4, 4), value) for m in METHODS}


def test_attacked_maps_figure_lays_out_images_and_maps():
    images = torch.rand(2, 1, 4, 4)
    occl = torch.zeros(3, 1, 4, 4)
    occl[0, 0, 0, 0] = -2.0
    maps = [("clean", {"Grad-CAM": torch.rand(3, 1, 4, 4), "occlusion": occl}), ("adv", _maps(3, 0.5))]
    fig = attacked_maps_figure(images, maps, titles=["a→b", "c→d"], methods=METHODS, suptitle="S")
    axes = np.array(fig.axes).reshape(2, 5)
    assert axes[0, 0].get_title() == "a→b" and axes[1, 0].get_title() == "c→d"
    np.testing.assert_allclose(axes[1, 0].get_images()[0].get_array(), images[1, 0].numpy())
    assert [a.get_title() for a in axes[0, 1:]] == [
        "Grad-CAM\nclean",
        "Grad-CAM\nadv",
        "occlusion\nclean",
        "occlusion\nadv",
    ]
    assert axes[1, 1].get_title() == ""
    signed = axes[0, 3].get_images()[0]  # occlusion of the clean map: diverging, symmetric
    assert signed.get_cmap().name == "RdBu_r" and signed.get_clim() == (-2.0, 2.0)
    flat = axes[0, 4].get_images()[0]  # a constant occlusion map of 0.5
    assert flat.get_clim() == (-0.5, 0.5)
    heat = axes[0, 2].get_images()[0]
    assert heat.get_cmap().name == "inferno" and heat.get_clim() == (0.0, 0.5)
    assert fig._suptitle.get_text() == "S"


@pytest.mark.parametrize(
    ("images", "maps", "titles", "match"),
    [
        (torch.rand(0, 1, 4, 4), [("clean", _maps(2, 1.0))], [], "non-empty"),
        (torch.rand(2, 1, 4, 4), [("clean", _maps(2, 1.0))], ["a"], "titles"),
        (torch.rand(2, 1, 4, 4), [("clean", {"Grad-CAM": torch.rand(2, 1, 4, 4)})], ["a", "b"], "no 'occlusion'"),
        (torch.rand(2, 1, 4, 4), [("clean", _maps(1, 1.0))], ["a", "b"], "holds 1 maps for 2"),
    ],
)
def test_attacked_maps_figure_refuses_bad_input(images, maps, titles, match):
    with pytest.raises(ValueError, match=match):
        attacked_maps_figure(images, maps, titles=titles, methods=METHODS)


def _entry(mean):
    return {"spearman": {"mean": mean, "low": mean - 0.1, "high": mean + 0.05}}


def test_agreement_figure_draws_each_comparison_and_the_floor():
    per_method = {
        "noise, true class": _entry(0.9),
        "PGD, true class": _entry(0.3),
        "PGD, adv. class": _entry(0.1),
        "another image": _entry(0.05),
    }
    agreement = {
        "m1": {"Grad-CAM": per_method, "occlusion": per_method},
        "m2": {"Grad-CAM": per_method, "occlusion": per_method},
    }
    fig = agreement_figure(agreement, ["PGD", "DeepFool"])
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    assert ax.get_title() == "m1: Grad-CAM" and ax.get_ylabel() == "Spearman with the clean map"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["noise", "PGD", "DeepFool"]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert sorted(float(d.get_ydata()[0]) for d in dots) == pytest.approx([0.1, 0.3, 0.9])
    pgd_adv = [d for d in dots if d.get_ydata()[0] == pytest.approx(0.1)][0]
    assert pgd_adv.get_xdata()[0] == pytest.approx(1.125) and pgd_adv.get_color() == "tab:red"
    floor = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(floor) == 1 and floor[0].get_ydata()[0] == pytest.approx(0.05)
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert labels == ["another image", "true class", "adv. class"]
    assert fig.axes[1].get_legend() is not None


def test_agreement_figure_refuses_bad_input():
    with pytest.raises(ValueError, match="at least one model"):
        agreement_figure({}, ["PGD"])
    with pytest.raises(ValueError, match="same methods"):
        agreement_figure({"a": {"Grad-CAM": {}}, "b": {"occlusion": {}}}, ["PGD"])


def test_explanation_attack_figure_rows_titles_and_colours():
    clean, attacked = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    cams = torch.rand(2, 1, 4, 4) * 3
    fig = explanation_attack_figure(
        clean, cams, attacked, cams, clean_labels=["shirt", "bag"], attacked_labels=["shirt", "bag"],
        shift=torch.tensor([0.5, 0.25]), suptitle="S",
    )  # fmt: skip
    assert len(fig.axes) == 8
    titles = [a.get_title() for a in fig.axes[4:]]
    assert titles == ["clean: bag", "Grad-CAM", "attacked: bag", "Grad-CAM (moved 25%)"]
    image, cam = fig.axes[6].get_images()[0], fig.axes[7].get_images()[0]
    assert image.get_cmap().name == "gray" and image.get_clim() == (0, 1)
    assert cam.get_cmap().name == "inferno"
    np.testing.assert_allclose(cam.get_array(), cams[1, 0].numpy())
    assert not any(a.axison for a in fig.axes)
    with pytest.raises(ValueError, match="same number"):
        explanation_attack_figure(
            clean, cams, attacked, cams, clean_labels=["a"], attacked_labels=["a", "b"], shift=torch.ones(2)
        )


def test_spectra_figure_shows_log_spectra():
    spectra = {
        "m1": {"FGSM": torch.full((4, 4), 10.0), "noise": torch.full((4, 4), 100.0)},
        "m2": {"FGSM": torch.ones(4, 4), "noise": torch.ones(4, 4)},
    }
    fig = spectra_figure(spectra)
    assert len(fig.axes) == 4 and fig.axes[1].get_title() == "m1: noise"
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), np.full((4, 4), 2.0))
    assert fig.axes[0].get_images()[0].get_extent() == [-0.5, 0.5, 0.5, -0.5]
    with pytest.raises(ValueError, match="same settings"):
        spectra_figure({"a": {"FGSM": torch.ones(2, 2)}, "b": {"PGD": torch.ones(2, 2)}})
    with pytest.raises(ValueError, match="at least one"):
        spectra_figure({})


def test_radial_profiles_figure_one_panel_per_attack():
    radius = torch.tensor([0.0, 0.25, 0.5])
    profiles = {
        "m1": {"PGD": torch.tensor([3.0, 2.0, 1.0]), "FGSM": torch.ones(3), "noise": torch.full((3,), 5.0)},
        "m2": {"PGD": torch.tensor([4.0, 2.0, 1.0]), "FGSM": torch.ones(3), "noise": torch.full((3,), 7.0)},
    }
    fig = radial_profiles_figure(radius, profiles, ["FGSM", "PGD"], cutoff=0.15)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "PGD" and fig.axes[1].get_yscale() == "log"
    lines = fig.axes[1].get_lines()
    assert [line.get_label() for line in lines[:3]] == ["m1", "m2", "noise"]
    np.testing.assert_allclose(lines[1].get_ydata(), [4.0, 2.0, 1.0])
    np.testing.assert_allclose(lines[2].get_ydata(), [5.0, 5.0, 5.0])  # the first model's reference
    assert lines[3].get_xdata()[0] == pytest.approx(0.15)  # the cut-off
    with pytest.raises(ValueError, match="at least one"):
        radial_profiles_figure(radius, profiles, [], cutoff=0.15)


def test_filtered_accuracy_figure_curves_and_clean_line():
    cutoffs = [0.1, 0.2]
    filtered = {
        "m1": {"PGD": {"low_pass": [0.1, 0.2], "high_pass": [0.9, 0.8]}},
        "m2": {"PGD": {"low_pass": [0.3, 0.4], "high_pass": [0.7, 0.6]}},
    }
    fig = filtered_accuracy_figure(cutoffs, filtered, {"m1": 0.95, "m2": 0.85})
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "m2"
    low, high, clean = fig.axes[1].get_lines()
    np.testing.assert_allclose(low.get_ydata(), [0.3, 0.4])
    assert high.get_linestyle() == "--" and high.get_marker() == "x" and low.get_color() == high.get_color()
    assert clean.get_ydata()[0] == pytest.approx(0.85)
    assert len(fig.legends) == 1
    with pytest.raises(ValueError, match="expected 1 values per curve"):
        filtered_accuracy_figure([0.1], filtered, {"m1": 0.9, "m2": 0.9})
    with pytest.raises(ValueError, match="at least one"):
        filtered_accuracy_figure(cutoffs, {}, {})
