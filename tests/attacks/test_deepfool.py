"""DeepFool: closed forms on affine classifiers (binary and multiclass), batch
independence, and torchattacks' DeepFool as a second reference on a trained model."""

from __future__ import annotations

import copy

import pytest
import torch
import torchattacks
from torch import nn

from advinterp_lib.attacks import deepfool, deepfool_binary, rho_adv


@pytest.fixture(scope="module")
def trained() -> tuple[nn.Module, torch.Tensor]:
    """A small CNN trained for ~1-2 s on synthetic 10-class 12x12 images (class template
    + noise, some pixels clipped at 0 and 1); the model (eval) and 24 test images it
    classifies correctly."""
    g = torch.Generator().manual_seed(0)
    templates = 0.3 + 0.4 * torch.rand(10, 1, 12, 12, generator=g)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 10, (n,), generator=g)
        return (templates[y] + 0.15 * torch.randn(n, 1, 12, 12, generator=g)).clamp(0, 1), y

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 5 * 5, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        x, y = sample(64)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    x, y = sample(200)
    with torch.no_grad():
        ok = model(x).argmax(1) == y
    assert ok.float().mean() > 0.6
    return model, x[ok][:24]


def affine_multiclass(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """logits = W x + b on 1x4x4 images in float64, scaled so DeepFool stays inside [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    lin = nn.Linear(16, 5).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(5, 16, generator=g, dtype=torch.float64))
        lin.bias.copy_(0.3 * torch.randn(5, generator=g, dtype=torch.float64))
    model = nn.Sequential(nn.Flatten(), lin).eval()
    return model, lin.weight.detach(), lin.bias.detach()


def test_binary_affine_reaches_the_boundary_in_one_step() -> None:
    g = torch.Generator().manual_seed(1)
    w = torch.randn(20, generator=g, dtype=torch.float64)
    b = 0.7
    x = torch.randn(6, 20, generator=g, dtype=torch.float64)

    def f(v: torch.Tensor) -> torch.Tensor:
        return v @ w + b

    closed = (x @ w + b).abs() / w.norm()  # distance to the hyperplane
    res = deepfool_binary(f, x)  # Algorithm 1 as printed: no overshoot
    first_step = res.iterates[1] - res.iterates[0]
    assert torch.allclose(first_step.norm(dim=1), closed, rtol=1e-12)
    assert torch.allclose(res.scores[1], torch.zeros(6, dtype=torch.float64), atol=1e-12)  # on the boundary
    # r is along w, towards the boundary
    assert torch.allclose(first_step, -(f(x) / w.dot(w))[:, None] * w, atol=1e-12)

    res = deepfool_binary(f, x, overshoot=0.02)
    assert res.iterations.tolist() == [1] * 6 and res.success.all()
    assert torch.allclose(res.perturbation.norm(dim=1), 1.02 * closed, rtol=1e-12)
    assert (res.scores[-1].sign() == -f(x).sign()).all()


def test_binary_on_a_curved_boundary_converges_in_a_few_steps() -> None:
    # f(x) = ||x||^2 - 1: the boundary is the unit circle; the nearest point of x is x / ||x||.
    # From outside, the linearisation under-shoots (the boundary curves away), so
    # Algorithm 1 approaches the circle in several steps, radially.
    x = torch.tensor([[3.0, 4.0], [1.2, 0.1], [-2.0, 0.5]], dtype=torch.float64)
    res = deepfool_binary(lambda v: (v * v).sum(1) - 1.0, x, overshoot=0.02, max_iter=50)
    assert res.success.all() and (res.iterations <= 8).all() and (res.iterations >= 3).any()
    dist = x.norm(dim=1) - 1
    assert torch.allclose(res.perturbation.norm(dim=1), dist, rtol=0.05)
    radial = (res.perturbation * x).sum(1) / (res.perturbation.norm(dim=1) * x.norm(dim=1))
    assert torch.allclose(radial, -torch.ones(3, dtype=torch.float64))
    # |f| shrinks at every step until the sign flips
    for i, t in enumerate(res.iterations.tolist()):
        s = res.scores[: t + 1, i]
        assert (s[1:-1].abs() < s[:-2].abs()).all() and s[-1] < 0 < s[0]
    # an image that stopped repeats its last iterate
    assert res.iterates.shape[0] == int(res.iterations.max()) + 1
    assert torch.equal(res.iterates[-1], res.x_adv)


def test_multiclass_affine_matches_the_closed_form_minimal_perturbation() -> None:
    model, W, b = affine_multiclass()
    x = 0.5 + 0.02 * torch.randn(12, 1, 4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    flat = x.flatten(1)
    f = flat @ W.T + b
    k0 = f.argmax(1)
    # distance to the complement of k0's polyhedron: min over k of |f_k - f_k0| / ||w_k - w_k0||
    gaps = (f - f.gather(1, k0[:, None])).abs()
    wdiff = (W[None, :, :] - W[k0][:, None, :]).norm(dim=2)
    dist = torch.where(torch.arange(5)[None] == k0[:, None], torch.inf, gaps / wdiff).amin(1)

    res = deepfool(model, x, overshoot=0.0, max_iter=1, num_candidates=5)
    assert torch.allclose(res.l2, dist, rtol=1e-9)
    res = deepfool(model, x, overshoot=0.02, num_candidates=5)
    assert res.success.all() and res.iterations.tolist() == [1] * 12
    assert torch.allclose(res.l2, 1.02 * dist, rtol=1e-9)
    assert (res.x_adv >= 0).all() and (res.x_adv <= 1).all()
    assert torch.equal(res.label, k0) and (res.adversarial_label != k0).all()


def test_candidate_limit_only_considers_the_top_classes() -> None:
    model, W, b = affine_multiclass(seed=3)
    x = 0.5 + 0.02 * torch.randn(8, 1, 4, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    f = x.flatten(1) @ W.T + b
    top2 = f.topk(2, dim=1).indices
    k0, k1 = top2[:, 0], top2[:, 1]
    dist = (f.gather(1, k0[:, None]) - f.gather(1, k1[:, None])).squeeze(1) / (W[k0] - W[k1]).norm(dim=1)
    res = deepfool(model, x, overshoot=0.0, max_iter=1, num_candidates=2)
    assert torch.allclose(res.l2, dist, rtol=1e-9)


def test_batched_equals_one_image_at_a_time_and_done_images_stop(trained) -> None:
    # float64, so that batch size does not change the arithmetic
    model, x = copy.deepcopy(trained[0]).double(), trained[1][:10].double()
    batch = deepfool(model, x)
    for i in range(10):
        single = deepfool(model, x[i : i + 1])
        assert torch.allclose(single.x_adv, batch.x_adv[i : i + 1], atol=1e-10)
        assert single.iterations.item() == batch.iterations[i].item()
    # an image fooled after t steps is the same with max_iter = t
    t = int(batch.iterations.min())
    early = deepfool(model, x, max_iter=t)
    done = batch.iterations == t
    assert torch.equal(early.x_adv[done], batch.x_adv[done])


@pytest.mark.slow
def test_mean_perturbation_within_5_percent_of_torchattacks(trained) -> None:
    model, x = trained
    with torch.no_grad():
        y = model(x).argmax(1)
    ours = deepfool(model, x, overshoot=0.02, max_iter=50, num_candidates=10)
    ref = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, y)
    with torch.no_grad():
        ref_success = model(ref).argmax(1) != y
    # ours also moves along the faces of the [0, 1] box, so it fools every image;
    # torchattacks' clipped steps can stall on saturated pixels
    assert ours.success.all() and ref_success.float().mean() >= 0.9
    ours_mean = ours.l2.mean()
    ref_mean = (ref - x).flatten(1).norm(dim=1).mean()
    assert ours_mean == pytest.approx(ref_mean.item(), rel=0.05)


def test_without_the_box_projection_it_is_torchattacks_deepfool(trained) -> None:
    """On images with many saturated pixels (a dark background, as Fashion-MNIST's) the
    projection is what separates our DeepFool from torchattacks': without it every image
    both fool gets the same perturbation; with it every image is fooled, with a larger one."""
    model, x = trained
    x = ((x - 0.45) * 2).clamp(0, 1)  # about half of the pixels at 0, some at 1
    assert float((x == 0).float().mean()) > 0.3
    with torch.no_grad():
        y = model(x).argmax(1)
    ref = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, y)
    with torch.no_grad():
        ref_success = model(ref).argmax(1) != y
    plain = deepfool(model, x, overshoot=0.02, max_iter=50, num_candidates=10, project_box=False)
    both = plain.success & ref_success
    # enough common images to compare (10 to 12 of 24: the fixture's training rounds differently with 1 or 2 threads)
    assert both.sum() >= len(x) // 3
    torch.testing.assert_close(plain.x_adv[both], ref[both], atol=1e-5, rtol=0)
    projected = deepfool(model, x, overshoot=0.02, max_iter=50, num_candidates=10)
    assert projected.success.all() and projected.success.sum() >= plain.success.sum()
    assert projected.l2[both].mean() >= plain.l2[both].mean()


def test_labels_given_move_each_image_off_its_label(trained) -> None:
    """``deepfool(model, x, y)``: where y is the predicted class it is the label-free
    attack; an image the model already gets wrong comes back unchanged and counts
    as fooled; and it equals torchattacks' DeepFool, which takes labels, given the same y."""
    model, x = trained
    x = x[:24]
    with torch.no_grad():
        pred = model(x).argmax(1)
    y = pred.clone()
    wrong = torch.arange(len(x)) % 4 == 0
    y[wrong] = (pred[wrong] + 1) % 10  # a quarter of the labels disagree with the model
    free = deepfool(model, x, overshoot=0.02, max_iter=50, num_candidates=10)
    given = deepfool(model, x, y, overshoot=0.02, max_iter=50, num_candidates=10)
    # the same steps (the batches differ in size, so float sums may differ in the last bit)
    torch.testing.assert_close(given.x_adv[~wrong], free.x_adv[~wrong], atol=1e-6, rtol=0)
    assert torch.equal(given.iterations[~wrong], free.iterations[~wrong])
    assert torch.equal(given.x_adv[wrong], x[wrong]) and (given.iterations[wrong] == 0).all()
    assert given.success[wrong].all() and torch.equal(given.label, y)
    plain = deepfool(model, x, y, overshoot=0.02, max_iter=50, num_candidates=10, project_box=False)
    ref = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, y)
    torch.testing.assert_close(plain.x_adv[wrong], ref[wrong], atol=0, rtol=0)
    with torch.no_grad():
        both = plain.success & (model(ref).argmax(1) != y)
    assert both.sum() >= len(x) // 2
    torch.testing.assert_close(plain.x_adv[both], ref[both], atol=1e-5, rtol=0)


def test_labels_must_be_one_class_index_per_image(trained) -> None:
    model, x = trained
    with pytest.raises(ValueError, match="one label per image"):
        deepfool(model, x[:4], torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="below the model's 10 classes"):
        deepfool(model, x[:4], torch.full((4,), 10))
    with pytest.raises(TypeError, match="integer class indices"):
        deepfool(model, x[:4], torch.zeros(4))


def test_project_box_must_be_a_bool(trained) -> None:
    model, x = trained
    with pytest.raises(TypeError, match="project_box must be a bool"):
        deepfool(model, x, project_box="yes")


def test_rho_adv_is_the_mean_relative_norm() -> None:
    x = torch.full((2, 1, 2, 2), 0.5)  # ||x|| = 1
    r = torch.zeros(2, 1, 2, 2)
    r[0, 0, 0, 0], r[1, 0, 1, 1] = 0.1, 0.3
    assert rho_adv(r, x) == pytest.approx(0.2)
    assert rho_adv(torch.tensor([0.1, 0.3]), x) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="drop the images"):
        rho_adv(torch.tensor([0.1, float("inf")]), x)
