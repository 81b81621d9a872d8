"""Safe reading of downloaded archives (tar, zip): no member may escape its target.

An archive names its members; a hostile or broken one can name ``../../.bashrc``,
``/etc/passwd``, or a symlink pointing outside the folder followed by a member
written "through" it. :func:`check_member_path` and :func:`safe_extract` refuse all
of these *before* anything is written (the whole member list is checked first), so a
rejected archive leaves the target untouched. The ImageNet and Broden scripts use
them; Python's own ``tarfile`` ``filter="data"`` is applied as a second line.

A member named ``.``, ``./`` or nothing at all (which would be written as the target
itself) is refused too. And an archive may not hold more than its data set can: each
caller passes :class:`ArchiveLimits` (the data set's known member count and size with a
margin), checked on the declared sizes before anything is written and again on the
bytes while writing, so a small zip that would expand to fill the disk, or a tar header
declaring 10 GiB, is refused with an error naming the archive. A tar or zip that cannot
be read (truncated, a header that lies) is a ValueError naming the archive, never a bare
``tarfile.ReadError``.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "ArchiveLimits",
    "DEFAULT_LIMITS",
    "UnsafeArchiveError",
    "check_member_path",
    "safe_extract",
    "archive_members",
]


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the target folder, is a link or
    device file that could be used to do so, or the archive holds more (members or
    bytes) than its data set can."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What one data set's archive may hold: at most ``max_members`` members and
    ``max_bytes`` bytes once extracted (its known size with a margin). ``what`` names
    the data set in errors."""

    max_members: int
    max_bytes: int
    what: str = "this archive"


#: For an archive no data set describes: generous, but the disk is never filled.
DEFAULT_LIMITS = ArchiveLimits(max_members=1_000_000, max_bytes=16 * 2**30, what="an archive")


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


class _Budget:
    """Counts members and declared bytes against :class:`ArchiveLimits`."""

    def __init__(self, archive: Path, limits: ArchiveLimits) -> None:
        self.archive, self.limits, self.members, self.bytes = archive, limits, 0, 0

    def add(self, name: str, size: int) -> None:
        self.members += 1
        self.bytes += max(0, int(size))
        lim = self.limits
        if self.members > lim.max_members:
            raise UnsafeArchiveError(
                f"{self.archive}: more than {lim.max_members:,} members, more than "
                f"{lim.what} holds; refusing the archive"
            )
        if self.bytes > lim.max_bytes:
            raise UnsafeArchiveError(
                f"{self.archive}: member {name!r} declares {_gib(int(size))}, bringing the total to "
                f"{_gib(self.bytes)}, "
                f"more than the {_gib(lim.max_bytes)} {lim.what} holds; refusing the archive"
            )


def check_member_path(name: str, archive: str | os.PathLike[str] = "archive") -> PurePosixPath:
    """The member ``name`` as a relative path that stays inside its target folder.

    Raises:
        UnsafeArchiveError: ``name`` is absolute (``/x``, ``C:\\x``, ``\\\\host``), has a
            ``..`` component, or names the target folder itself (empty, ``.``, ``./``).
    """
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    if path.is_absolute() or (len(normalised) > 1 and normalised[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing the archive")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} leaves the target folder ('..'); refusing the archive")
    if not path.parts:  # "", ".", "./", ".//.": would be written as the target itself
        raise UnsafeArchiveError(f"{archive}: member {name!r} names the target folder itself; refusing the archive")
    return path


def _check_tar(tf: tarfile.TarFile, archive: Path, limits: ArchiveLimits) -> list[tarfile.TarInfo]:
    budget, members = _Budget(archive, limits), []
    while True:  # member by member, so a header declaring 10 GiB is refused before the next is sought
        try:
            m = tf.next()
        except tarfile.TarError as err:
            raise ValueError(f"{archive}: not a readable tar archive ({type(err).__name__}: {err})") from None
        if m is None:
            break
        members.append(m)
        check_member_path(m.name, archive)
        budget.add(m.name, m.size if m.isfile() else 0)
        if m.issym() or m.islnk():
            raise UnsafeArchiveError(
                f"{archive}: member {m.name!r} is a {'symlink' if m.issym() else 'hard link'} "
                f"(to {m.linkname!r}); refusing the archive (the data sets hold no links)"
            )
        if not (m.isfile() or m.isdir()):
            raise UnsafeArchiveError(f"{archive}: member {m.name!r} is not a regular file or folder")
    return members


def _check_zip(zf: zipfile.ZipFile, archive: Path, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    members, budget = zf.infolist(), _Budget(archive, limits)
    for m in members:
        check_member_path(m.filename, archive)
        budget.add(m.filename, m.file_size)  # zipfile never returns more than file_size bytes
        mode = (m.external_attr >> 16) & 0o170000
        if mode == 0o120000:  # a symlink stored with its Unix mode
            raise UnsafeArchiveError(f"{archive}: member {m.filename!r} is a symlink; refusing the archive")
    return members


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ValueError(f"{archive}: not a readable zip archive ({type(err).__name__}: {err})") from None


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive)
    except tarfile.TarError as err:
        raise ValueError(f"{archive}: not a readable tar archive ({type(err).__name__}: {err})") from None


def archive_members(archive: str | os.PathLike[str], *, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[str]:
    """The names of the regular files in a tar or zip ``archive``, after checking every
    member (see :func:`safe_extract`).

    Raises:
        UnsafeArchiveError: a member is unsafe, or the archive holds more than ``limits``.
        ValueError: ``archive`` is neither a tar nor a zip file, or cannot be read.
    """
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        with _open_zip(archive) as zf:
            return [m.filename for m in _check_zip(zf, archive, limits) if not m.is_dir()]
    if tarfile.is_tarfile(archive):
        with _open_tar(archive) as tf:
            return [m.name for m in _check_tar(tf, archive, limits) if m.isfile()]
    raise ValueError(f"{archive}: expected a tar or zip archive")


def safe_extract(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    destination: Callable[[str], Path | None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
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
        limits: the most members and extracted bytes the archive may hold (the data
            set's :class:`ArchiveLimits`).

    Returns:
        The number of files written (skipped ones not counted).

    Raises:
        UnsafeArchiveError: an unsafe member, or more members or bytes than ``limits``
            (nothing was written).
        ValueError: not a tar or zip archive, or one that cannot be read (the message
            names it).
    """
    archive, target = Path(archive), Path(target)
    where = destination or (lambda name: target / name)
    written = 0
    if zipfile.is_zipfile(archive):
        with _open_zip(archive) as zf:
            members = [m for m in _check_zip(zf, archive, limits) if not m.is_dir()]
            for i, m in enumerate(members):
                dst = where(m.filename)
                if dst is not None:
                    written += _write_member(lambda m=m: zf.open(m), m.file_size, dst, archive, m.filename)
                if progress:
                    progress(i + 1, len(members))
        return written
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"{archive}: expected a tar or zip archive")
    with _open_tar(archive) as tf:
        members = [m for m in _check_tar(tf, archive, limits) if m.isfile()]
        for i, m in enumerate(members):
            tarfile.data_filter(m, str(target))  # Python's own check, as a second line
            dst = where(m.name)
            if dst is not None:
                written += _write_member(lambda m=m: tf.extractfile(m), m.size, dst, archive, m.name)
            if progress:
                progress(i + 1, len(members))
    return written


def _write_member(open_member, size: int, dst: Path, archive: Path, name: str) -> int:
    """Copy one member to ``dst`` through a temp file: never more than its declared
    ``size`` bytes, and exactly that many (a short or lying member is an error)."""
    if dst.is_file() and dst.stat().st_size == size:
        return 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    try:
        with open_member() as src, open(tmp, "wb") as out:
            left = size
            while left > 0:
                chunk = src.read(min(left, 1 << 20))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
            if left or src.read(1):
                raise ValueError(f"{archive}: member {name!r} does not hold the {size:,} bytes its header declares")
        os.replace(tmp, dst)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{archive}: member {name!r} cannot be read ({type(err).__name__}: {err})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return 1
