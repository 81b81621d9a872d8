"""Layers by name and activation capture: captured tensors equal a manual forward
pass, hooks never outlive the block, wrong names are explained."""

import pytest
import torch
from torch import nn

from advinterp_lib.models import build, capture_activations, last_conv_layer, layer, layer_names


@pytest.fixture(autouse=True)
def one_thread():
    """Small models run faster on one thread, and an oversubscribed CI machine
    cannot stall them (see tests/training/test_loop.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _no_hooks_left(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.fixture
def alexnet() -> nn.Module:
    torch.manual_seed(0)
    return build("alexnet").eval()


@pytest.fixture
def resnet() -> nn.Module:
    torch.manual_seed(0)
    return build("resnet").eval()


def test_capture_equals_a_manual_forward_through_the_submodules(alexnet):
    x = torch.rand(4, 1, 28, 28)
    manual = {}
    h = alexnet.normalize(x)
    for i, module in enumerate(alexnet.features):
        h = module(h)
        manual[f"features.{i}"] = h
    logits_manual = alexnet.classifier(h)
    names = ["features.0", "features.3", alexnet.last_conv]
    with capture_activations(alexnet, names) as acts:
        logits = alexnet(x)
    assert set(acts) == set(names)
    for name in names:
        assert torch.equal(acts[name], manual[name]), name
    assert torch.equal(logits, logits_manual)


def test_capture_inside_residual_blocks(resnet):
    x = torch.rand(3, 1, 28, 28)
    stem = resnet.stem(resnet.normalize(x))
    block_out = resnet.layer3(resnet.layer2(resnet.layer1(stem)))
    block = resnet.layer1[0]
    relu1 = block.relu1(block.bn1(block.conv1(stem)))
    with capture_activations(resnet, ["layer1.0.relu1", resnet.last_conv, "stem"]) as acts:
        resnet(x)
    assert torch.equal(acts["stem"], stem)
    assert torch.equal(acts["layer1.0.relu1"], relu1)
    assert torch.equal(acts[resnet.last_conv], block_out)  # the last block's output


def test_detach_true_cuts_the_graph_and_false_keeps_it(resnet):
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    with capture_activations(resnet, resnet.last_conv) as acts:
        resnet(x)
    assert not acts[resnet.last_conv].requires_grad
    with capture_activations(resnet, resnet.last_conv, detach=False) as acts:
        resnet(x)
    feat = acts[resnet.last_conv]
    (grad,) = torch.autograd.grad(feat.sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    ref = resnet.layer3(resnet.layer2(resnet.layer1(resnet.stem(resnet.normalize(x2)))))
    (grad_ref,) = torch.autograd.grad(ref.sum(), x2)
    torch.testing.assert_close(grad, grad_ref)


def test_hooks_removed_after_normal_exit(resnet):
    with capture_activations(resnet, [resnet.last_conv, "layer2"]):
        resnet(torch.rand(1, 1, 28, 28))
    assert _no_hooks_left(resnet)


def test_hooks_removed_after_an_exception_in_the_block(resnet):
    with pytest.raises(RuntimeError, match="inside the block"):
        with capture_activations(resnet, [resnet.last_conv, "layer2"]):
            resnet(torch.rand(1, 1, 28, 28))
            raise RuntimeError("an error inside the block")
    assert _no_hooks_left(resnet)


def test_hooks_removed_after_the_forward_pass_raises(resnet):
    with pytest.raises(ValueError, match="expects images"):
        with capture_activations(resnet, resnet.last_conv):
            resnet(torch.rand(1, 28, 28))  # wrong shape: the model raises
    assert _no_hooks_left(resnet)


def test_a_second_forward_pass_replaces_the_activations(alexnet):
    x1, x2 = torch.rand(2, 1, 28, 28), torch.rand(3, 1, 28, 28)
    with capture_activations(alexnet, "features.3") as acts:
        alexnet(x1)
        alexnet(x2)
    with capture_activations(alexnet, "features.3") as ref:
        alexnet(x2)
    assert torch.equal(acts["features.3"], ref["features.3"])


class _ReusedReLU(nn.Module):
    """The anti-pattern the zoo avoids: one ReLU module applied twice."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.relu = nn.Linear(4, 4), nn.Linear(4, 2), nn.ReLU()

    def forward(self, x):
        return self.relu(self.fc2(self.relu(self.fc1(x))))


def test_a_reused_module_is_an_error_and_leaves_no_hooks():
    model = _ReusedReLU()
    with pytest.raises(RuntimeError, match="'relu'.*ran twice"):
        with capture_activations(model, "relu"):
            model(torch.rand(3, 4))
    assert _no_hooks_left(model)
    with capture_activations(model, "fc1") as acts:  # other layers are fine
        model(torch.rand(3, 4))
    assert acts["fc1"].shape == (3, 4)


def test_unknown_layer_lists_the_valid_names(alexnet):
    with pytest.raises(ValueError) as err:
        layer(alexnet, "features.99")
    message = str(err.value)
    for name in ("normalize", "features.3", "classifier.5"):
        assert name in message
    assert "Did you mean" in message
    with pytest.raises(ValueError, match="features.3"):
        with capture_activations(alexnet, ["features.3", "feature.3"]):
            pass
    assert _no_hooks_left(alexnet)


def test_layer_and_layer_names_follow_named_modules(resnet):
    modules = dict(resnet.named_modules())
    names = layer_names(resnet)
    assert names == [n for n in modules if n]
    for name in names:
        assert layer(resnet, name) is modules[name]
    with pytest.raises(ValueError):
        layer(resnet, "")  # the root is the model itself, not a layer
    with pytest.raises(TypeError):
        layer(resnet, 3)


def test_duplicate_names_are_rejected(resnet):
    with pytest.raises(ValueError, match="distinct"):
        with capture_activations(resnet, ["layer1", "layer1"]):
            pass


def test_last_conv_layer_needs_the_attribute():
    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 3, 3), nn.ReLU())
    with pytest.raises(ValueError, match="no `last_conv`.*Conv2d layers: 0, 2"):
        last_conv_layer(plain)
    plain.last_conv = "7"
    with pytest.raises(ValueError, match="'7' not found"):
        last_conv_layer(plain)
    plain.last_conv = "3"
    assert last_conv_layer(plain) == "3"
