"""advinterp_lib.artifacts.advsets: fingerprints, and white-box sets cached per model."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from advinterp_lib.artifacts.advsets import model_fingerprint, tensor_fingerprint, whitebox_adversarial_set
from advinterp_lib.artifacts.cache import ArtifactCache
from advinterp_lib.artifacts.store import generate_adversarial_set
from advinterp_lib.attacks.advset import AdversarialSetRecipe


def tiny_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4)).eval()


def data(n: int = 12):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 4, (n,), generator=g)


def test_fingerprint_depends_on_every_element_shape_and_dtype():
    x = torch.arange(12, dtype=torch.float32).view(3, 4)
    base = tensor_fingerprint({"a": x, "n": torch.tensor(3)})  # 0-dim tensors too (BatchNorm's counter)
    assert base == tensor_fingerprint({"n": torch.tensor(3), "a": x.clone()})  # order of keys is irrelevant
    y = x.clone()
    y[2, 3] += 1e-6
    assert tensor_fingerprint({"a": y, "n": torch.tensor(3)}) != base
    assert tensor_fingerprint({"a": x.view(4, 3), "n": torch.tensor(3)}) != base
    assert tensor_fingerprint({"a": x.double(), "n": torch.tensor(3)}) != base
    assert tensor_fingerprint({"b": x, "n": torch.tensor(3)}) != base
    assert tensor_fingerprint(x.t()) == tensor_fingerprint(x.t().contiguous())
    assert len(base) == 16
    with pytest.raises(TypeError, match="tensors"):
        tensor_fingerprint([x])


def test_model_fingerprint_sees_weights_and_buffers():
    m = tiny_model(0)
    fp = model_fingerprint(m)
    assert fp == model_fingerprint(tiny_model(0)) and fp != model_fingerprint(tiny_model(1))
    with torch.no_grad():
        m[2].running_mean[0] += 1.0  # a buffer, not a parameter
    assert model_fingerprint(m) != fp
    with pytest.raises(TypeError, match="nn.Module"):
        model_fingerprint({"w": torch.zeros(1)})


def test_whitebox_set_is_the_single_model_attack_and_is_cached(tmp_path):
    cache = ArtifactCache(tmp_path)
    model = tiny_model(0)
    x, y = data()
    recipe = AdversarialSetRecipe(k=2, step_size=0.05, steps=3, eps=0.2)
    got = whitebox_adversarial_set(model, x, y, recipe, seed=0, cache=cache, progress=False)
    want = generate_adversarial_set(model, x, y, tmp_path / "reference", recipe, shard_size=50, seed=0, progress=False)
    assert torch.equal(got.images_uint8, want.images_uint8) and torch.equal(got.targets, want.targets)
    assert torch.equal(got.labels, y.repeat_interleave(2)) and len(got) == 24

    def sets():  # the set folders, not the .lock files
        return sorted(p for p in (tmp_path / "whitebox_adversarial_set").iterdir() if p.is_dir())

    folders = sets()
    assert len(folders) == 1
    # asked again: the same folder, the same set
    again = whitebox_adversarial_set(model, x, y, recipe, cache=cache, progress=False)
    assert torch.equal(again.images_uint8, got.images_uint8)
    assert sets() == folders
    # another model, other images or other attack parameters: another set
    whitebox_adversarial_set(tiny_model(1), x, y, recipe, cache=cache, progress=False)
    whitebox_adversarial_set(model, x[:6], y[:6], recipe, cache=cache, progress=False)
    whitebox_adversarial_set(model, x, y, dataclasses.replace(recipe, steps=4), cache=cache, progress=False)
    whitebox_adversarial_set(model, x, y, dataclasses.replace(recipe, random_start=True), cache=cache, progress=False)
    assert len(sets()) == 5
    assert not model.training  # the model's mode is left as it was


RECIPE = AdversarialSetRecipe(k=1, step_size=0.1, steps=1)


def test_whitebox_set_validates(tmp_path):
    x, y = data()
    with pytest.raises(ValueError, match="labels"):
        whitebox_adversarial_set(tiny_model(0), x, y[:5], RECIPE, cache=ArtifactCache(tmp_path))
    with pytest.raises(ValueError, match="images"):
        whitebox_adversarial_set(tiny_model(0), x * 255, y, RECIPE, cache=ArtifactCache(tmp_path))
    with pytest.raises(TypeError, match="nn.Module"):
        whitebox_adversarial_set(None, x, y, RECIPE, cache=ArtifactCache(tmp_path))
    with pytest.raises(TypeError, match="recipe must be an AdversarialSetRecipe"):
        whitebox_adversarial_set(tiny_model(0), x, y, {"k": 1}, cache=ArtifactCache(tmp_path))
