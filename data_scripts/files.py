"""File chores shared by the data scripts: hashing, atomic writes, decompression.

Every file a data script produces is written to a temporary name beside its final
path and moved into place with ``os.replace`` (atomic on one file system), so an
interrupted run never leaves a half-written file under the data root. Each helper
that writes returns the SHA-256 of what it wrote, computed while streaming, so a
caller can check the content before committing it.

Single files go through the library's one atomic-write path
(:mod:`advinterp_lib.atomic`); :func:`install_files` stages several files and moves
them into place together. A write that finds no room (disk full, quota, file-size
limit) raises :class:`~advinterp_lib.atomic.WriteFailedError` naming the path, the
space the files need and the space free, with nothing under the target changed.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from advinterp_lib.atomic import WriteFailedError, free_space
from advinterp_lib.atomic import atomic_write_text as _atomic_write_text

# errno values that mean "no room": a full disk, a quota, a file-size limit
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}

_CHUNK = 1 << 20  # 1 MiB: large enough to hash at disk speed, small enough for any RAM


class ChecksumMismatchError(ValueError):
    """A file's content is not what a known checksum says it must be."""


def sha256_of(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the file at ``path``, read in 1 MiB chunks.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, actual: str, expected: str) -> None:
    """Raise ChecksumMismatchError naming ``path`` unless ``actual == expected``."""
    if actual != expected:
        raise ChecksumMismatchError(
            f"{path}: SHA-256 is {actual}, expected {expected}; the file is corrupt or not the expected release"
        )


def temp_path_beside(path: Path) -> Path:
    """A fresh, unused name in ``path``'s folder for staging ``path``'s content.

    The name starts with a dot and contains ``.tmp-`` so a stray one (after a hard
    kill) is recognisable; it lives in the same folder so ``os.replace`` is atomic.
    """
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _copy_stream(src: BinaryIO, dst: BinaryIO) -> str:
    """Copy ``src`` to ``dst`` in chunks; fsync ``dst``; return SHA-256 of the bytes."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: src.read(_CHUNK), b""):
        digest.update(chunk)
        dst.write(chunk)
    dst.flush()
    os.fsync(dst.fileno())
    return digest.hexdigest()


def copy_file(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` (not atomically; use on a staging path). Returns the
    SHA-256 of the copied bytes."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        return _copy_stream(fin, fout)


def gunzip_file(src: Path, dst: Path) -> str:
    """Decompress the gzip file ``src`` into ``dst`` (not atomically; use on a
    staging path). Returns the SHA-256 of the decompressed bytes.

    Raises:
        gzip.BadGzipFile, EOFError: ``src`` is not a complete gzip stream.
    """
    with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
        return _copy_stream(fin, fout)


def output_size(src: Path, transfer: Callable[[Path, Path], str]) -> int:
    """The bytes ``transfer`` will write for ``src``: the decompressed size a gzip file
    records in its last four bytes (mod 2**32) for :func:`gunzip_file`, else its size."""
    if transfer is gunzip_file:
        with open(src, "rb") as f:
            f.seek(-4, os.SEEK_END)
            return int.from_bytes(f.read(4), "little")
    return Path(src).stat().st_size


def _megabytes(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 1e6:,.1f} MB"


def install_files(
    sources: Mapping[str, Path],
    folder: Path,
    *,
    transfer: Callable[[Path, Path], str] = copy_file,
    expected_sha256: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write several files into ``folder`` all-or-nothing.

    Each ``sources[name]`` is transferred (``copy_file``, ``gunzip_file`` or any
    ``(src, dst) -> sha256`` callable) to a staging name in ``folder`` and, when
    ``expected_sha256`` names it, checked. Only when every file has been staged and
    checked are they moved onto ``folder / name``; on any error all staged files are
    removed and nothing under ``folder`` has changed.

    Returns:
        ``{name: sha256}`` of the installed files.

    Raises:
        ChecksumMismatchError: a staged file's SHA-256 differs from the expected one.
        WriteFailedError: no room in ``folder`` (checked first from the sizes the files
            will have, and caught while writing): the message names the path, the space
            needed and the space free; nothing under ``folder`` has changed.
        OSError: reading a source or writing the folder failed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    needed = sum(output_size(Path(src), transfer) for src in sources.values())
    free = free_space(folder)
    if free is not None and free < needed:
        raise WriteFailedError(
            errno.ENOSPC,
            f"not enough space in {folder}: {len(sources)} file(s) need "
            f"{_megabytes(needed)}, {_megabytes(free)} free; nothing was written",
        )
    staged: dict[str, Path] = {}
    digests: dict[str, str] = {}
    try:
        for name, src in sources.items():
            staged[name] = temp_path_beside(folder / name)
            try:
                digests[name] = transfer(Path(src), staged[name])
            except OSError as err:
                if err.errno not in _NO_SPACE:
                    raise
                raise WriteFailedError(
                    err.errno,
                    f"writing {folder / name} failed: {os.strerror(err.errno)}; the {len(sources)} file(s) "
                    f"need {_megabytes(needed)} in {folder} ({_megabytes(free_space(folder))} free there now); "
                    f"nothing under {folder} was changed",
                ) from err
            if expected_sha256 is not None and name in expected_sha256:
                check_sha256(src, digests[name], expected_sha256[name])
        for name, tmp in staged.items():
            os.replace(tmp, folder / name)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return digests


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: :func:`advinterp_lib.atomic.atomic_write_text`
    (the library's one write path), with the data scripts' argument order."""
    _atomic_write_text(text, path)


def atomic_copy(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` atomically; returns the SHA-256 of the bytes."""
    return install_files({dst.name: src}, dst.parent)[dst.name]


def gunzip_atomic(src: Path, dst: Path, *, expected_sha256: str | None = None) -> str:
    """Decompress gzip ``src`` to ``dst`` atomically, checking the decompressed
    SHA-256 when given; on a mismatch ``dst`` is left as it was.

    Returns:
        SHA-256 of the decompressed bytes.

    Raises:
        ChecksumMismatchError: the decompressed content is not the expected one.
    """
    expected = None if expected_sha256 is None else {dst.name: expected_sha256}
    return install_files({dst.name: src}, dst.parent, transfer=gunzip_file, expected_sha256=expected)[dst.name]


def replace_folder(staging: Path, target: Path) -> None:
    """Move the complete folder ``staging`` onto ``target`` (same parent folder).

    ``target``, if present, is first renamed aside and removed after the move, so
    at every moment ``target`` is either the old complete folder, absent, or the new
    complete folder, never a mixture.
    """
    old = None
    if target.exists():
        old = temp_path_beside(target)
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old)


# --- "already verified" stamps -------------------------------------------------
# Hashing the prepared files again on every run would cost a second or so; a stamp
# records (size, mtime_ns) of each file as it was when verified, so a later run can
# tell "unchanged since verified" from a stat() call. Anything that rewrites a file
# changes its mtime, and a stale stamp only triggers a full re-verification.


def _file_states(folder: Path, names: Iterable[str]) -> dict[str, list[int]] | None:
    states = {}
    for name in names:
        try:
            st = (folder / name).stat()
        except FileNotFoundError:
            return None
        states[name] = [st.st_size, st.st_mtime_ns]
    return states


def write_stamp(stamp: Path, folder: Path, names: Iterable[str], **extra: object) -> None:
    """Record the current size and mtime of ``folder/name`` for each name (and any
    ``extra`` JSON-able facts, e.g. the checksums verified) in the file ``stamp``."""
    states = _file_states(folder, names)
    if states is None:
        raise FileNotFoundError(f"cannot stamp {folder}: a file is missing")
    atomic_write_text(stamp, json.dumps({"files": states, **extra}, indent=1, sort_keys=True))


def stamp_matches(stamp: Path, folder: Path, names: Iterable[str], **extra: object) -> bool:
    """Whether ``stamp`` records exactly the current sizes and mtimes of the files
    (and the same ``extra`` facts), i.e. they are unchanged since they were verified."""
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    names = list(names)
    return recorded == {"files": _file_states(folder, names), **extra}


# --- downloads -----------------------------------------------------------------


def fetch_verified(
    url: str,
    dst: Path,
    *,
    expected_sha256: str,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> str:
    """Download ``url`` to ``dst``, using it only if its SHA-256 is ``expected_sha256``.

    The bytes are streamed to a staging name beside ``dst`` and hashed on the way;
    only a file with the expected checksum is moved onto ``dst`` (``os.replace``), so
    a tampered, truncated or interrupted download is never used and ``dst`` keeps its
    previous state. The checksum is required: there is no unverified download.

    Args:
        url: an ``https://`` (or, for tests and mirrors, ``file://``) address.
        dst: the final path; its folder is created.
        expected_sha256: the known SHA-256 (hex) of the file.
        timeout: seconds to wait for the server.
        progress: called as ``progress(bytes_done, bytes_total_or_None)`` per chunk.

    Returns:
        The SHA-256 (equal to ``expected_sha256``).

    Raises:
        ValueError: ``expected_sha256`` is not 64 hex digits, or the URL scheme is not
            https/file (plain http is refused).
        ChecksumMismatchError: the downloaded bytes are not the expected file.
        OSError: the download failed.
    """
    import urllib.parse
    import urllib.request

    expected = expected_sha256.lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"expected_sha256 must be 64 hex digits, got {expected_sha256!r}")
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("https", "file"):
        raise ValueError(f"url must be https:// (or file://), got {url!r}")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(dst)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            total = response.length if getattr(response, "length", None) else None
            done = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        check_sha256(Path(url), digest.hexdigest(), expected)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return expected
