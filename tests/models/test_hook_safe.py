"""make_hook_safe: the same function, separate non-inplace activations, original untouched."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from captum.attr import GuidedBackprop
from torch import nn

from advinterp_lib.models.hook_safe import inplace_modules, make_hook_safe, reused_modules

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=10).eval()


@pytest.fixture(scope="module")
def vgg() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.vgg11(weights=None, num_classes=10).eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


class _GuidedReLUFunction(torch.autograd.Function):
    """Independent guided backprop: pass back only positive gradients where the input was positive."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x > 0) * (grad > 0)


class _GuidedReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _GuidedReLUFunction.apply(x)


def _guided_backprop_twin(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules(remove_duplicate=False)):
        if isinstance(module, nn.ReLU):
            parent, _, attr = name.rpartition(".")
            setattr(twin.get_submodule(parent) if parent else twin, attr, _GuidedReLU())
    x = x.clone().requires_grad_(True)
    twin(x)[torch.arange(len(x)), target].sum().backward()
    return x.grad


@pytest.mark.parametrize("arch", ["resnet", "vgg"])
def test_same_function_same_parameters_no_inplace_no_reuse(arch, resnet, vgg, images):
    model = {"resnet": resnet, "vgg": vgg}[arch]
    assert inplace_modules(model), "torchvision nets use inplace ReLUs (what we convert)"
    safe = make_hook_safe(model)
    with torch.no_grad():
        assert torch.equal(safe(images), model(images))
    assert list(safe.state_dict()) == list(model.state_dict())
    assert inplace_modules(safe) == []
    assert reused_modules(safe, images) == []
    assert safe.training == model.training


def test_resnet_blocks_get_one_relu_per_use(resnet, images):
    assert "layer1.0.relu" in reused_modules(resnet, images)
    safe = make_hook_safe(resnet)
    names = dict(safe.named_modules())
    assert {"layer1.0.relu1", "layer1.0.relu2", "layer4.1.relu2"} <= set(names)
    assert "layer1.0.relu" not in names
    assert names["layer1.0.relu1"] is not names["layer1.0.relu2"]


def test_original_is_not_modified(resnet):
    before = inplace_modules(resnet)
    reference = {k: v.clone() for k, v in resnet.state_dict().items()}
    make_hook_safe(resnet)
    assert inplace_modules(resnet) == before
    assert type(resnet.layer1[0]) is torchvision.models.resnet.BasicBlock
    assert all(torch.equal(reference[k], v) for k, v in resnet.state_dict().items())


def test_forward_hook_sees_pre_activation_only_after_conversion(resnet, images):
    # An inplace ReLU overwrites the tensor a forward hook on the layer before it stored.
    def captured_bn1(model: nn.Module) -> torch.Tensor:
        store = []
        handle = model.get_submodule("layer1.0.bn1").register_forward_hook(lambda m, a, out: store.append(out))
        try:
            with torch.no_grad():
                model(images)
        finally:
            handle.remove()
        return store[0]

    assert captured_bn1(resnet).min() >= 0  # clobbered by the inplace ReLU
    assert captured_bn1(make_hook_safe(resnet)).min() < 0  # the real BatchNorm output


def test_guided_backprop_on_converted_resnet_equals_independent_twin(resnet, images):
    safe = make_hook_safe(resnet)
    target = torch.tensor([1, 7])
    ours = GuidedBackprop(safe).attribute(images.clone(), target=target)
    twin = _guided_backprop_twin(resnet, images, target)
    assert twin.abs().max() > 0
    torch.testing.assert_close(ours, twin, rtol=1e-5, atol=1e-7)


def test_reused_modules_removes_its_hooks_after_an_exception():
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.act(x)
            raise RuntimeError("boom")

    model = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        reused_modules(model, torch.zeros(1))
    assert not model.act._forward_hooks


def test_modules_registered_twice_get_separate_copies():
    act = nn.ReLU(inplace=True)
    model = nn.Sequential(nn.Linear(3, 3), act, nn.Linear(3, 3), act)
    safe = make_hook_safe(model)
    assert safe[1] is not safe[3]
    assert inplace_modules(safe) == []
    x = torch.randn(4, 3)
    torch.testing.assert_close(safe(x), model(x))


def test_rejects_non_module():
    with pytest.raises(TypeError, match="nn.Module"):
        make_hook_safe("resnet18")
