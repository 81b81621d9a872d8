"""data_scripts.imagenet / broden / archives on miniature copies in the exact formats.

A miniature ILSVRC2012_img_val.tar (flat ILSVRC2012_val_NNNNNNNN.JPEG members) and its
ground truth in each supported format go through prepare_imagenet_val; a miniature
broden1_224.zip goes through fetch_broden (from a file:// URL, so the real download
code runs); hostile archives are refused before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from advinterp_lib.data import DataNotFoundError
from advinterp_lib.data.imagenet import WNIDS, val_dir
from data_scripts.archives import UnsafeArchiveError, archive_members, safe_extract
from data_scripts.broden import fetch_broden
from data_scripts.files import ChecksumMismatchError
from data_scripts.imagenet import md5_of, prepare_imagenet_val, read_val_labels

# 12 images over 4 real classes: tench (0), goldfish (1), tabby (281), toilet tissue (999)
CLASSES = ["n01440764", "n01443537", "n02123045", "n15075141"]
TRUTH = [CLASSES[i % 4] for i in range(12)]


def _jpeg(seed: int, size=(40, 30)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def make_val_archive(folder: Path) -> tuple[Path, Path]:
    """A flat tar like ILSVRC2012_img_val.tar and a one-wnid-per-line labels file."""
    archive = folder / "ILSVRC2012_img_val.tar"
    with tarfile.open(archive, "w") as tf:
        for i in range(12):
            _add(tf, f"ILSVRC2012_val_{i + 1:08d}.JPEG", _jpeg(i))
    labels = folder / "imagenet_2012_validation_synset_labels.txt"
    labels.write_text("\n".join(TRUTH) + "\n")
    return archive, labels


def test_prepare_imagenet_val_sorts_images_into_wnid_folders(tmp_path):
    archive, labels = make_val_archive(tmp_path)
    root = tmp_path / "data"
    log: list[str] = []
    assert prepare_imagenet_val(archive, labels, root, expected_md5=md5_of(archive), log=log.append) == "prepared"
    for i, wnid in enumerate(TRUTH):
        path = val_dir(root) / wnid / f"ILSVRC2012_val_{i + 1:08d}.JPEG"
        assert path.read_bytes() == _jpeg(i)
    assert sorted(p.name for p in val_dir(root).iterdir() if p.is_dir()) == CLASSES
    # a second run finds the stamp and does nothing
    assert prepare_imagenet_val(archive, labels, root, expected_md5=md5_of(archive)) == "already prepared"


def test_prepare_imagenet_val_resumes_after_a_kill(tmp_path):
    archive, labels = make_val_archive(tmp_path)
    root = tmp_path / "data"
    prepare_imagenet_val(archive, labels, root, expected_md5=None)
    # simulate a kill: stamp gone, one file missing, one truncated
    (val_dir(root) / ".advinterp-prepared.json").unlink()
    (val_dir(root) / TRUTH[0] / "ILSVRC2012_val_00000001.JPEG").unlink()
    (val_dir(root) / TRUTH[1] / "ILSVRC2012_val_00000002.JPEG").write_bytes(b"trunc")
    prepare_imagenet_val(archive, labels, root, expected_md5=None)
    assert (val_dir(root) / TRUTH[0] / "ILSVRC2012_val_00000001.JPEG").read_bytes() == _jpeg(0)
    assert (val_dir(root) / TRUTH[1] / "ILSVRC2012_val_00000002.JPEG").read_bytes() == _jpeg(1)


def test_prepare_imagenet_val_checks_the_archive_md5(tmp_path):
    archive, labels = make_val_archive(tmp_path)
    with pytest.raises(ChecksumMismatchError, match="MD5"):
        prepare_imagenet_val(archive, labels, tmp_path / "data")  # the official MD5: not this file
    assert not val_dir(tmp_path / "data").exists()


def test_prepare_imagenet_val_without_files_names_the_command(tmp_path):
    with pytest.raises(DataNotFoundError, match="python -m data_scripts imagenet"):
        prepare_imagenet_val(None, None, tmp_path)


def test_val_label_formats_agree(tmp_path):
    _, plain = make_val_archive(tmp_path)
    expected = {f"ILSVRC2012_val_{i + 1:08d}": w for i, w in enumerate(TRUTH)}
    assert read_val_labels(plain) == expected
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"ILSVRC2012_val_{i + 1:08d}.JPEG {w}\n" for i, w in enumerate(TRUTH)))
    assert read_val_labels(pairs) == expected
    kaggle = tmp_path / "LOC_val_solution.csv"
    kaggle.write_text("ImageId,PredictionString\n" + "".join(
        f"ILSVRC2012_val_{i + 1:08d},{w} 1 2 30 40 {w} 5 6 7 8\n" for i, w in enumerate(TRUTH)))  # fmt: skip
    assert read_val_labels(kaggle) == expected


def test_devkit_ground_truth_maps_ilsvrc_ids_to_wnids(tmp_path):
    """The devkit numbers classes by ILSVRC2012_ID (not sorted-wnid order) in meta.mat;
    non-leaf synsets (num_children > 0) are not classes."""
    import scipy.io

    ids = {"n15075141": 1, "n01440764": 7, "n02123045": 3, "n01443537": 1000}
    dtype = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("gloss", "O"), ("num_children", "O")]
    rows = [(i, w, w, "", 0) for w, i in ids.items()] + [(1001, "n00001740", "entity", "", 5)]
    synsets = np.array(rows, dtype=dtype)
    mat = io.BytesIO()
    scipy.io.savemat(mat, {"synsets": synsets})
    devkit = tmp_path / "ILSVRC2012_devkit_t12.tar.gz"
    with tarfile.open(devkit, "w:gz") as tf:
        _add(tf, "ILSVRC2012_devkit_t12/data/meta.mat", mat.getvalue())
        _add(tf, "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt",
             "".join(f"{ids[w]}\n" for w in TRUTH).encode())  # fmt: skip
    got = read_val_labels(devkit, devkit_md5=None)
    assert got == {f"ILSVRC2012_val_{i + 1:08d}": w for i, w in enumerate(TRUTH)}


def test_unknown_wnid_is_refused(tmp_path):
    bad = tmp_path / "labels.txt"
    bad.write_text("n99999999\n")
    with pytest.raises(ValueError, match="not one of the 1,000"):
        read_val_labels(bad)


def test_wnid_list_is_the_ilsvrc_2012_class_order():
    assert len(WNIDS) == len(set(WNIDS)) == 1000 and list(WNIDS) == sorted(WNIDS)
    assert WNIDS[0] == "n01440764" and WNIDS[281] == "n02123045" and WNIDS[999] == "n15075141"


# ----------------------------------------------------------------- hostile archives


def _hostile_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w") as tf:
        _add(tf, "broden1_224/index.csv", b"ok")
        if kind == "dotdot":
            _add(tf, "broden1_224/../../escaped.txt", b"evil")
        elif kind == "absolute":
            _add(tf, "/tmp/advinterp-absolute-escape.txt", b"evil")
        elif kind == "symlink":
            link = tarfile.TarInfo("broden1_224/images")
            link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
            tf.addfile(link)
            _add(tf, "broden1_224/images/x.png", b"evil")
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_tar_members_are_rejected_before_writing(tmp_path, kind):
    archive = _hostile_tar(tmp_path / f"{kind}.tar", kind)
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, target)
    assert not target.exists()  # nothing written, not even the safe first member
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "outside").exists()


@pytest.mark.parametrize("name", ["../escaped.txt", "/abs/escaped.txt", "a/../../escaped.txt"])
def test_unsafe_zip_members_are_rejected(tmp_path, name):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("broden1_224/index.csv", "ok")
        zf.writestr(zipfile.ZipInfo(name), "evil")
    with pytest.raises(UnsafeArchiveError):
        archive_members(archive)
    with pytest.raises(UnsafeArchiveError):
        fetch_broden(tmp_path / "data", archive=archive, expected_md5=None, insecure_skip_checksum=True)
    assert not (tmp_path / "data" / "broden1_224").exists()


# ----------------------------------------------------------------------- broden zip


def _tiny_broden_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("broden1_224/index.csv", "image,split,ih,iw,sh,sw,object\na.jpg,val,8,8,8,8,a_object.png\n")
        zf.writestr("broden1_224/label.csv", "number,name,category,frequency,coverage,syns\n1,dog,object(1),1,1.0,\n")
        zf.writestr("broden1_224/category.csv", "name,first,last,count,frequency\nobject,1,1,1,1\n")
        zf.writestr("broden1_224/c_object.csv", "code,number,name,frequency,coverage\n1,1,dog,1,1.0\n")
        zf.writestr("broden1_224/images/a.jpg", _jpeg(0, (8, 8)))
    return path


def test_fetch_broden_downloads_checks_and_extracts(tmp_path):
    archive = _tiny_broden_zip(tmp_path / "broden1_224.zip")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    root = tmp_path / "data"
    assert fetch_broden(root, url=archive.as_uri(), expected_md5=md5, log=lambda s: None) == "download"
    assert (root / "broden1_224" / "index.csv").is_file() and (root / "broden1_224" / "images" / "a.jpg").is_file()
    assert not (root / "broden1_224.zip").exists()  # the download is removed after extraction
    assert fetch_broden(root, url="http://unused.invalid/", log=lambda s: None) == "already prepared"


def test_fetch_broden_rejects_a_tampered_download(tmp_path):
    archive = _tiny_broden_zip(tmp_path / "broden1_224.zip")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    archive.write_bytes(bytes(data))
    root = tmp_path / "data"
    with pytest.raises(ChecksumMismatchError, match="MD5"):
        fetch_broden(root, url=archive.as_uri(), expected_md5=md5, log=lambda s: None)
    assert not (root / "broden1_224").exists() and not (root / "broden1_224.zip").exists()
    assert not [p for p in root.iterdir() if ".tmp-" in p.name]  # no temporary file left


def test_fetch_broden_without_source_names_the_command(tmp_path):
    with pytest.raises(DataNotFoundError, match="python -m data_scripts broden"):
        fetch_broden(tmp_path, download_allowed=False, log=lambda s: None)


def test_command_line_prepares_imagenet_and_broden(tmp_path):
    from data_scripts.__main__ import main

    archive, labels = make_val_archive(tmp_path)
    root = tmp_path / "data"
    argv = ["imagenet", "--root", str(root), "--archive", str(archive), "--labels", str(labels)]
    assert main(argv + ["--md5", md5_of(archive)]) == 0
    assert len(list(val_dir(root).glob("n*/*.JPEG"))) == 12
    assert main(["imagenet", "--root", str(tmp_path / "other")]) == 1  # nothing given: error, exit 1
    zipped = _tiny_broden_zip(tmp_path / "b.zip")
    assert main(["broden", "--root", str(root), "--archive", str(zipped), "--md5", "none"]) == 1  # needs the flag
    assert not (root / "broden1_224").exists()
    assert main(["broden", "--root", str(root), "--archive", str(zipped), "--insecure-skip-checksum"]) == 0
    assert (root / "broden1_224" / "label.csv").is_file()


# ----------------------------------------------------------------- broden: https, mandatory checksum


def test_broden_is_fetched_over_https_and_plain_http_is_refused(tmp_path):
    from data_scripts.broden import BRODEN_URL

    assert BRODEN_URL.startswith("https://")
    with pytest.raises(ValueError, match="https"):
        fetch_broden(tmp_path / "data", url="http://netdissect.csail.mit.edu/data/broden1_224.zip", log=lambda s: None)
    assert not (tmp_path / "data" / "broden1_224.zip").exists()


def test_broden_without_a_checksum_needs_the_loud_opt_out(tmp_path):
    archive = _tiny_broden_zip(tmp_path / "broden1_224.zip")
    root = tmp_path / "data"
    with pytest.raises(ValueError, match="insecure_skip_checksum"):
        fetch_broden(root, archive=archive, expected_md5=None, log=lambda s: None)
    with pytest.raises(ValueError, match="insecure_skip_checksum"):
        fetch_broden(root, url=archive.as_uri(), expected_md5=None, log=lambda s: None)
    assert not (root / "broden1_224").exists()
    log = []
    assert fetch_broden(root, archive=archive, insecure_skip_checksum=True, log=log.append) == "archive"
    assert any("WARNING" in line and "WITHOUT checking its MD5" in line for line in log)


def test_devkit_with_a_10_gib_header_is_refused_naming_it(tmp_path):
    devkit = tmp_path / "ILSVRC2012_devkit_t12.tar"
    info = tarfile.TarInfo("ILSVRC2012_devkit_t12/data/meta.mat")
    info.size = 10 * 2**30
    devkit.write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 512 + b"\0" * 1024)
    with pytest.raises(UnsafeArchiveError, match=r"ILSVRC2012_devkit_t12.tar: member .* declares 10.00 GiB.*devkit"):
        read_val_labels(devkit, devkit_md5=None)
