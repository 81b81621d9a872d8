"""Attribution wrappers: closed forms, independent twins, Captum cross-checks, invariants."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
import torchvision
from captum.attr import GuidedBackprop, GuidedGradCam
from torch import nn

from advinterp_lib.interpret.attribution import (
    grad_cam,
    guided_backprop,
    guided_grad_cam,
    occlusion,
    occlusion_forward_passes,
    saliency,
)
from advinterp_lib.models.hook_safe import make_hook_safe

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

H = W = 16
K = 5


class LinearModel(nn.Module):
    """logits = W flatten(x) + b: every gradient has a closed form."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels * H * W, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


class TopLeftQuadrantModel(nn.Module):
    """Looks only at the top-left quadrant (a small MLP on it)."""

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear((H // 2) * (W // 2), 16), nn.Tanh(), nn.Linear(16, K))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x[:, :, : H // 2, : W // 2])


def _images(n: int = 3, channels: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, H, W, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def cnn(make_toy_cnn) -> nn.Module:
    """The shared toy CNN on H x W images with K classes, in eval mode: conv, BatchNorm, ReLU, pool,
    conv (``features.4``, its last conv layer), ReLU, then flatten, dropout and a linear head."""
    return make_toy_cnn(size=H, num_classes=K).eval()


def _hooks_left(model: nn.Module) -> list[str]:
    left = []
    for name, m in model.named_modules():
        for kind in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
        ):
            if getattr(m, kind):
                left.append(f"{name or '<root>'}.{kind}")
    return left


def _grad_cam_from_scratch(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, layer: str, relu: bool
) -> torch.Tensor:
    """Independent Grad-CAM: a forward hook keeps A, autograd gives dS/dA."""
    store = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda m, a, out: store.update(A=out))
    try:
        scores = model(x)[torch.arange(len(x)), target].sum()
    finally:
        handle.remove()
    (grads,) = torch.autograd.grad(scores, store["A"])
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = (weights * store["A"]).sum(dim=1, keepdim=True)
    cam = cam.clamp(min=0) if relu else cam
    return F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False).detach()


# --- closed forms and twins --------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_saliency_of_a_linear_model_is_the_absolute_weight(channels):
    torch.manual_seed(1)
    model = LinearModel(channels)
    x = _images(2, channels)
    heat = saliency(model, x, torch.tensor([0, 3]))
    weights = model.fc.weight.detach().view(K, channels, H, W).abs().amax(dim=1, keepdim=True)
    assert heat.shape == (2, 1, H, W)
    torch.testing.assert_close(heat, weights[[0, 3]])


def test_guided_backprop_equals_captum_and_an_independent_twin(cnn):
    x = _images()
    target = torch.tensor([0, 2, 4])
    ours = guided_backprop(cnn, x, target)
    captum = GuidedBackprop(cnn).attribute(x.clone().requires_grad_(), target=target).sum(1, keepdim=True)
    torch.testing.assert_close(ours, captum.detach(), rtol=0, atol=0)

    class GuidedReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return v.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            (v,) = ctx.saved_tensors
            return g * (v > 0) * (g > 0)

    twin = copy.deepcopy(cnn)
    twin.features[2].forward = GuidedReLU.apply
    twin.features[5].forward = GuidedReLU.apply
    xg = x.clone().requires_grad_()
    twin(xg)[torch.arange(3), target].sum().backward()
    assert xg.grad.abs().max() > 0
    torch.testing.assert_close(ours, xg.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("layer", [None, "features.2", "features.5"])
@pytest.mark.parametrize("relu", [True, False])
def test_grad_cam_equals_a_from_scratch_hook_implementation(cnn, layer, relu):
    x = _images()
    target = torch.tensor([1, 1, 3])
    ours = grad_cam(cnn, x, target, layer=layer, relu=relu)
    ref = _grad_cam_from_scratch(cnn, x, target, layer or cnn.last_conv, relu)
    assert ours.shape == (3, 1, H, W)
    assert ref.abs().max() > 0
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    if relu:
        assert ours.min() >= 0


def test_guided_grad_cam_is_guided_backprop_times_grad_cam(cnn):
    x = _images()
    ours = guided_grad_cam(cnn, x, 2)
    product = guided_backprop(cnn, x, 2) * grad_cam(cnn, x, 2)
    torch.testing.assert_close(ours, product, rtol=1e-5, atol=1e-7)
    captum = GuidedGradCam(cnn, cnn.features[4]).attribute(
        x.clone().requires_grad_(), target=2, interpolate_mode="bilinear"
    )
    torch.testing.assert_close(ours, captum.sum(1, keepdim=True).detach(), rtol=1e-5, atol=1e-7)


def test_occlusion_puts_all_attribution_in_the_quadrant_the_model_looks_at():
    torch.manual_seed(2)
    model = TopLeftQuadrantModel()
    x = _images(4)
    heat = occlusion(model, x, torch.tensor([0, 1, 2, 3]), window=4, stride=4)
    inside = heat[:, :, : H // 2, : W // 2]
    outside = heat.clone()
    outside[:, :, : H // 2, : W // 2] = 0
    assert torch.count_nonzero(outside) == 0
    assert (inside.abs().flatten(1).sum(1) > 0).all()


@pytest.mark.parametrize("baseline", [0.0, 0.5])
def test_occlusion_of_a_linear_model_with_one_pixel_windows_is_weight_times_change(baseline):
    torch.manual_seed(3)
    model = LinearModel(1)
    x = _images(2)
    heat = occlusion(model, x, 4, window=1, stride=1, baseline=baseline)
    expected = model.fc.weight.detach()[4].view(1, 1, H, W) * (x - baseline)
    torch.testing.assert_close(heat, expected, rtol=1e-4, atol=1e-5)


def test_occlusion_forward_pass_count_matches_the_images_the_model_sees(cnn):
    x = _images(3)
    seen = []
    handle = cnn.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[0]))
    try:
        occlusion(cnn, x, 0, window=5, stride=3, batch_size=40)
    finally:
        handle.remove()
    per_image = occlusion_forward_passes((H, W), 5, 3)
    assert per_image == 5 * 5 + 1  # positions 0, 3, 6, 9 and a clipped one at 12
    assert sum(seen) == 1 + len(x) * per_image  # +1: the probe that reads the number of classes
    assert max(seen) <= 40


def test_works_on_a_converted_torchvision_resnet():
    torch.manual_seed(4)
    model = make_hook_safe(torchvision.models.resnet18(weights=None, num_classes=K).eval())
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    target = torch.tensor([0, 3])
    ours = grad_cam(model, x, target, layer="layer4")
    torch.testing.assert_close(ours, _grad_cam_from_scratch(model, x, target, "layer4", True), rtol=1e-5, atol=1e-5)
    assert guided_backprop(model, x, target).shape == (2, 1, 32, 32)
    assert guided_grad_cam(model, x, target, layer="layer3.1.relu2").shape == (2, 1, 32, 32)


def test_int_target_equals_tensor_target(cnn):
    x = _images()
    torch.testing.assert_close(saliency(cnn, x, 3), saliency(cnn, x, torch.tensor([3, 3, 3])))
    torch.testing.assert_close(grad_cam(cnn, x, 3), grad_cam(cnn, x, torch.tensor(3)))


# --- invariants: input untouched, mode restored, no hooks left ------------------------------

METHODS = {
    "saliency": lambda m, x, t: saliency(m, x, t),
    "guided_backprop": lambda m, x, t: guided_backprop(m, x, t),
    "grad_cam": lambda m, x, t: grad_cam(m, x, t),
    "guided_grad_cam": lambda m, x, t: guided_grad_cam(m, x, t),
    "occlusion": lambda m, x, t: occlusion(m, x, t, window=4, stride=4),
}


@pytest.mark.parametrize("method", list(METHODS))
def test_input_unchanged_mode_restored_no_hooks_left(make_toy_cnn, method):
    model = make_toy_cnn(5, size=H, num_classes=K)  # its BatchNorm and Dropout would make train-mode maps differ
    x = _images()
    before = x.clone()
    model.train()
    first = METHODS[method](model, x, 1)
    assert model.training
    model.eval()
    second = METHODS[method](model, x, 1)
    assert not model.training
    torch.testing.assert_close(first, second)  # the method ran in eval mode both times
    assert torch.equal(x, before) and not x.requires_grad and x.grad is None
    assert _hooks_left(model) == []
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("method", list(METHODS))
def test_mixed_submodule_modes_are_restored(cnn, method):
    cnn.train()
    cnn.features.eval()  # e.g. a frozen backbone inside a model being fine-tuned
    METHODS[method](cnn, _images(), 0)
    assert cnn.training and cnn.classifier.training and cnn.classifier[1].training
    assert not cnn.features.training and not cnn.features[0].training


class _FailsOnSecondCall(nn.Module):
    """Passes the probe forward pass, then raises inside the attribution's own pass."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("boom in the forward pass")
        return x


@pytest.mark.parametrize("method", list(METHODS))
def test_no_hooks_left_and_mode_restored_after_an_exception(make_toy_cnn, method):
    model = make_toy_cnn(6, size=H, num_classes=K)
    model.features.append(_FailsOnSecondCall())
    model.train()
    x = _images()
    before = x.clone()
    with pytest.raises(RuntimeError, match="boom"):
        METHODS[method](model, x, 0)
    assert model.training
    assert _hooks_left(model) == []
    assert torch.equal(x, before) and not x.requires_grad


# --- clear errors ------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [grad_cam, guided_grad_cam])
def test_wrong_layer_name_lists_valid_names(cnn, fn):
    with pytest.raises(ValueError, match=r"'features\.9' not found.*features\.3"):
        fn(cnn, _images(), 0, layer="features.9")


@pytest.mark.parametrize("fn", [grad_cam, guided_grad_cam])
def test_layer_without_spatial_output_is_rejected(cnn, fn):
    with pytest.raises(ValueError, match="spatial output"):
        fn(cnn, _images(), 0, layer="classifier.2")


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("target", [K, -1, torch.tensor([0, 1, K])])
def test_target_out_of_range(cnn, method, target):
    with pytest.raises(ValueError, match=r"target must be .*\[0, 5\)"):
        METHODS[method](cnn, _images(), target)


@pytest.mark.parametrize("method", list(METHODS))
def test_wrong_shapes_and_types(cnn, method):
    with pytest.raises(ValueError, match=r"x must have shape \[N, C, H, W\]"):
        METHODS[method](cnn, _images()[0], 0)
    with pytest.raises(ValueError, match="must have shape \\[3\\]"):
        METHODS[method](cnn, _images(), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="target must be"):
        METHODS[method](cnn, _images(), 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        METHODS[method](cnn, _images() * 255, 0)


def test_model_without_last_conv_needs_a_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 14 * 14, K))
    with pytest.raises(ValueError, match="last_conv"):
        grad_cam(model, _images(), 0)
    assert grad_cam(model, _images(), 0, layer="1").shape == (3, 1, H, W)


def test_occlusion_window_checks(cnn):
    with pytest.raises(ValueError, match="window must be between 1 and the image size"):
        occlusion(cnn, _images(), 0, window=H + 1)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        occlusion(cnn, _images(), 0, stride=1.5)
    with pytest.raises(ValueError, match="baseline"):
        occlusion(cnn, _images(), 0, baseline=2.0)


# --- comparing maps ----------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["alexnet", "vgg", "resnet"])
def test_every_method_runs_on_the_zoo(arch):
    from advinterp_lib.models import build

    torch.manual_seed(9)
    model = build(arch).eval()
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(9))
    target = torch.tensor([3, 8])
    for name, fn in METHODS.items():
        heat = fn(model, x, target)
        assert heat.shape == (2, 1, 28, 28) and torch.isfinite(heat).all(), name
    torch.testing.assert_close(
        grad_cam(model, x, target),
        _grad_cam_from_scratch(model, x, target, model.last_conv, True),
        rtol=1e-5,
        atol=1e-5,
    )
    assert _hooks_left(model) == []
