"""Loss surfaces: Gram-Schmidt directions, the grid against a brute-force loop,
convexity along any line for a linear model, and the plotting helper."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from advinterp_lib import plotting  # noqa: E402
from advinterp_lib.attacks import fgsm, loss_surface, orthogonal_direction, signed_gradient  # noqa: E402


@pytest.fixture
def model_pair(make_toy_cnn) -> tuple[nn.Module, nn.Module]:
    """Two different models of 10x10 images, 10 classes: the shared toy CNN and an MLP."""
    a = make_toy_cnn(1, size=10, num_classes=10).eval()  # seed 1: every |input gradient| on data() is > 1e-6
    torch.manual_seed(0)
    b = nn.Sequential(nn.Flatten(), nn.Linear(100, 16), nn.Tanh(), nn.Linear(16, 10)).eval()
    return a, b


def data(n: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return 0.2 + 0.6 * torch.rand(n, 1, 10, 10, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_orthogonal_direction_is_orthogonal_and_the_same_size(model_pair, norm: str) -> None:
    (a, b), (x, y) = model_pair, data()
    g, d = signed_gradient(a, x, y), signed_gradient(b, x, y)
    perp = orthogonal_direction(d, g, norm=norm)
    dots = (perp.flatten(1).double() * g.flatten(1).double()).sum(1)
    assert torch.allclose(dots, torch.zeros(3, dtype=torch.float64), atol=1e-4)
    size = (lambda t: t.flatten(1).abs().amax(1)) if norm == "linf" else (lambda t: t.flatten(1).norm(dim=1))
    assert torch.allclose(size(perp), size(g), rtol=1e-5)
    # it lies in the plane of d and g: d is a combination of g and perp
    basis = torch.stack([g.flatten(1), perp.flatten(1)], dim=2).double()
    coef = torch.linalg.lstsq(basis, d.flatten(1).double().unsqueeze(2)).solution
    assert torch.allclose((basis @ coef).squeeze(2), d.flatten(1).double(), atol=1e-6)
    with pytest.raises(ValueError, match="parallel"):
        orthogonal_direction(2 * g, g)


def test_signed_gradient_is_the_fgsm_direction(model_pair) -> None:
    (a, _), (x, y) = model_pair, data()
    g = signed_gradient(a, x, y)
    assert torch.equal((x + 0.1 * g).clamp(0, 1), fgsm(a, x, y, eps=0.1))  # no |grad| <= 1e-6 here


def test_surface_equals_a_brute_force_loop(model_pair) -> None:
    (a, b), (x, y) = model_pair, data()
    g = signed_gradient(a, x, y)
    perp = orthogonal_direction(signed_gradient(b, x, y), g)
    e1, e2 = torch.linspace(-0.2, 0.3, 5), torch.linspace(0.0, 0.25, 4)
    surf = loss_surface(a, x, y, g, perp, e1, e2, batch_size=7)  # 7: batches straddle images
    assert surf.shape == (3, 5, 4)
    for n in range(3):
        for i in range(5):
            for j in range(4):
                pt = (x[n : n + 1] + e1[i] * g[n : n + 1] + e2[j] * perp[n : n + 1]).clamp(0, 1)
                with torch.no_grad():
                    ref = F.cross_entropy(a(pt), y[n : n + 1])
                assert surf[n, i, j].item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)


def test_a_linear_model_has_a_convex_loss_along_every_line() -> None:
    # CE of an affine model is convex in x: second differences along any grid line are >= 0
    # (points stay inside [0, 1] here, so clipping does not bend the lines).
    torch.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(100, 10)).eval()
    x, y = data(2)
    x = 0.4 + 0.2 * x
    g = signed_gradient(model, x, y)
    perp = orthogonal_direction(torch.randn(x.shape, generator=torch.Generator().manual_seed(3)), g)
    e = torch.linspace(-0.1, 0.1, 9)
    surf = loss_surface(model, x, y, g, perp, e, e)
    assert (surf[:, 2:, :] - 2 * surf[:, 1:-1, :] + surf[:, :-2, :] >= -1e-5).all()
    assert (surf[:, :, 2:] - 2 * surf[:, :, 1:-1] + surf[:, :, :-2] >= -1e-5).all()
    # and the loss rises along g from x (g is the ascent sign direction)
    assert (surf[:, 5, 4] > surf[:, 4, 4]).all()


@pytest.mark.parametrize("projection", [None, "3d"])
def test_plot_helper_draws_the_surface(projection: str | None) -> None:
    e = torch.linspace(-1, 1, 6)
    z = e[:, None] ** 2 + e[None, :] ** 2
    fig = plt.figure()
    ax = fig.add_subplot(projection=projection)
    plotting.loss_surface_plot(ax, z, e, e, title="bowl")
    assert ax.get_title() == "bowl" and len(ax.collections) >= 1
    plt.close(fig)
