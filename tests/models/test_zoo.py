"""The zoo: shapes, the last conv layer, hook-friendliness (no in-place or reused
modules), input normalisation first, and errors."""

import pytest
import torch
from torch import nn

from advinterp_lib.models import ZOO, Normalize, build, capture_activations, last_conv_layer, layer
from advinterp_lib.models.zoo import FASHION_MNIST_MEAN, FASHION_MNIST_STD


@pytest.fixture(autouse=True)
def one_thread():
    """Small models run faster on one thread, and an oversubscribed CI machine
    cannot stall them (see tests/training/test_loop.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=sorted(ZOO))
def model(request) -> nn.Module:
    torch.manual_seed(0)
    return build(request.param).eval()


def _call_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the modules (the root is "") in the order their forward passes start."""
    order: list[str] = []
    handles = [
        m.register_forward_pre_hook(lambda mod, args, name=name: order.append(name))
        for name, m in model.named_modules()
    ]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return order


def test_maps_pixels_to_logits(model):
    x = torch.rand(5, 1, 28, 28)
    out = model(x)
    assert out.shape == (5, 10)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(ZOO))
def test_num_classes_and_in_channels(name):
    net = build(name, num_classes=7, in_channels=3).eval()
    assert net(torch.rand(2, 3, 28, 28)).shape == (2, 7)


def test_last_conv_is_the_relu_after_the_last_convolution(model):
    name = last_conv_layer(model)
    assert name == model.last_conv
    assert isinstance(layer(model, name), nn.ReLU)
    order = _call_order(model, torch.rand(2, 1, 28, 28))
    convs = [i for i, n in enumerate(order) if isinstance(layer(model, n) if n else model, nn.Conv2d)]
    # It runs after every convolution ...
    assert order.index(name) > max(convs)
    # ... and is a 4-D post-activation map with a moderate number of channels.
    with capture_activations(model, name) as acts:
        model(torch.rand(4, 1, 28, 28))
    act = acts[name]
    assert act.dim() == 4 and act.shape[0] == 4
    assert 64 <= act.shape[1] <= 256
    assert (act >= 0).all()


def test_no_inplace_activation_and_no_module_runs_twice(model):
    for name, m in model.named_modules():
        assert not getattr(m, "inplace", False), f"{name} is in place"
    order = _call_order(model, torch.rand(2, 1, 28, 28))
    counts = {name: order.count(name) for name in set(order)}
    assert all(c == 1 for c in counts.values()), {n: c for n, c in counts.items() if c != 1}
    # Every module takes part in the forward pass (none is dead weight).
    assert set(order) == {name for name, _ in model.named_modules()}


def test_normalize_comes_first(model):
    first_name, first = next(iter(model.named_children()))
    assert isinstance(first, Normalize)
    order = _call_order(model, torch.rand(2, 1, 28, 28))
    assert order[:2] == ["", first_name]  # the root, then Normalize before anything else
    x = torch.rand(3, 1, 28, 28)
    expected = (x - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
    torch.testing.assert_close(first(x), expected)


def test_normalize_per_channel_closed_form():
    norm = Normalize([0.5, 0.25], [0.5, 0.125])
    x = torch.tensor([[[[1.0]], [[0.0]]]])  # one 1x1 image, 2 channels
    assert norm(x).flatten().tolist() == [1.0, -2.0]
    assert set(norm.state_dict()) == {"mean", "std"}


@pytest.mark.parametrize("std", [0.0, -1.0, float("nan")])
def test_normalize_rejects_bad_std(std):
    with pytest.raises(ValueError, match="std"):
        Normalize(0.5, std)


def test_every_parameter_gets_a_gradient(model):
    model.train()
    torch.manual_seed(1)
    loss = nn.functional.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.arange(8) % 10)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_build_is_seeded_by_the_global_generator():
    torch.manual_seed(3)
    a = build("vgg")
    torch.manual_seed(3)
    b = build("vgg")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_unknown_model_name_lists_the_zoo():
    with pytest.raises(ValueError, match="alexnet, vgg, resnet"):
        build("lenet")


@pytest.mark.parametrize("kwargs", [{"num_classes": 1}, {"in_channels": 0}])
def test_bad_counts(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        build("resnet", **kwargs)


def test_wrong_input_shape_gets_a_clear_message(model):
    with pytest.raises(ValueError, match=r"\[N, 1, .*got shape \[2, 28, 28\]"):
        model(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match=r"got shape \[2, 3, 28, 28\]"):
        model(torch.rand(2, 3, 28, 28))


@pytest.mark.parametrize("size", [1, 27, 64])
@pytest.mark.parametrize("arch", ["alexnet", "vgg", "resnet"])
def test_every_zoo_model_refuses_images_of_another_size(arch, size):
    """The ResNet's global pooling once took 1x1 and 64x64 images silently (AlexNet and VGG
    refused them): every zoo model was trained on 28x28 and says so."""
    with pytest.raises(ValueError, match=rf"expects images \[N, 1, 28, 28\], got shape \[2, 1, {size}, {size}\]"):
        build(arch)(torch.rand(2, 1, size, size))


@pytest.mark.parametrize("arch", ["alexnet", "vgg", "resnet"])
def test_num_classes_is_the_width_of_the_logits_and_follows_the_head(arch):
    from advinterp_lib.models.layers import num_classes_of

    model = build(arch, num_classes=7).eval()
    x = torch.rand(2, 1, 28, 28)
    assert model.num_classes == num_classes_of(model, x) == model(x).shape[1] == 7
    head = "fc" if arch == "resnet" else "classifier"
    if arch == "resnet":
        model.fc = torch.nn.Linear(model.fc.in_features, 3)
    else:
        model.classifier[-1] = torch.nn.Linear(model.classifier[-1].in_features, 3)
    assert model.num_classes == model(x).shape[1] == 3, head  # derived, never stale


def test_num_classes_of_a_model_without_the_attribute_probes_one_image():
    from advinterp_lib.models.layers import num_classes_of

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 4))
    assert num_classes_of(model, torch.rand(5, 1, 28, 28)) == 4
    with pytest.raises(ValueError, match="logits of shape"):
        num_classes_of(torch.nn.Identity(), torch.rand(5, 1, 28, 28))


def test_any_input_size_lets_the_resnet_trunk_take_a_larger_image_and_is_restored() -> None:
    import pytest as _pytest

    from advinterp_lib.interpret import receptive_field_from_gradient
    from advinterp_lib.models import build
    from advinterp_lib.models.zoo import any_input_size

    model = build("resnet").eval()
    big = torch.zeros(1, 1, 96, 96)
    with _pytest.raises(ValueError, match="expects images"):
        model(big)
    with any_input_size(model):
        field = receptive_field_from_gradient(model, "layer1.0", (1, 96, 96))  # chapter 2's use
        assert field.size[0] > 1
    with _pytest.raises(ValueError, match="expects images"):
        model(big)  # refused again after the block
    alex = build("alexnet").eval()
    with any_input_size(alex), _pytest.raises(ValueError):
        alex(big)  # a classifier of fixed size still refuses
