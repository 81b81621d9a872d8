"""advinterp_lib.data: the Fashion-MNIST loader, the registry and ImageSet, on the
real data prepared into a temporary root."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from advinterp_lib.data import DATASETS, DataNotFoundError, ImageSet, load
from advinterp_lib.data.fashion_mnist import CLASS_NAMES, SYNSETS, raw_dir, read_idx_ubyte
from data_scripts.fashion_mnist import prepare_fashion_mnist


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    prepare_fashion_mnist(root, use_apt=False, download=False, log=lambda _: None)
    return root


@pytest.fixture(scope="module")
def test_set(root) -> ImageSet:
    return load("fashion-mnist", "test", root=root)


def test_test_split_equals_torchvisions_reading_of_the_same_files(root, test_set):
    reference = torchvision.datasets.FashionMNIST(root, train=False, download=False)
    assert torch.equal(test_set.labels, reference.targets)
    # ToTensor divides by 255 in float32: the same arithmetic, so exactly equal.
    assert torch.equal(test_set.images, reference.data.unsqueeze(1).float() / 255)
    assert test_set.class_names == tuple(reference.classes) == CLASS_NAMES
    assert test_set.synsets == SYNSETS and len(test_set) == 10_000
    assert (test_set.name, test_set.split) == ("fashion-mnist", "test")


def test_missing_root_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load("fashion-mnist", "train", root=tmp_path / "nowhere")
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(raw_dir(tmp_path / "nowhere") / "train-images-idx3-ubyte") in message
    assert "make data" in message and "python -m data_scripts fashion-mnist" in message


def _copy_test_split(root: Path, tmp_path: Path) -> Path:
    folder = raw_dir(tmp_path)
    folder.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copyfile(raw_dir(root) / name, folder / name)
    return folder


def test_truncated_idx_file_is_a_value_error_naming_it(root, tmp_path):
    folder = _copy_test_split(root, tmp_path)
    images = folder / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(ValueError, match=re.escape(str(images)) + ".*truncated"):
        load("fashion-mnist", "test", root=tmp_path)


def test_wrong_magic_number_is_a_value_error(root, tmp_path):
    folder = _copy_test_split(root, tmp_path)
    labels = folder / "t10k-labels-idx1-ubyte"
    data = bytearray(labels.read_bytes())
    data[2] = 0x0D  # type code of float32 instead of unsigned byte
    labels.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="magic number"):
        load("fashion-mnist", "test", root=tmp_path)


def test_read_idx_ubyte_reads_a_hand_made_file(tmp_path):
    path = tmp_path / "tiny-idx3-ubyte"
    pixels = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([2, 3, 4], ">u4").tobytes() + pixels.tobytes())
    assert np.array_equal(read_idx_ubyte(path, ndim=3), pixels)


def test_unknown_name_and_bad_split_are_value_errors(root):
    with pytest.raises(ValueError, match="known: fashion-mnist"):
        load("mnist", "train", root=root)
    with pytest.raises(ValueError, match="split"):
        load("fashion-mnist", "validation", root=root)
    assert "fashion-mnist" in DATASETS


def test_stratified_subset_is_class_balanced_and_reproducible(test_set):
    small = test_set.subset(100, seed=3)
    assert len(small) == 100
    assert torch.bincount(small.labels, minlength=10).tolist() == [10] * 10
    again = test_set.subset(100, seed=3)
    assert torch.equal(small.images, again.images) and torch.equal(small.labels, again.labels)
    other = test_set.subset(100, seed=4)
    assert not torch.equal(small.images, other.images)
    uneven = test_set.subset(23)
    assert torch.bincount(uneven.labels, minlength=10).tolist() == [3, 3, 3] + [2] * 7


def test_subset_images_are_members_in_original_order(test_set):
    chosen = torch.tensor([7, 3, 9999, 3])
    picked = test_set.subset(indices=chosen)
    assert torch.equal(picked.images, test_set.images[chosen])
    assert torch.equal(picked.labels, test_set.labels[chosen])
    # A drawn subset keeps the original order: its rows appear in the full set in order.
    small = test_set.subset(30, seed=1, stratified=False)
    flat = test_set.images.flatten(1)
    rows = [int((flat == row).all(1).nonzero()[0]) for row in small.images.flatten(1)]
    assert rows == sorted(rows) and len(set(rows)) == 30


def test_subset_rejects_bad_arguments(test_set):
    with pytest.raises(ValueError, match="exactly one"):
        test_set.subset()
    with pytest.raises(ValueError, match="exactly one"):
        test_set.subset(5, indices=[1])
    with pytest.raises(ValueError, match="n: expected"):
        test_set.subset(0)
    with pytest.raises(ValueError, match="n: expected"):
        test_set.subset(10_001)
    with pytest.raises(ValueError, match="indices"):
        test_set.subset(indices=[10_000])
    with pytest.raises(TypeError, match="indices"):
        test_set.subset(indices=[0.5])
    sandals = test_set.subset(indices=(test_set.labels == 5).nonzero().squeeze(1))
    with pytest.raises(ValueError, match="only 0"):
        sandals.subset(20)  # needs 2 of every class
    assert len(sandals.subset(20, stratified=False)) == 20


def test_as_dataset_yields_image_label_pairs(test_set):
    dataset = test_set.subset(10).as_dataset()
    image, label = dataset[0]
    assert len(dataset) == 10 and image.shape == (1, 28, 28) and label.dtype == torch.int64


def _valid_fields(n: int = 4) -> dict:
    return {
        "images": torch.rand(n, 1, 28, 28),
        "labels": torch.arange(n) % 10,
        "class_names": CLASS_NAMES,
        "synsets": SYNSETS,
        "name": "toy",
        "split": "test",
    }


@pytest.mark.parametrize(
    ("change", "error", "pattern"),
    [
        ({"images": torch.rand(4, 1, 28, 28, dtype=torch.float64)}, TypeError, "images"),
        ({"images": torch.rand(4, 28, 28)}, ValueError, "images"),
        ({"images": torch.rand(4, 1, 28, 28) * 2}, ValueError, r"\[0, 1\]"),
        ({"images": torch.full((4, 1, 28, 28), float("nan"))}, ValueError, r"\[0, 1\]"),
        ({"labels": torch.arange(4, dtype=torch.int32)}, TypeError, "labels"),
        ({"labels": torch.arange(5)}, ValueError, "one per image"),
        ({"labels": torch.tensor([0, 1, 2, 10])}, ValueError, "labels"),
        ({"synsets": SYNSETS[:9]}, ValueError, "synsets"),
    ],
)
def test_imageset_validates_its_fields(change, error, pattern):
    ImageSet(**_valid_fields())  # the unchanged fields are valid
    with pytest.raises(error, match=pattern):
        ImageSet(**{**_valid_fields(), **change})
