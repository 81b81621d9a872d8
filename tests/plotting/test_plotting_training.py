"""plotting.training: the bars of accuracies under attack and the pair of loss surfaces."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.plotting.training import robustness_bars, surface_pair  # noqa: E402

RESULTS = {
    "standard": {"clean": {"top1": 0.9}, "fgsm": {"top1": 0.2}, "pgd": {"top1": 0.0}},
    "PGD-AT": {"clean": {"top1": 0.8}, "fgsm": {"top1": 0.6}, "pgd": {"top1": 0.5}},
}


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_bars_one_group_per_model_one_bar_per_kind(ax):
    assert robustness_bars(ax, RESULTS, title="t") is ax
    bars = ax.patches
    assert len(bars) == 6
    np.testing.assert_allclose([b.get_height() for b in bars], [0.9, 0.8, 0.2, 0.6, 0.0, 0.5])
    np.testing.assert_allclose([b.get_x() + b.get_width() / 2 for b in bars], [-0.27, 0.73, 0, 1, 0.27, 1.27])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["standard", "PGD-AT"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["clean", "FGSM", "PGD"]
    assert ax.get_title() == "t" and ax.get_ylim() == (0, 1)


def test_bars_bad_input(ax):
    with pytest.raises(ValueError, match="at least one"):
        robustness_bars(ax, {})
    with pytest.raises(ValueError, match="'pgd'"):
        robustness_bars(ax, {"m": {"clean": {"top1": 1.0}, "fgsm": {"top1": 1.0}}})


def test_surface_pair_draws_one_3d_panel_per_model():
    grid = torch.linspace(0, 0.2, 4)
    surfaces = {"standard": torch.rand(3, 4, 4), "FGSM-AT": torch.rand(3, 4, 4)}
    fig = surface_pair(surfaces, grid, arch="resnet")
    try:
        assert [a.name for a in fig.axes] == ["3d", "3d"]
        assert [a.get_title() for a in fig.axes] == [
            "resnet, standard: mean loss over 3 images",
            "resnet, FGSM-AT: mean loss over 3 images",
        ]
        assert all(len(a.collections) == 1 for a in fig.axes)  # one surface each
    finally:
        plt.close(fig)


def test_surface_pair_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        surface_pair({}, [0.0, 0.1], arch="a")
    with pytest.raises(ValueError, match="surface"):
        surface_pair({"m": torch.rand(3, 4, 5)}, torch.linspace(0, 1, 4), arch="a")
    plt.close("all")
