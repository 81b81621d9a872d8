"""plotting.attacks: what each figure draws (axes, images, lines, titles, the data of the
artists) and the bad input it refuses."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advinterp_lib.plotting.attacks import (  # noqa: E402
    adversarial_rows,
    black_box_progress,
    deepfool_steps_figure,
    error_curves,
    image_and_perturbation,
    loss_surface_figure,
    perturbation_histograms,
    score_per_step,
    targets_grid,
    transfer_heatmaps,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


def test_adversarial_rows_draws_clean_adversarial_and_perturbation() -> None:
    x, x_adv = images(3), images(3, 1)
    fig = adversarial_rows(x, x_adv, clean_titles=["a", "b", "c"], adversarial_titles=["→ d", "→ e", "→ f"],
                           suptitle="S")  # fmt: skip
    axes = fig.axes
    assert len(axes) == 9 and fig._suptitle.get_text() == "S"
    assert [a.get_title() for a in axes[:6]] == ["a", "b", "c", "→ d", "→ e", "→ f"]
    np.testing.assert_allclose(axes[3].get_images()[0].get_array(), x_adv[0, 0].numpy())
    third = axes[6].get_images()[0]
    np.testing.assert_allclose(third.get_array(), (x_adv - x)[0, 0].numpy(), rtol=1e-6)
    assert third.get_cmap().name == "RdBu_r"
    given = adversarial_rows(x, x_adv, clean_titles="abc", adversarial_titles="def", perturbation=torch.ones_like(x),
                             perturbation_titles=["1", "2", "3"])  # fmt: skip
    assert given.axes[8].get_title() == "3"
    np.testing.assert_allclose(given.axes[6].get_images()[0].get_array(), np.ones((6, 6)))


def test_adversarial_rows_bad_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        adversarial_rows(images(3), images(2), clean_titles="abc", adversarial_titles="abc")
    with pytest.raises(ValueError, match="clean_titles"):
        adversarial_rows(images(3), images(3), clean_titles="ab", adversarial_titles="abc")


def test_loss_surface_figure() -> None:
    grid = torch.linspace(0, 0.2, 5)
    surface = torch.rand(4, 5, 5)
    fig = loss_surface_figure(surface, grid, grid, source="vgg", other="resnet")
    ax3d, ax2 = fig.axes[:2]
    assert ax3d.name == "3d" and ax3d.get_title() == "vgg: loss around one image"
    assert ax2.get_title() == "mean over 4 images (g: vgg, g⊥: resnet)"
    assert len(fig.axes) == 3  # and the contour plot's colour bar
    with pytest.raises(ValueError):
        loss_surface_figure(torch.rand(4, 5, 4), grid, grid, source="a", other="b")


def test_score_per_step_and_deepfool_steps_figure() -> None:
    scores = torch.tensor([[2.0, -1.0, 3.0], [0.5, -0.2, 1.0], [-0.1, 0.3, 0.2]])
    iterations = torch.tensor([2, 2, 1])
    fig, ax = plt.subplots()
    score_per_step(ax, scores, iterations, n_lines=2)
    lines = ax.get_lines()
    assert len(lines) == 3  # two images and the zero line
    np.testing.assert_allclose(lines[0].get_ydata(), [2.0, 0.5, -0.1])
    np.testing.assert_allclose(lines[1].get_ydata(), [1.0, 0.2, -0.3])  # times sign f(x_0) = -1
    assert ax.get_title() == "the score per step, 2 images"
    e = torch.linspace(-1, 1, 7)
    plane = e[:, None] + 0.5 * e[None, :]
    path = torch.tensor([[0.0, 0.0], [0.5, 0.1], [0.9, 0.0]])
    fig = deepfool_steps_figure(plane, e, e, path, scores, iterations, title="T")
    assert fig.axes[0].get_title() == "T" and fig.axes[1].get_title() == "the score per step, 3 images"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_xydata(), path.numpy())
    with pytest.raises(ValueError):
        score_per_step(ax, scores, iterations[:2])
    with pytest.raises(ValueError):
        deepfool_steps_figure(plane, e, e, path[:, :1], scores, iterations, title="T")


def test_image_and_perturbation() -> None:
    x, x_adv = images(1)[0], images(1, 1)[0] * 2 - 0.5
    fig = image_and_perturbation(x, x_adv, x_adv - x)
    assert len(fig.axes) == 3 and fig.axes[2].get_title() == "r̂ (red +, blue −)"
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), x_adv.clamp(0, 1)[0].numpy())
    with pytest.raises(ValueError):
        image_and_perturbation(x, x_adv[:, :3], x_adv - x)


def test_perturbation_histograms() -> None:
    sizes = {"a": (torch.tensor([0.1, 0.2]), torch.tensor([0.5, 0.7])), "b": (np.array([0.3]), np.array([0.9]))}
    fig = perturbation_histograms(sizes, bins=4)
    assert [a.get_title() for a in fig.axes] == ["a", "b"]
    assert len(fig.axes[0].patches) == 8  # two histograms of four bins
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["DeepFool", "FGSM (minimal ε)"]
    with pytest.raises(ValueError):
        perturbation_histograms({})


def test_error_curves() -> None:
    curves = {"a": {"FGSM": [0.1, 0.5], "PGD": [0.2, 0.9]}, "b": {"FGSM": [0.0, 0.3], "PGD": [0.1, 0.6]}}
    fig = error_curves([0.01, 0.1], curves, baseline={"a": 0.05, "b": 0.02}, title="T")
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and ax.get_title() == "a" and ax.get_xscale() == "log"
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), [0.2, 0.9])
    assert lines[2].get_ydata()[0] == 0.05  # the baseline
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["FGSM", "PGD", "clean error"]
    with pytest.raises(ValueError):
        error_curves([0.01, 0.1], {"a": {"FGSM": [0.1]}})
    with pytest.raises(ValueError):
        error_curves([0.01, 0.1], curves, baseline={"a": 0.1})


def test_targets_grid_interleaves_sources_and_their_versions() -> None:
    sources, adversarial = images(2), images(4, 1)
    fig = targets_grid(sources, adversarial, source_titles=["s0", "s1"], adversarial_titles=["a", "b", "c", "d"])
    assert [a.get_title() for a in fig.axes] == ["s0", "a", "b", "s1", "c", "d"]
    np.testing.assert_allclose(fig.axes[4].get_images()[0].get_array(), adversarial[2, 0].numpy())
    with pytest.raises(ValueError):
        targets_grid(sources, images(3), source_titles=["s0", "s1"], adversarial_titles="abc")


def test_transfer_heatmaps() -> None:
    targeted, fooled = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]), np.full((3, 2), 0.7)
    fig = transfer_heatmaps(targeted, fooled, ["a", "b", "a + b"], ["a", "b"], title="T")
    left, right = fig.axes[:2]
    np.testing.assert_allclose(left.get_images()[0].get_array(), targeted)
    assert [t.get_text() for t in left.texts][:2] == ["90%", "10%"] and len(right.texts) == 6
    assert [t.get_text() for t in left.get_yticklabels()] == ["a", "b", "a + b"]
    with pytest.raises(ValueError):
        transfer_heatmaps(targeted, fooled[:2], ["a", "b", "a + b"], ["a", "b"])


def test_black_box_progress() -> None:
    fig = black_box_progress([150, 300, 600], [0.2, 0.4, 0.5], [0.5, 0.7, 0.8],
                             references={"white box": 0.95, "random": 0.05}, title="T")  # fmt: skip
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 4 and ax.get_title() == "T" and ax.get_xscale() == "log"
    np.testing.assert_allclose(lines[0].get_xydata(), [[150, 0.2], [300, 0.4], [600, 0.5]])
    assert lines[2].get_ydata()[0] == 0.95 and lines[3].get_ydata()[0] == 0.05
    with pytest.raises(ValueError):
        black_box_progress([150, 300], [0.2], [0.5, 0.7], references={})
    with pytest.raises(ValueError):
        black_box_progress([0, 300], [0.2, 0.3], [0.5, 0.7], references={})
