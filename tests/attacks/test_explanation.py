"""The Grad-CAM attack: prediction kept everywhere, the map moves more than random
noise of the same budget, budget and box respected, the differentiable Grad-CAM equals
the library's (Captum) one, input and model untouched, bad input refused."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advinterp_lib.attacks.explanation import grad_cam_attack, grad_cam_distribution, map_shift
from advinterp_lib.interpret import grad_cam

H = W = 12


@pytest.fixture
def setup(make_toy_cnn):
    """``setup(n)``: the shared toy CNN (5 classes; its last conv layer gives a 6x6 Grad-CAM, as the
    zoo's last layers are coarse), n images and the model's predictions."""

    def make(n: int = 16):
        model = make_toy_cnn(num_classes=5).eval()
        with torch.no_grad():  # logit margins of a trained net, not the near-ties of a random one
            model.classifier[2].weight.mul_(20)
        x = torch.rand(n, 1, H, W, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            pred = model(x).argmax(1)
        return model, x, pred

    return make


def test_distribution_is_the_library_grad_cam_normalised(setup):
    model, x, pred = setup(6)
    cam = grad_cam(model, x, pred, upsample="nearest")  # [N, 1, 12, 12]: each 6x6 cell repeated 2x2
    cam = F.avg_pool2d(cam, 2)  # back to the layer's 6x6
    expected = cam.flatten(1) / cam.flatten(1).sum(1, keepdim=True)
    ours = grad_cam_distribution(model, x, pred)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-5)
    assert torch.allclose(ours.sum(1), torch.ones(6))


def test_map_shift_is_total_variation():
    p = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    q = torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    torch.testing.assert_close(map_shift(p, q), torch.tensor([1.0, 0.0]))


def test_prediction_kept_budget_respected_and_map_moves_more_than_noise(setup):
    model, x, pred = setup()
    eps = 0.1
    result = grad_cam_attack(model, x, pred, eps=eps, steps=15, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(result.x_adv).argmax(1), pred)  # kept on every image
    assert torch.equal(result.prediction, pred)
    assert (result.x_adv - x).abs().max() <= eps + 1e-6
    assert result.x_adv.min() >= 0 and result.x_adv.max() <= 1
    # the reported shift is the shift of the returned image
    moved = map_shift(grad_cam_distribution(model, result.x_adv, pred), grad_cam_distribution(model, x, pred))
    torch.testing.assert_close(result.shift, moved, atol=1e-5, rtol=1e-4)
    # random sign noise of the same budget moves the map far less
    g = torch.Generator().manual_seed(2)
    noise_shift = torch.stack(
        [
            map_shift(
                grad_cam_distribution(
                    model, (x + eps * (2 * torch.randint(0, 2, x.shape, generator=g) - 1)).clamp(0, 1), pred
                ),
                grad_cam_distribution(model, x, pred),
            )
            for _ in range(5)
        ]
    ).mean(0)
    assert result.success.float().mean() >= 0.9
    assert result.shift.mean() > 2 * noise_shift.mean()
    assert (result.shift > noise_shift).float().mean() >= 0.9


def test_without_random_start_the_ascent_cannot_leave_x(setup):
    # TV(m(x'), m(x)) has a zero (sub)gradient at x' = x: the random start is needed.
    model, x, pred = setup(4)
    result = grad_cam_attack(model, x, pred, eps=0.1, steps=3, random_start=False)
    assert torch.equal(result.shift, torch.zeros(4))


def test_zero_budget_returns_the_input_with_no_shift(setup):
    model, x, pred = setup(4)
    result = grad_cam_attack(model, x, pred, eps=0.0, steps=3)
    assert torch.equal(result.x_adv, x)
    assert torch.equal(result.shift, torch.zeros(4))
    assert not result.success.any()


def test_input_model_mode_and_hooks_untouched(setup):
    model, x, pred = setup(4)
    model.train()
    before = x.clone()
    grad_cam_attack(model, x, pred, eps=0.05, steps=2)
    assert torch.equal(x, before)
    assert model.training and all(m.training for m in model.modules())
    assert not any(m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_hook_removed_when_the_layer_has_no_spatial_output(setup):
    model, x, pred = setup(2)
    with pytest.raises(ValueError, match="spatial"):
        grad_cam_attack(model, x, pred, eps=0.05, steps=1, layer="classifier.2")
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"eps": -0.1}, ValueError),
        ({"eps": 2.0}, ValueError),
        ({"eps": "0.1"}, TypeError),
        ({"eps": 0.1, "steps": 0}, ValueError),
        ({"eps": 0.1, "penalty": -1.0}, ValueError),
        ({"eps": 0.1, "random_start": 1}, TypeError),
        ({"eps": 0.1, "layer": "nope"}, ValueError),
    ],
)
def test_bad_parameters_are_refused(setup, kwargs, error):
    model, x, pred = setup(2)
    with pytest.raises(error):
        grad_cam_attack(model, x, pred, **kwargs)


def test_bad_images_and_labels_are_refused(setup):
    model, x, pred = setup(2)
    with pytest.raises(ValueError):
        grad_cam_attack(model, x * 255, pred, eps=0.1)
    with pytest.raises(ValueError):
        grad_cam_attack(model, x, torch.tensor([0, 7]), eps=0.1)  # class 7 of a 5-class model
    with pytest.raises(ValueError):
        grad_cam_attack(model, x[:, 0], pred, eps=0.1)
