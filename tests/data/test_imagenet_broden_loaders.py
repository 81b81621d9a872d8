"""The ImageNet-val and Broden loaders on miniature copies in the exact formats."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from advinterp_lib.data import DataNotFoundError, load
from advinterp_lib.data.broden import Broden, decode_mask
from advinterp_lib.data.imagenet import WNIDS, ImageNetVal, balanced_indices, class_names
from data_scripts.imagenet import prepare_imagenet_val

CLASSES = ["n01440764", "n01443537", "n02123045", "n15075141"]  # class indices 0, 1, 281, 999


def _jpeg(rng: np.random.Generator, size=(48, 36)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.fixture(scope="module")
def imagenet_root(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("imagenet")
    rng = np.random.default_rng(0)
    truth = [CLASSES[i % 4] for i in range(12)]
    archive = folder / "ILSVRC2012_img_val.tar"
    with tarfile.open(archive, "w") as tf:
        for i in range(12):
            data = _jpeg(rng)
            info = tarfile.TarInfo(f"ILSVRC2012_val_{i + 1:08d}.JPEG")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    labels = folder / "val.txt"
    labels.write_text("\n".join(truth))
    prepare_imagenet_val(archive, labels, folder / "data", expected_md5=None, log=lambda s: None)
    return folder / "data"


def test_imagenet_val_labels_are_torchvision_class_indices(imagenet_root):
    data = ImageNetVal(imagenet_root, image_size=32)
    assert len(data) == 12
    assert sorted(set(data.targets.tolist())) == [0, 1, 281, 999]
    for path, target in zip(data.paths, data.targets.tolist()):
        assert Path(path).parent.name == WNIDS[target]
    image, label = data[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and 0 <= image.min() <= image.max() <= 1


def test_load_imagenet_val_gives_a_balanced_seeded_imageset(imagenet_root):
    s = load("imagenet-val", "val", root=imagenet_root, n=8, seed=3, image_size=32)
    assert s.images.shape == (8, 3, 32, 32)
    assert torch.bincount(s.labels, minlength=1000)[[0, 1, 281, 999]].tolist() == [2, 2, 2, 2]
    assert len(s.class_names) == len(s.synsets) == 1000 and s.synsets[281] == "n02123045"
    assert s.class_names[281] == "tabby" and class_names()[0] == "tench"
    again = load("imagenet-val", "val", root=imagenet_root, n=8, seed=3, image_size=32)
    assert torch.equal(s.images, again.images)
    # the pixels are torchvision's eval transform of the JPEG (resize 256/224, centre crop)
    from torchvision import transforms

    data = ImageNetVal(imagenet_root, image_size=32)
    full = load("imagenet-val", "val", root=imagenet_root, image_size=32)
    with Image.open(data.paths[5]) as im:
        expected = transforms.Compose([transforms.Resize(37), transforms.CenterCrop(32), transforms.ToTensor()])(
            im.convert("RGB"))  # fmt: skip
    assert torch.equal(full.images[5], expected)


def test_balanced_indices_round_robin():
    labels = torch.tensor([0, 0, 0, 0, 1, 2, 2])
    picked = balanced_indices(labels, 5, seed=0)
    assert torch.bincount(labels[picked], minlength=3).tolist() == [2, 1, 2]
    assert picked.tolist() == sorted(set(picked.tolist()))


def test_imagenet_errors(tmp_path, imagenet_root):
    with pytest.raises(DataNotFoundError, match="data_scripts imagenet"):
        load("imagenet-val", "val", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        load("imagenet-val", "train", root=imagenet_root)
    (tmp_path / "imagenet" / "val" / "not_a_wnid").mkdir(parents=True)
    with pytest.raises(ValueError, match="not ILSVRC-2012 wnids"):
        ImageNetVal(tmp_path)


# ---------------------------------------------------------------------------- Broden

# label numbers: 1-2 colours, 3 dog, 300 cat (needs the G channel: 300 = 44 + 256), 301 leg,
# 302 head, 400 wood (material), 500 kitchen (scene), 501 street (scene), 600 striped (texture)
LABELS = [
    (1, "red-c", "color(2)"), (2, "blue-c", "color(1)"), (3, "dog", "object(1)"),
    (300, "cat", "object(1)"), (301, "leg", "part(2)"), (302, "head", "part(1)"),
    (400, "wood", "material(1)"), (500, "kitchen", "scene(1)"), (501, "street", "scene(1)"),
    (600, "striped", "texture(1)"),
]  # fmt: skip


def _write_mask(path: Path, labels: np.ndarray) -> None:
    rgb = np.zeros((*labels.shape, 3), dtype=np.uint8)
    rgb[..., 0] = labels % 256
    rgb[..., 1] = labels // 256
    Image.fromarray(rgb).save(path)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def broden_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("broden")
    folder = root / "broden1_224"
    images = folder / "images" / "ade20k"
    images.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(images / f"{name}.jpg")
    obj_a = np.zeros((8, 8), dtype=np.int64)
    obj_a[:6] = 300  # cat covers 48 pixels
    obj_a[6:, :4] = 3  # dog 8 pixels
    _write_mask(images / "a_object.png", obj_a)
    part1 = np.zeros((8, 8), dtype=np.int64)
    part1[0, :2] = 301
    part2 = np.zeros((8, 8), dtype=np.int64)
    part2[1, :] = 302
    _write_mask(images / "a_part_1.png", part1)
    _write_mask(images / "a_part_2.png", part2)
    _write_mask(images / "a_color.png", np.full((8, 8), 1))
    obj_b = np.zeros((8, 8), dtype=np.int64)
    obj_b[:2, :2] = 3
    _write_mask(images / "b_object.png", obj_b)
    _write_mask(images / "b_material.png", np.full((8, 8), 400))
    # index.csv with the categories in another order than the README's
    header = ["image", "split", "ih", "iw", "sh", "sw", "scene", "part", "texture", "material", "object", "color"]
    _write_csv(folder / "index.csv", header, [
        ["ade20k/a.jpg", "val", 16, 16, 8, 8, "500;501", "ade20k/a_part_1.png;ade20k/a_part_2.png", "", "",
         "ade20k/a_object.png", "ade20k/a_color.png"],
        ["ade20k/b.jpg", "val", 16, 16, 8, 8, "", "", "600", "ade20k/b_material.png", "ade20k/b_object.png", ""],
        ["ade20k/c.jpg", "train", 16, 16, 8, 8, "501", "", "", "", "", ""],
    ])  # fmt: skip
    _write_csv(folder / "label.csv", ["number", "name", "category", "frequency", "coverage", "syns"],
               [[n, name, cat, 1, 0.5, f"{name};{name}s" if n == 3 else ""] for n, name, cat in LABELS])  # fmt: skip
    cats = {"color": (1, 2), "object": (3, 300), "part": (301, 302), "material": (400, 400),
            "scene": (500, 501), "texture": (600, 600)}  # fmt: skip
    _write_csv(folder / "category.csv", ["name", "first", "last", "count", "frequency"],
               [[c, a, b, 1, 1] for c, (a, b) in cats.items()])  # fmt: skip
    for c in cats:
        members = [(n, name) for n, name, cat in LABELS if cat.startswith(c + "(")]
        _write_csv(folder / f"c_{c}.csv", ["code", "number", "name", "frequency", "coverage"],
                   [[code + 1, n, name, 1, 0.5] for code, (n, name) in enumerate(members)])  # fmt: skip
    return root


def test_decode_mask_uses_red_plus_256_green():
    rgb = np.array([[[44, 1, 7], [3, 0, 0]], [[0, 2, 0], [255, 255, 0]]], dtype=np.uint8)
    assert decode_mask(rgb).tolist() == [[300, 3], [512, 65535]]


def test_broden_tables_are_parsed(broden_root):
    b = Broden(broden_root)
    assert len(b) == 3
    assert b.labels[300].name == "cat" and dict(b.labels[301].categories) == {"part": 2}
    assert b.labels[3].synonyms == ("dog", "dogs") and b.labels[0].name == "-"
    assert b.categories["scene"] == (500, 501)
    assert dict(b.category_codes["object"]) == {1: 3, 2: 300}
    a = b.records[0]
    assert a.annotations["scene"] == (500, 501)  # multi-valued cell, whole-image labels as ints
    assert a.annotations["part"] == ("ade20k/a_part_1.png", "ade20k/a_part_2.png")
    assert a.image_size == (16, 16) and a.mask_size == (8, 8)


def test_broden_concepts_per_image(broden_root):
    b = Broden(broden_root)
    assert b.concepts(0) == {1, 3, 300, 301, 302, 500, 501}
    assert b.concepts(1) == {3, 400, 600}
    assert b.concepts(2) == {501}
    assert b.concepts(0, ["object"]) == {3, 300}
    assert b.masks(0, "part").shape == (2, 8, 8) and b.masks(0, "scene").shape == (0, 8, 8)
    assert b.dominant_concept(0) == 300 and b.dominant_concept(1) == 3 and b.dominant_concept(2) == 0
    assert b.image(0).shape == (3, 16, 16)


def test_load_broden_as_imageset(broden_root):
    s = load("broden", "val", root=broden_root, image_size=24)
    assert s.images.shape == (2, 3, 24, 24) and s.labels.tolist() == [300, 3]
    assert s.class_names[300] == "cat"


def test_broden_errors(tmp_path, broden_root):
    with pytest.raises(DataNotFoundError, match="data_scripts broden"):
        Broden(tmp_path)
    with pytest.raises(ValueError, match="category"):
        Broden(broden_root).masks(0, "nonsense")
    with pytest.raises(ValueError, match="split"):
        load("broden", "test", root=broden_root)
