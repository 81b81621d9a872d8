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
