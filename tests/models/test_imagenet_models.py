"""torchvision AlexNet / VGG-16 / ResNet-18 in the book's conventions."""

from __future__ import annotations

import pytest
import torch
import torchvision

from advinterp_lib.models.hook_safe import inplace_modules, reused_modules
from advinterp_lib.models.imagenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    imagenet_model,
    weights_checkpoint_path,
    weights_identity,
)
from advinterp_lib.models.layers import capture_activations, last_conv_layer


def _reference(arch: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return getattr(torchvision.models, arch)(weights=None).eval()


def _external(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return model((x - mean) / std)


@pytest.mark.parametrize("arch", ["resnet18"])  # AlexNet's and VGG-16's files (233 MB, 528 MB) load the same way
def test_local_state_dict_gives_the_original_logits(tmp_path, arch):
    reference = _reference(arch, seed=1)
    path = tmp_path / f"{arch}.pth"
    torch.save(reference.state_dict(), path)
    model = imagenet_model(arch, path)
    x = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model(x)
    assert ours.shape == (2, 1000)
    torch.testing.assert_close(ours, _external(reference, x), rtol=1e-5, atol=1e-5)
    assert not model.training and weights_identity(arch, path).startswith("file:")


def test_default_weights_come_from_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = weights_checkpoint_path("resnet18")
    assert path == tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    reference = _reference("resnet18", seed=2)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(imagenet_model("resnet18")(x), _external(reference, x), rtol=1e-5, atol=1e-5)
    assert weights_identity("resnet18", "DEFAULT") == "ResNet18_Weights.IMAGENET1K_V1:resnet18-f37072fd.pth"


@pytest.mark.parametrize("arch, channels", [("alexnet", 256), ("vgg16", 512), ("resnet18", 512)])
def test_hook_safe_and_last_conv_named(arch, channels):
    model = imagenet_model(arch, None)
    x = torch.rand(1, 3, 64, 64)
    assert inplace_modules(model) == [] and reused_modules(model, x) == []
    assert next(iter(dict(model.named_children()))) == "normalize"
    name = last_conv_layer(model)
    with capture_activations(model, name) as acts:
        with torch.no_grad():
            model(x)
    out = acts[name]
    assert out.shape[1] == channels and out.min() >= 0  # after the ReLU
    assert model.num_classes == 1000  # read from the last layer: no probe forward needed
    # it really is the last conv layer's output: nothing but ReLU/pool/linear after it
    names = [n for n, _ in model.named_modules()]
    later = names[names.index(name) + 1 :]
    assert not any(isinstance(dict(model.named_modules())[n], torch.nn.Conv2d) for n in later)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="arch"):
        imagenet_model("resnet50", None)
    with pytest.raises(FileNotFoundError):
        imagenet_model("resnet18", tmp_path / "missing.pth")
    wrong = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 11, 11)}, wrong)
    with pytest.raises(ValueError, match="not a torchvision resnet18 state_dict"):
        imagenet_model("resnet18", wrong)
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        imagenet_model("resnet18", None)(torch.rand(1, 1, 32, 32))
