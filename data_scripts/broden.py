"""Fetch and prepare Broden (``broden1_224``, NetDissect) under the data root.

Result: ``<root>/broden1_224/`` with ``index.csv``, ``label.csv``, ``category.csv``,
``c_*.csv`` and ``images/`` -- what :mod:`advinterp_lib.data.broden` reads.

Steps:

1. already prepared (a stamp beside ``index.csv``): nothing to do;
2. the zip: a local copy given with ``--archive``, or ``<root>/broden1_224.zip`` left by
   an earlier run, or downloaded from :data:`BRODEN_URL` (about 1 GB) into a
   temporary name; the received size is checked against the server's
   ``Content-Length`` and the MD5 against :data:`BRODEN_MD5`; a mismatch deletes
   the download and raises :class:`ChecksumMismatchError`;
3. safe extraction (:func:`data_scripts.archives.safe_extract`: no absolute paths,
   no ``..``, no links) into a staging folder, resumable (files already there with
   the right size are kept), then moved into place in one rename.

About the checksum: NetDissect publishes no checksum for the zip.
:data:`BRODEN_MD5` is the one a public reproduction script checks
(``check broden1_224.zip be13c292...``); it could not be confirmed here (no
network). If the first real download disagrees, the error names both values;
``--md5 none`` skips the check, and the value should then be corrected here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from advinterp_lib.data.broden import FOLDER, broden_dir
from data_scripts.archives import archive_members, safe_extract
from data_scripts.files import ChecksumMismatchError, atomic_write_text, replace_folder, temp_path_beside
from data_scripts.imagenet import md5_of  # (files.py, the shared home, has SHA-256 only)

NAME = "broden"
BRODEN_URL = "http://netdissect.csail.mit.edu/data/broden1_224.zip"
#: MD5 of broden1_224.zip as checked by a public NetDissect reproduction script (see above).
BRODEN_MD5 = "be13c292eaef3300da03f8d0e48eab1c"
STAMP = ".advinterp-prepared.json"
_REQUIRED = ("index.csv", "label.csv", "category.csv")


def is_prepared(root: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``<root>/broden1_224`` holds a complete preparation (its stamp and CSVs)."""
    folder = broden_dir(root)
    return (folder / STAMP).is_file() and all((folder / name).is_file() for name in _REQUIRED)


def download(
    url: str,
    dst: Path,
    *,
    expected_md5: str | None,
    expected_size: int | None = None,
    log: Callable[[str], None] = print,
) -> str:
    """Download ``url`` to ``dst`` through a temporary file; check size and MD5.

    The size is checked against ``expected_size`` when given, else against the
    server's ``Content-Length`` (a cut connection is caught either way); ``dst`` only
    appears when both checks pass.

    Returns:
        The MD5 of the downloaded bytes.

    Raises:
        ChecksumMismatchError: wrong size or MD5 (nothing is left behind).
        OSError: network or file errors (urllib.error.URLError is one).
    """
    tmp = temp_path_beside(dst)
    digest, received = hashlib.md5(), 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            announced = response.headers.get("Content-Length")
            size = expected_size if expected_size is not None else (int(announced) if announced else None)
            log(f"{NAME}: downloading {url} ({'unknown size' if size is None else f'{size / 1e6:.0f} MB'})")
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
        if size is not None and received != size:
            raise ChecksumMismatchError(f"{url}: received {received} bytes, expected {size}; download incomplete")
        actual = digest.hexdigest()
        if expected_md5 is not None and actual != expected_md5:
            raise ChecksumMismatchError(
                f"{url}: MD5 is {actual}, expected {expected_md5}; the download is corrupt or not the expected release"
            )
        os.replace(tmp, dst)
        return actual
    finally:
        tmp.unlink(missing_ok=True)


def fetch_broden(
    root: str | os.PathLike[str] | None = None,
    *,
    archive: str | os.PathLike[str] | None = None,
    url: str = BRODEN_URL,
    expected_md5: str | None = BRODEN_MD5,
    download_allowed: bool = True,
    keep_archive: bool = False,
    log: Callable[[str], None] = print,
) -> str:
    """Make ``broden1_224`` available under ``root`` (see the module docstring).

    Args:
        root: the data root; None means ``roots.data_root()``.
        archive: a local ``broden1_224.zip`` to use instead of downloading.
        url: where to download from.
        expected_md5: the zip's MD5 (None: not checked).
        download_allowed: may download when no archive is at hand.
        keep_archive: keep the downloaded zip after extraction (default: delete it).

    Returns:
        ``"already prepared"``, ``"archive"`` or ``"download"``.

    Raises:
        ChecksumMismatchError: the archive's size or MD5 is wrong; nothing prepared.
        UnsafeArchiveError: an archive member would escape the data root.
        DataNotFoundError: no archive and downloading is disabled or failed.
        ValueError: the archive holds no ``broden1_224/index.csv``.
    """
    root = roots.data_root() if root is None else Path(root)
    target = broden_dir(root)
    if is_prepared(root):
        log(f"{NAME}: already prepared at {target}")
        return "already prepared"
    root.mkdir(parents=True, exist_ok=True)
    leftover = root / f"{FOLDER}.zip"
    source = "archive"
    if archive is not None:
        zip_path = Path(archive)
        if not zip_path.is_file():
            raise DataNotFoundError(f"Broden archive not found: {zip_path}")
    elif leftover.is_file():
        zip_path = leftover
    elif download_allowed:
        try:
            download(url, leftover, expected_md5=expected_md5, log=log)
        except ChecksumMismatchError:
            raise
        except OSError as err:
            raise DataNotFoundError(
                f"Broden: download from {url} failed ({type(err).__name__}: {err}). Download "
                f"{FOLDER}.zip elsewhere and run `python -m data_scripts broden --archive {FOLDER}.zip`."
            ) from None
        zip_path, source, expected_md5 = leftover, "download", None  # just checked
    else:
        raise DataNotFoundError(
            f"Broden is not prepared under {target} and downloading is disabled; run "
            f"`python -m data_scripts broden` (or pass --archive {FOLDER}.zip)."
        )
    if expected_md5 is not None:
        actual = md5_of(zip_path)
        if actual != expected_md5:
            raise ChecksumMismatchError(
                f"{zip_path}: MD5 is {actual}, expected {expected_md5}; the file is corrupt or not the expected release"
            )
    names = archive_members(zip_path)  # checks every member before anything is written
    if f"{FOLDER}/index.csv" not in names:
        raise ValueError(f"{zip_path}: no {FOLDER}/index.csv inside; not the broden1_224 archive")
    staging = root / f".{FOLDER}-staging"
    log(f"{NAME}: extracting {len(names)} files from {zip_path}")
    safe_extract(zip_path, staging)
    atomic_write_text(staging / FOLDER / STAMP, json.dumps({"complete": True, "files": len(names)}, indent=1))
    replace_folder(staging / FOLDER, target)
    shutil.rmtree(staging, ignore_errors=True)
    if zip_path == leftover and not keep_archive:
        leftover.unlink(missing_ok=True)
    log(f"{NAME}: prepared at {target}")
    return source


__all__ = ["BRODEN_MD5", "BRODEN_URL", "download", "fetch_broden", "is_prepared"]
