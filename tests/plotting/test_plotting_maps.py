"""plotting.maps.overlay: the layers it draws, both opacity rules, bad input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.plotting import overlay  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_graded_opacity_follows_the_heat(ax):
    heat = torch.tensor([[0.0, 0.5], [1.0, 2.0]])
    assert overlay(ax, torch.rand(1, 2, 2), heat, "t") is ax
    picture, red = ax.get_images()
    assert picture.get_array().shape == (2, 2) and red.get_cmap().name == "Reds"
    np.testing.assert_allclose(red.get_alpha(), [[0.0, 0.325], [0.65, 1.0]])  # clamped at 1
    assert ax.get_title() == "t" and not ax.axison


def test_a_threshold_draws_a_sharp_region_and_colour_images_stay_colour(ax):
    overlay(ax, torch.rand(3, 2, 2), torch.tensor([[0.0, 0.06], [0.04, 1.0]]), threshold=0.05, opacity=0.55)
    picture, red = ax.get_images()
    assert picture.get_array().shape == (2, 2, 3)
    np.testing.assert_allclose(red.get_alpha(), [[0.0, 0.55], [0.0, 0.55]])


@pytest.mark.parametrize(
    ("image", "heat", "match"),
    [(torch.rand(2, 4, 4), torch.rand(4, 4), "image"), (torch.rand(1, 4, 4), torch.rand(3, 3), "heat")],
)
def test_bad_shapes_are_refused(ax, image, heat, match):
    with pytest.raises(ValueError, match=match):
        overlay(ax, image, heat)


def test_receptive_field_row_overlays_each_image_and_draws_the_mean_field():
    from advinterp_lib.plotting.maps import receptive_field_row

    images, maps = torch.rand(2, 1, 4, 4), torch.zeros(2, 4, 4)
    maps[0, 1, 1] = 1.0
    mean = torch.zeros(7, 7)
    mean[2:5, 2:5] = 1.0
    fig = receptive_field_row(
        images, maps, ["a", "b"], mean, (5, 3), mean_title="m", suptitle="s", threshold=0.05, opacity=0.55
    )
    first, second, last = fig.axes
    assert [first.get_title(), second.get_title(), last.get_title()] == ["a", "b", "m"]
    np.testing.assert_allclose(first.get_images()[1].get_alpha()[1, 1], 0.55)  # overlay with the threshold rule
    (square,) = last.patches
    assert (square.get_width(), square.get_height(), square.get_xy()) == (3, 5, (3 - 1.5, 3 - 2.5))
    assert square.get_linestyle() == "--" and len(last.collections) >= 1  # the half-maximum contour
    assert fig._suptitle.get_text() == "s"
    plt.close(fig)


@pytest.mark.parametrize(
    ("maps", "titles", "mean", "match"),
    [
        (torch.zeros(1, 4, 4), ["a", "b"], torch.zeros(7, 7), "same number"),
        (torch.zeros(2, 4, 4), ["a", "b"], torch.zeros(1, 7, 7), "mean_map"),
        (torch.zeros(2, 3, 3), ["a", "b"], torch.zeros(7, 7), "heat"),
    ],
)
def test_receptive_field_row_refuses_bad_input(maps, titles, mean, match):
    from advinterp_lib.plotting.maps import receptive_field_row

    with pytest.raises(ValueError, match=match):
        receptive_field_row(torch.rand(2, 1, 4, 4), maps, titles, mean, (3, 3), mean_title="m", suptitle="s")
    plt.close("all")
