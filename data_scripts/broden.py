"""Fetch and prepare Broden (``broden1_224``, NetDissect) under the data root.

Result: ``<root>/broden1_224/`` with ``index.csv``, ``label.csv``, ``category.csv``,
``c_*.csv`` and ``images/`` -- what :mod:`advinterp_lib.data.broden` reads.

Steps:

1. already prepared (a stamp beside ``index.csv``): nothing to do;
2. the zip: a local copy given with ``--archive``, or ``<root>/broden1_224.zip`` left by
   an earlier run, or downloaded over https from :data:`BRODEN_URL` (about 1 GB)
   into a temporary name; the received size is checked against the server's
   ``Content-Length`` and the MD5 against :data:`BRODEN_MD5`; a mismatch deletes
   the download and raises :class:`ChecksumMismatchError`. The checksum is
   mandatory, for a download and for a local ``--archive`` alike: only the loudly
   named ``insecure_skip_checksum=True`` (``--insecure-skip-checksum``) skips it;
   plain ``http://`` is refused;
3. safe extraction (:func:`data_scripts.archives.safe_extract`: no absolute paths,
   no ``..``, no links, at most :data:`BRODEN_LIMITS` members and bytes) into a
   staging folder, resumable (files already there with the right size are kept),
   then moved into place in one rename.

About the checksum: NetDissect publishes no checksum for the zip.
:data:`BRODEN_MD5` is the one a public reproduction script checks
(``check broden1_224.zip be13c292...``); it could not be confirmed here (no
network). If the first real download disagrees, the error names both values;
``--insecure-skip-checksum`` skips the check, and the value should then be corrected here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from advinterp_lib.data.broden import FOLDER, broden_dir
from data_scripts.archives import ArchiveLimits, archive_members, safe_extract
from data_scripts.files import ChecksumMismatchError, atomic_write_text, replace_folder, temp_path_beside
from data_scripts.imagenet import md5_of  # (files.py, the shared home, has SHA-256 only)

NAME = "broden"
BRODEN_URL = "https://netdissect.csail.mit.edu/data/broden1_224.zip"
#: MD5 of broden1_224.zip as checked by a public NetDissect reproduction script (see above).
BRODEN_MD5 = "be13c292eaef3300da03f8d0e48eab1c"
#: What broden1_224.zip may hold: NetDissect's 63,305 images with their segmentation
#: masks (about 1 GB), with a wide margin (the exact counts could not be confirmed here).
BRODEN_LIMITS = ArchiveLimits(max_members=1_000_000, max_bytes=8 * 2**30, what="broden1_224.zip (about 1 GB)")
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
    insecure_skip_checksum: bool = False,
    download_allowed: bool = True,
    keep_archive: bool = False,
    log: Callable[[str], None] = print,
) -> str:
    """Make ``broden1_224`` available under ``root`` (see the module docstring).

    Args:
        root: the data root; None means ``roots.data_root()``.
        archive: a local ``broden1_224.zip`` to use instead of downloading.
        url: where to download from: ``https://`` (or ``file://`` for a mirror on disk).
        expected_md5: the zip's MD5; None only together with ``insecure_skip_checksum``.
        insecure_skip_checksum: use the zip without checking its MD5 (a loud opt-out
            for when :data:`BRODEN_MD5` turns out wrong; the log says so).
        download_allowed: may download when no archive is at hand.
        keep_archive: keep the downloaded zip after extraction (default: delete it).

    Returns:
        ``"already prepared"``, ``"archive"`` or ``"download"``.

    Raises:
        ChecksumMismatchError: the archive's size or MD5 is wrong; nothing prepared.
        UnsafeArchiveError: an archive member would escape the data root.
        DataNotFoundError: no archive and downloading is disabled or failed.
        ValueError: the archive holds no ``broden1_224/index.csv``; ``expected_md5`` is
            None without ``insecure_skip_checksum``; a URL that is not https/file.
    """
    if insecure_skip_checksum is not True and insecure_skip_checksum is not False:
        raise TypeError(f"insecure_skip_checksum must be a bool, got {type(insecure_skip_checksum).__name__}")
    if expected_md5 is None and not insecure_skip_checksum:
        raise ValueError(
            "Broden's MD5 check is mandatory: expected_md5=None needs insecure_skip_checksum=True "
            "(command line: --insecure-skip-checksum) to use the zip unchecked"
        )
    if insecure_skip_checksum:
        expected_md5 = None
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
        if urllib.parse.urlsplit(url).scheme not in ("https", "file"):
            raise ValueError(f"Broden url must be https:// (or file://), got {url!r}")
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
    if insecure_skip_checksum:
        log(f"{NAME}: WARNING: --insecure-skip-checksum: using {zip_path} WITHOUT checking its MD5")
    if expected_md5 is not None:
        actual = md5_of(zip_path)
        if actual != expected_md5:
            raise ChecksumMismatchError(
                f"{zip_path}: MD5 is {actual}, expected {expected_md5}; the file is corrupt or not the expected release"
            )
    names = archive_members(zip_path, limits=BRODEN_LIMITS)  # checks every member before anything is written
    if f"{FOLDER}/index.csv" not in names:
        raise ValueError(f"{zip_path}: no {FOLDER}/index.csv inside; not the broden1_224 archive")
    staging = root / f".{FOLDER}-staging"
    log(f"{NAME}: extracting {len(names)} files from {zip_path}")
    safe_extract(zip_path, staging, limits=BRODEN_LIMITS)
    atomic_write_text(staging / FOLDER / STAMP, json.dumps({"complete": True, "files": len(names)}, indent=1))
    replace_folder(staging / FOLDER, target)
    shutil.rmtree(staging, ignore_errors=True)
    if zip_path == leftover and not keep_archive:
        leftover.unlink(missing_ok=True)
    log(f"{NAME}: prepared at {target}")
    return source


__all__ = ["BRODEN_LIMITS", "BRODEN_MD5", "BRODEN_URL", "download", "fetch_broden", "is_prepared"]
