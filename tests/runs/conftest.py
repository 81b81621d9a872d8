"""Shared by the ImageNet tests of runs/: a miniature ILSVRC-2012 val, prepared for real."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from advinterp_lib import roots
from data_scripts.imagenet import prepare_imagenet_val


def _miniature_val(tmp_path: Path, wnids: list[str], n: int, size: tuple[int, int]) -> Path:
    """``n`` random JPEGs in the official val tar layout, labelled round-robin with ``wnids``,
    run through ``prepare_imagenet_val`` into ``tmp_path/data`` (with the real WordNet
    linked beside them); returns that data root. Skips when WordNet is not prepared."""
    wordnet = roots.data_root() / "nltk_data"
    if not (wordnet / "corpora" / "wordnet").is_dir():
        pytest.skip("WordNet is not prepared (python -m data_scripts wordnet)")
    rng = np.random.default_rng(0)
    archive = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(archive, "w") as tf:
        for i in range(n):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(buf, "JPEG")
            info = tarfile.TarInfo(f"ILSVRC2012_val_{i + 1:08d}.JPEG")
            info.size = len(buf.getvalue())
            tf.addfile(info, io.BytesIO(buf.getvalue()))
    (tmp_path / "labels.txt").write_text("\n".join(wnids[i % len(wnids)] for i in range(n)))
    data = tmp_path / "data"
    prepare_imagenet_val(archive, tmp_path / "labels.txt", data, expected_md5=None, log=lambda s: None)
    (data / "nltk_data").symlink_to(wordnet)
    return data


@pytest.fixture()
def miniature_val(tmp_path):
    """``miniature_val(wnids, n, size=(h, w)) -> data root`` (see :func:`_miniature_val`)."""
    return lambda wnids, n, size=(50, 70): _miniature_val(tmp_path, wnids, n, size)
