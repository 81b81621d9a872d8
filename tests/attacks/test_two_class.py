"""attacks.two_class: the two-class subset and score, and the plane of a DeepFool path
(closed form on an affine score: the boundary is a line on the plane)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advinterp_lib.attacks import deepfool_binary
from advinterp_lib.attacks.two_class import deepfool_path_slice, two_class_score, two_class_subset


def test_subset_keeps_order_and_relabels() -> None:
    images = torch.arange(6.0)[:, None]
    labels = torch.tensor([7, 3, 9, 7, 9, 1])
    x, y = two_class_subset(images, labels, [7, 9])
    assert x.flatten().tolist() == [0.0, 2.0, 3.0, 4.0] and y.tolist() == [0, 1, 0, 1] and y.dtype == torch.int64


def test_score_is_the_logit_difference() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    v = torch.randn(4, 3)
    logits = model(v)
    assert torch.equal(two_class_score(model)(v), logits[:, 1] - logits[:, 0])
    with pytest.raises(ValueError, match="2\\] logits"):
        two_class_score(nn.Linear(3, 3))(v)


def test_path_slice_on_a_curved_score() -> None:
    # f(x) = x_0^2 + x_1 - 1 (a parabola): the gradient turns as x_0 shrinks, several steps
    x = torch.tensor([[3.0, 1.0]], dtype=torch.float64)

    def f(v: torch.Tensor) -> torch.Tensor:
        return v[:, 0] ** 2 + v[:, 1] - 1.0

    res = deepfool_binary(f, x, overshoot=0.02)
    t = int(res.iterations[0])
    assert t >= 2
    plane = deepfool_path_slice(f, res.iterates[: t + 1, 0], points=11)
    assert plane.scores.shape == (11, 11) and plane.path.shape == (t + 1, 2)
    # the path starts at the origin, ends on the first axis at the total's length
    total = (res.iterates[t, 0] - x[0]).norm()
    assert torch.allclose(plane.path[0], torch.zeros(2, dtype=plane.path.dtype))
    assert plane.path[-1, 0] == pytest.approx(float(total)) and plane.path[-1, 1] == pytest.approx(0.0, abs=1e-9)
    assert plane.eps1[0] == pytest.approx(-0.3 * float(total)) and plane.eps1[-1] == pytest.approx(1.5 * float(total))
    # a grid value is f at x_0 + e1 u1 + e2 u2 (u1 along the total, u2 the first step made orthogonal)
    path = (res.iterates[: t + 1, 0] - x[0]).flatten(1)
    u1 = path[-1] / path[-1].norm()
    u2 = path[1] - (path[1] @ u1) * u1
    u2 = u2 / u2.norm()
    point = x[0] + plane.eps1[2] * u1 + plane.eps2[7] * u2
    assert float(plane.scores[2, 7]) == pytest.approx(float(f(point[None])[0]), rel=1e-9)


def test_path_slice_bad_input() -> None:
    f = lambda v: v.flatten(1).sum(1)  # noqa: E731
    with pytest.raises(ValueError):
        deepfool_path_slice(f, torch.zeros(2, 3))  # fewer than three iterates
    with pytest.raises(ValueError):
        deepfool_path_slice(f, torch.zeros(3, 3))  # no movement
    with pytest.raises(ValueError):
        deepfool_path_slice(f, torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]))  # a straight path: no plane
    with pytest.raises(ValueError):
        two_class_subset(torch.zeros(3, 1), torch.tensor([1, 2, 3]), [1, 1])
