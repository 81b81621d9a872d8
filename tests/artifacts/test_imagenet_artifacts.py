"""artifacts.imagenet (and runs.imagenet_advset, its torchrun entry point): the ImageNet
adversarial set in parts and shards, split over workers, resumed after a kill; the
concept correlation over the classes present."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from advinterp_lib.artifacts import imagenet as ia
from advinterp_lib.artifacts.cache import ArtifactCache
from advinterp_lib.attacks.advset import AdversarialSetRecipe
from advinterp_lib.consistency import class_synsets, distance_matrix
from advinterp_lib.runs.imagenet_advset import main

WNIDS3 = ["n01440764", "n01443537", "n02123045"]  # class indices 0, 1, 281
RECIPE = AdversarialSetRecipe(k=1, step_size=5 / 255, steps=1, eps=0.2)
ATTACK = dict(n_images=6, seed=0, image_size=32)


@pytest.fixture()
def imagenet_env(tmp_path, monkeypatch, miniature_val):
    data = miniature_val(WNIDS3, 9)
    monkeypatch.setenv("ADVINTERP_DATA", str(data))
    torch.manual_seed(0)
    weights = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    monkeypatch.setattr(ia, "PART_IMAGES", 2)  # three parts of two images
    monkeypatch.setattr(ia, "SHARD_IMAGES", 1)  # the resume test deletes one shard of two
    return str(weights)


def _inputs(weights, cache):
    return ia.consistency_inputs("imagenet-val", ["resnet18"], RECIPE, weights=weights, cache=cache, progress=False,
                                 device="cpu", **ATTACK)  # fmt: skip


def test_split_over_workers_and_resumed_equals_one_run(imagenet_env, tmp_path):
    weights = imagenet_env
    split = ArtifactCache(tmp_path / "split")
    done = ia.generate_imagenet_adversarial_parts(["resnet18"], RECIPE, weights=weights, rank=1, world_size=2,
                                                  cache=split, progress=False, device="cpu", **ATTACK)  # fmt: skip
    assert done == ["part_0000002-0000004"]
    # a kill in the middle of worker 0: one shard of its first part is lost
    inputs = _inputs(weights, split)
    (folder,) = (tmp_path / "split" / "imagenet_adversarial_set").iterdir()
    # (the hidden .part_*.lock beside each part is its generation lock, see advinterp_lib.atomic.folder_lock)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "part_0000000-0000002", "part_0000002-0000004", "part_0000004-0000006"]  # fmt: skip
    (folder / "part_0000000-0000002" / "shard_00000001-00000002.pt").unlink()
    resumed = _inputs(weights, split)
    single = _inputs(weights, ArtifactCache(tmp_path / "single"))
    for other in (resumed, single):
        assert torch.equal(inputs.advset.images_uint8, other.advset.images_uint8)
        assert torch.equal(inputs.advset.targets, other.advset.targets)
    a = inputs.advset
    assert len(a) == 6 and a.source_index.tolist() == list(range(6))
    assert torch.equal(a.labels, inputs.source.labels[a.source_index])
    assert inputs.source.images.shape == (6, 3, 32, 32)
    assert sorted(set(inputs.source.labels.tolist())) == [0, 1, 281]
    # the targets are least-likely classes, never the label
    assert not (a.targets == a.labels).any()


def test_correlation_over_present_classes(imagenet_env, tmp_path):
    from advinterp_lib.data import load

    source = load("imagenet-val", "val", n=6, image_size=32)
    inputs = ia.ConsistencyInputs(models={}, source=source, advset=None, dataset="imagenet-val")
    a = inputs.correlation(1.0, cache=ArtifactCache(tmp_path / "c"))
    assert a.shape == (1000, 1000)
    d = distance_matrix(class_synsets(WNIDS3))
    idx = torch.tensor([0, 1, 281])
    torch.testing.assert_close(a[idx[:, None], idx[None, :]], torch.exp(-(d**2) / 2))
    assert a[5, 5] == 1 and a[5].sum() == 1 and a[0, 5] == 0
    assert a[0, 1] == pytest.approx(math.exp(-(d[0, 1].item() ** 2) / 2))


def test_unknown_dataset_and_bad_rank():
    with pytest.raises(ValueError, match="dataset"):
        ia.consistency_inputs("cifar", ["resnet18"], RECIPE, **ATTACK)
    with pytest.raises(ValueError, match="rank"):
        ia.generate_imagenet_adversarial_parts(["resnet18"], RECIPE, rank=2, world_size=2, **ATTACK)


def test_worker_entry_point_without_torchrun(imagenet_env, tmp_path, monkeypatch):
    """`python -m advinterp_lib.runs.imagenet_advset` (what torchrun starts per GPU) runs
    as one worker with the imagenet profile's parameters and -p overrides."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("ADVINTERP_CACHE", str(tmp_path / "cache"))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "resnet18-f37072fd.pth").symlink_to(imagenet_env)
    argv = ["-p", "archs", "[resnet18]", "-p", "n_images", "2", "-p", "k_targets", "1", "-p", "adam_steps", "1"]
    assert main(argv) == 0
    (folder,) = (tmp_path / "cache" / "imagenet_adversarial_set").iterdir()
    assert (folder / "part_0000000-0000002" / "manifest.json").is_file()
