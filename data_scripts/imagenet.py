"""Prepare the ILSVRC-2012 validation images under the data root, one folder per class.

ImageNet cannot be downloaded by a script (image-net.org asks each user to accept its
terms and log in), so the user brings two files:

- ``ILSVRC2012_img_val.tar``, the 50,000 validation JPEGs in one flat folder
  (MD5 ``29b22e2961454d5413ddabcf34fc5622``, the value torchvision checks);
- the ground truth, any of:

  * the devkit ``ILSVRC2012_devkit_t12.tar.gz`` (``data/meta.mat`` maps its
    ``ILSVRC2012_ID`` 1..1000 to wnids; ``data/ILSVRC2012_validation_ground_truth.txt``
    gives one ID per image, in file-name order; needs scipy);
  * the widely used val-labels text file, one wnid per line in file-name order
    (``imagenet_2012_validation_synset_labels.txt``), or lines ``FILENAME WNID``;
  * Kaggle's ``LOC_val_solution.csv`` (``ImageId,PredictionString``; the first token
    of the prediction string is the wnid).

Result: ``<root>/imagenet/val/<wnid>/ILSVRC2012_val_NNNNNNNN.JPEG`` (what
:mod:`advinterp_lib.data.imagenet` reads) and a stamp ``.advinterp-prepared.json``
recording the archive's MD5 and the image count.

Resumable: each JPEG is written to a temporary name and moved into place, and a file
already present with the member's size is skipped, so a killed run continues where it
stopped; the stamp is written last. Every archive member is checked before anything
is written (:mod:`data_scripts.archives`): no absolute paths, ``..``, or links.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from advinterp_lib.data.imagenet import WNIDS, val_dir
from data_scripts.archives import ArchiveLimits, archive_members, check_member_path, safe_extract
from data_scripts.files import ChecksumMismatchError, atomic_write_text

NAME = "imagenet"
ARCHIVE_NAME = "ILSVRC2012_img_val.tar"
#: MD5 of ``ILSVRC2012_img_val.tar`` (torchvision.datasets.imagenet.ARCHIVE_META).
ARCHIVE_MD5 = "29b22e2961454d5413ddabcf34fc5622"
#: MD5 of ``ILSVRC2012_devkit_t12.tar.gz`` (same source).
DEVKIT_MD5 = "fa75699e90414af021442c21a62c3abf"
NUM_VAL_IMAGES = 50_000
#: What the two archives may hold (their known contents with a margin; see data_scripts.archives):
#: the val tar is 50,000 JPEGs, 6,744,924,160 bytes; the devkit 2.5 MB compressed.
VAL_LIMITS = ArchiveLimits(
    max_members=51_000, max_bytes=7_500_000_000, what="ILSVRC2012_img_val.tar (50,000 JPEGs, 6.7 GB)"
)
DEVKIT_LIMITS = ArchiveLimits(max_members=1_000, max_bytes=100_000_000, what="the ILSVRC-2012 devkit (a few MB)")
STAMP = ".advinterp-prepared.json"

_VAL_FILE = re.compile(r"^(?:.*/)?(ILSVRC2012_val_(\d{8}))\.JPEG$")
_WNID = re.compile(r"^n\d{8}$")


def md5_of(path: str | os.PathLike[str]) -> str:
    """MD5 (hex) of the file at ``path``, read in 1 MiB chunks (6.3 GB: about a minute)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(path: Path, expected: str) -> None:
    """Raise ChecksumMismatchError naming ``path`` unless its MD5 is ``expected``."""
    actual = md5_of(path)
    if actual != expected:
        raise ChecksumMismatchError(
            f"{path}: MD5 is {actual}, expected {expected}; the file is corrupt, incomplete, "
            "or not the expected release"
        )


def _check_wnid(wnid: str, where: str) -> str:
    if not _WNID.match(wnid) or wnid not in _WNID_SET:
        raise ValueError(f"{where}: {wnid!r} is not one of the 1,000 ILSVRC-2012 wnids")
    return wnid


_WNID_SET = frozenset(WNIDS)


def _by_position(wnids: list[str]) -> dict[str, str]:
    return {f"ILSVRC2012_val_{i + 1:08d}": w for i, w in enumerate(wnids)}


def _read_devkit(path: Path, expected_md5: str | None) -> dict[str, str]:
    import scipy.io

    if expected_md5 is not None:
        check_md5(path, expected_md5)
    names = archive_members(path, limits=DEVKIT_LIMITS)  # checks every member first
    meta_name = next((n for n in names if n.endswith("data/meta.mat")), None)
    truth_name = next((n for n in names if n.endswith("data/ILSVRC2012_validation_ground_truth.txt")), None)
    if meta_name is None or truth_name is None:
        raise ValueError(f"{path}: not an ILSVRC-2012 devkit (needs data/meta.mat and the ground-truth txt)")
    with tarfile.open(path) as tf:
        meta_bytes = tf.extractfile(meta_name).read()
        truth = tf.extractfile(truth_name).read().decode().split()
    synsets = scipy.io.loadmat(io.BytesIO(meta_bytes), squeeze_me=True)["synsets"]
    id_to_wnid = {}
    for record in synsets:  # fields: ILSVRC2012_ID, WNID, words, gloss, num_children, ...
        if int(record["num_children"]) == 0:  # the leaves are the 1,000 classes
            id_to_wnid[int(record["ILSVRC2012_ID"])] = str(record["WNID"])
    try:
        return _by_position([_check_wnid(id_to_wnid[int(t)], str(path)) for t in truth])
    except KeyError as err:
        raise ValueError(f"{path}: ground truth names ILSVRC2012_ID {err} that meta.mat lacks") from None


def read_val_labels(path: str | os.PathLike[str], *, devkit_md5: str | None = DEVKIT_MD5) -> dict[str, str]:
    """The ground truth as ``{"ILSVRC2012_val_00000001": wnid, ...}`` from any of the
    formats in the module docstring (the format is recognised from the content).

    Args:
        devkit_md5: the devkit archive's expected MD5 (None: not checked).

    Raises:
        ValueError: unrecognised format, or a wnid that is not an ILSVRC-2012 class.
        ChecksumMismatchError: a devkit archive with the wrong MD5.
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"val labels file not found: {path}")
    if tarfile.is_tarfile(path):
        return _read_devkit(path, devkit_md5)
    text = path.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty val labels file")
    if lines[0].replace(" ", "").lower().startswith("imageid,"):
        labels = {}
        for row in csv.DictReader(io.StringIO(text)):
            image = row.get("ImageId") or row.get("imageid")
            prediction = (row.get("PredictionString") or "").split()
            if not image or not prediction:
                raise ValueError(f"{path}: a row without ImageId or PredictionString: {row}")
            labels[Path(image).stem] = _check_wnid(prediction[0], str(path))
        return labels
    fields = [line.split() for line in lines]
    if all(len(f) == 1 for f in fields):
        return _by_position([_check_wnid(f[0], str(path)) for f in fields])
    if all(len(f) == 2 for f in fields):
        return {Path(f[0]).stem: _check_wnid(f[1], str(path)) for f in fields}
    raise ValueError(
        f"{path}: unrecognised val labels format; expected one wnid per line, 'FILENAME WNID' "
        "lines, LOC_val_solution.csv, or the devkit archive"
    )


def is_prepared(root: str | os.PathLike[str] | None = None) -> bool:
    """Whether a complete preparation's stamp is under ``val_dir(root)``."""
    try:
        stamp = json.loads((val_dir(root) / STAMP).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    return bool(stamp.get("complete"))


def prepare_imagenet_val(
    archive: str | os.PathLike[str] | None = None,
    labels: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    *,
    expected_md5: str | None = ARCHIVE_MD5,
    devkit_md5: str | None = DEVKIT_MD5,
    log: Callable[[str], None] = print,
) -> str:
    """Sort ``archive``'s JPEGs into ``<root>/imagenet/val/<wnid>/`` using ``labels``.

    Args:
        archive: ``ILSVRC2012_img_val.tar`` (the user's copy).
        labels: the ground truth (devkit archive, val-labels text file, or
            ``LOC_val_solution.csv``; see :func:`read_val_labels`).
        root: the data root; None means ``roots.data_root()``.
        expected_md5: the archive's MD5 (default: the official one; None skips the
            check, e.g. for a copy you trust and want to skip a minute of hashing).
        devkit_md5: the devkit's MD5 when ``labels`` is the devkit.
        log: receives one line per step.

    Returns:
        ``"already prepared"`` or ``"prepared"``.

    Raises:
        DataNotFoundError: not prepared, and ``archive``/``labels`` not given or missing.
        ChecksumMismatchError: the archive (or devkit) has the wrong MD5; nothing written.
        UnsafeArchiveError: an archive member with an unsafe path or a link.
        ValueError: a JPEG without ground truth, or a bad labels file.
    """
    root = roots.data_root() if root is None else Path(root)
    target = val_dir(root)
    if is_prepared(root):
        log(f"{NAME}: already prepared at {target}")
        return "already prepared"
    if archive is None or labels is None or not Path(archive).is_file() or not Path(labels).is_file():
        raise DataNotFoundError(
            f"ImageNet val is not prepared under {target}. Download {ARCHIVE_NAME} and the devkit "
            f"(or a val-labels file) from https://image-net.org (login required), then run "
            f"`python -m data_scripts imagenet --archive {ARCHIVE_NAME} --labels ILSVRC2012_devkit_t12.tar.gz`"
            + ("" if archive is None else f" (given: archive={archive}, labels={labels})")
        )
    archive, labels = Path(archive), Path(labels)
    if expected_md5 is not None:
        log(f"{NAME}: checking the MD5 of {archive}")
        check_md5(archive, expected_md5)
    truth = read_val_labels(labels, devkit_md5=devkit_md5)

    def destination(name: str) -> Path | None:
        match = _VAL_FILE.match(str(check_member_path(name, archive)))
        if match is None:
            return None  # not a validation JPEG (a folder entry, a README): ignore it
        stem = match.group(1)
        if stem not in truth:
            raise ValueError(f"{archive}: {name} has no ground truth in {labels}")
        return target / truth[stem] / f"{stem}.JPEG"

    images = [n for n in archive_members(archive, limits=VAL_LIMITS) if _VAL_FILE.match(n)]
    if not images:
        raise ValueError(f"{archive}: no ILSVRC2012_val_*.JPEG files in the archive")
    for name in images:
        destination(name)  # every JPEG must have a label before anything is written
    log(f"{NAME}: sorting {len(images)} images into {target}")
    target.mkdir(parents=True, exist_ok=True)
    written = safe_extract(archive, target, destination=destination, limits=VAL_LIMITS)
    if len(images) != NUM_VAL_IMAGES:
        log(f"{NAME}: note: {len(images)} images, not the {NUM_VAL_IMAGES} of the full validation set")
    atomic_write_text(
        target / STAMP,
        json.dumps({"complete": True, "archive_md5": expected_md5, "images": len(images)}, indent=1),
    )
    log(f"{NAME}: prepared {len(images)} images at {target} ({written} written, the rest were already there)")
    return "prepared"


__all__ = ["ARCHIVE_MD5", "DEVKIT_MD5", "check_md5", "is_prepared", "md5_of", "prepare_imagenet_val", "read_val_labels"]
