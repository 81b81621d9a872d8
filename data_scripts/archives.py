"""Safe reading of downloaded archives (tar, zip): no member may escape its target.

An archive names its members; a hostile or broken one can name ``../../.bashrc``,
``/etc/passwd``, or a symlink pointing outside the folder followed by a member
written "through" it. :func:`check_member_path` and :func:`safe_extract` refuse all
of these *before* anything is written (the whole member list is checked first), so a
rejected archive leaves the target untouched. The ImageNet and Broden scripts use
them; Python's own ``tarfile`` ``filter="data"`` is applied as a second line.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "check_member_path", "safe_extract", "archive_members"]


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the target folder, or is a link or
    device file that could be used to do so."""


def check_member_path(name: str, archive: str | os.PathLike[str] = "archive") -> PurePosixPath:
    """The member ``name`` as a relative path that stays inside its target folder.

    Raises:
        UnsafeArchiveError: ``name`` is empty, absolute (``/x``, ``C:\\x``, ``\\\\host``),
            or has a ``..`` component.
    """
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    if not normalised or path.is_absolute() or (len(normalised) > 1 and normalised[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing the archive")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} leaves the target folder ('..'); refusing the archive")
    return path


def _check_tar(tf: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    members = tf.getmembers()
    for m in members:
        check_member_path(m.name, archive)
        if m.issym() or m.islnk():
            raise UnsafeArchiveError(
                f"{archive}: member {m.name!r} is a {'symlink' if m.issym() else 'hard link'} "
                f"(to {m.linkname!r}); refusing the archive (the data sets hold no links)"
            )
        if not (m.isfile() or m.isdir()):
            raise UnsafeArchiveError(f"{archive}: member {m.name!r} is not a regular file or folder")
    return members


def _check_zip(zf: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    members = zf.infolist()
    for m in members:
        check_member_path(m.filename, archive)
        mode = (m.external_attr >> 16) & 0o170000
        if mode == 0o120000:  # a symlink stored with its Unix mode
            raise UnsafeArchiveError(f"{archive}: member {m.filename!r} is a symlink; refusing the archive")
    return members


def archive_members(archive: str | os.PathLike[str]) -> list[str]:
    """The names of the regular files in a tar or zip ``archive``, after checking every
    member (see :func:`safe_extract`).

    Raises:
        UnsafeArchiveError: a member is unsafe.
        ValueError: ``archive`` is neither a tar nor a zip file.
    """
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return [m.filename for m in _check_zip(zf, archive) if not m.is_dir()]
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            return [m.name for m in _check_tar(tf, archive) if m.isfile()]
    raise ValueError(f"{archive}: expected a tar or zip archive")


def safe_extract(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    destination: Callable[[str], Path | None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Extract every regular file of a tar or zip ``archive`` into ``target``.

    All members are checked before the first byte is written: an absolute path, a
    ``..`` component, a symlink or hard link, or a device file rejects the whole
    archive. Files already present in ``target`` with the member's size are skipped
    (so a killed extraction resumes); others are written to a temporary name and
    moved into place.

    Args:
        destination: maps a (checked) member name to the path it is written to, or
            to None to skip it; default ``target / name``. The ImageNet script uses it
            to sort the flat validation archive into one folder per class.
        progress: called as ``progress(done, total)`` after each member.

    Returns:
        The number of files written (skipped ones not counted).

    Raises:
        UnsafeArchiveError: an unsafe member (nothing was written).
        ValueError: not a tar or zip archive.
    """
    archive, target = Path(archive), Path(target)
    where = destination or (lambda name: target / name)
    written = 0
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in _check_zip(zf, archive) if not m.is_dir()]
            for i, m in enumerate(members):
                dst = where(m.filename)
                if dst is not None:
                    written += _write_member(lambda m=m: zf.open(m), m.file_size, dst)
                if progress:
                    progress(i + 1, len(members))
        return written
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"{archive}: expected a tar or zip archive")
    with tarfile.open(archive) as tf:
        members = [m for m in _check_tar(tf, archive) if m.isfile()]
        for i, m in enumerate(members):
            tarfile.data_filter(m, str(target))  # Python's own check, as a second line
            dst = where(m.name)
            if dst is not None:
                written += _write_member(lambda m=m: tf.extractfile(m), m.size, dst)
            if progress:
                progress(i + 1, len(members))
    return written


def _write_member(open_member, size: int, dst: Path) -> int:
    if dst.is_file() and dst.stat().st_size == size:
        return 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    try:
        with open_member() as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return 1
