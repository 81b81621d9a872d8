"""Atomic file writes: a temp file in the target's folder, flushed, then renamed over
the target with ``os.replace``. A process killed mid-write leaves either the old
file or the new one, never a half-written one (at most a stray ``.*.tmp``).

This is the one write path of the library: checkpoints, cache entries (``artifact.pt``
and ``config.json``), adversarial-set shards and manifests, results JSON and training
metrics all go through :func:`atomic_torch_save` or :func:`atomic_write_text`, so all
get the same guarantees:

- the file appears complete or not at all, with the mode ``open()`` would give it
  (``0666 & ~umask``, not mkstemp's private ``0600``: a cache shared by a group works);
- a write that fails (disk full, file-size limit) raises :class:`WriteFailedError`
  naming the file and the free space, and leaves the previous file untouched;
- the temp file's name carries the writer's pid (``.<name>.p<pid>-<random>.tmp``), so
  :func:`remove_stale_temp_files` can tell a dead writer's leftovers from a file
  another process is writing right now.

:func:`folder_lock` is the per-entry lock of the artifact cache (a ``.<name>.lock``
beside the folder), shared by everything that fills a cache folder.

Lowest layer of the library (like ``roots`` and ``validation``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch

__all__ = [
    "WriteFailedError",
    "atomic_torch_save",
    "atomic_write_text",
    "file_sha256",
    "folder_lock",
    "free_space",
    "remove_stale_temp_files",
]

# errno values that mean "no room for this file": a full disk, a quota, a file-size limit
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_TEMP_NAME = re.compile(r"^\..+\.p(\d+)-[^.]+\.tmp$")


class WriteFailedError(OSError):
    """Writing a file failed for lack of space (disk full, quota, file-size limit).

    ``errno`` is the operating system's (ENOSPC, EDQUOT, EFBIG); the message names the
    file, the free space on its disk, and says that the previous file is unchanged.
    """

    errno: int  # always set: both raisers pass the OSError's errno, checked against _NO_SPACE


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore
    os.umask(mask)
    return mask


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def free_space(folder: str | os.PathLike[str]) -> int | None:
    """Bytes free on the file system of ``folder`` (None when it cannot be asked)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


class _RecordingFile:
    """A write-only file wrapper that remembers the first OSError of a write: torch.save
    turns it into ``[enforce fail at inline_container.cc] unexpected pos``, which says
    nothing about a full disk."""

    def __init__(self, f: IO[Any]) -> None:
        self.f = f
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.f.write(data)
        except OSError as err:
            self.error = self.error or err
            raise

    def flush(self) -> None:
        try:
            self.f.flush()
        except OSError as err:
            self.error = self.error or err
            raise


def _atomic_write(
    path: Path, binary: bool, write: Callable[[Any], None], before_replace: Callable[[Path], None] | None = None
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.p{os.getpid()}-", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); the result gets the mode open() would give
        os.chmod(tmp, 0o666 & ~_umask())
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        recorder = _RecordingFile(f)
        try:
            with f:
                write(recorder)
                f.flush()
                os.fsync(f.fileno())
        except (OSError, RuntimeError) as err:
            cause = recorder.error or (err if isinstance(err, OSError) else None)
            code = None if cause is None else cause.errno
            if code is None or code not in _NO_SPACE:
                raise
            free = free_space(path.parent)
            previous = f"{path} is unchanged" if path.exists() else f"nothing was written at {path}"
            raise WriteFailedError(
                code,
                f"writing {path} failed: {os.strerror(code)} (free on its disk: "
                f"{'unknown' if free is None else _megabytes(free)}); {previous}",
            ) from err
        if before_replace is not None:
            before_replace(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_torch_save(
    obj: Any, path: str | os.PathLike, *, before_replace: Callable[[Path], None] | None = None
) -> Path:
    """``torch.save(obj)`` to ``path`` atomically; returns the path.

    ``before_replace(temp_path)``, when given, runs after the complete file is on disk
    and before it is moved onto ``path`` (the artifact cache records its checksum there,
    so an artifact never exists without one). Raises :class:`WriteFailedError` when
    there is no room for the file (``path`` is then left as it was).
    """
    return _atomic_write(Path(path), True, lambda f: torch.save(obj, f), before_replace)


def atomic_write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; returns the path.

    Raises :class:`WriteFailedError` when there is no room for the file.
    """
    return _atomic_write(Path(path), False, lambda f: f.write(text))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the file at ``path``, read in 1 MiB blocks: the checksum that cache
    entries and adversarial-set shards record when written and verify when read."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- locks


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[float]:
    """Hold the exclusive lock of ``folder``: POSIX ``flock`` on ``.<name>.lock`` beside
    it (the folder itself stays clean). Yields the time (``time.time()``) the lock was
    taken; the lock file's mtime is set to it, so a temp file older than the lock was
    written by a holder that is gone.

    Two processes that fill the same cache folder (two chapters run at once) then work
    one after the other, not both into one folder. The kernel releases the lock if the
    holder dies. Where ``fcntl`` does not exist (Windows) there is no lock. The lock
    is not re-entrant: code holding a folder's lock must not ask for it again (a second
    ``flock`` from the same process would wait for itself).
    """
    folder = Path(folder)
    lock_file = folder.parent / f".{folder.name}.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield time.time()
        return
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            taken = time.time()
            with contextlib.suppress(OSError):
                os.utime(lock_file, (taken, taken))
            yield taken
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell: keep the file
    return True


def remove_stale_temp_files(folder: str | os.PathLike[str], *, older_than: float) -> list[Path]:
    """Remove the temp files (``.*.tmp``) in ``folder`` that no live writer owns, and
    return them: those whose writer's pid (in the name) is dead, and those without a pid
    (written by an older version of this library) last modified before ``older_than``
    (a ``time.time()``; pass the moment :func:`folder_lock` was taken). A temp file
    of a live process is never touched, so a writer that does not hold the lock is not
    broken mid-write either."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        match = _TEMP_NAME.match(tmp.name)
        try:
            stale = not _pid_alive(int(match.group(1))) if match else tmp.stat().st_mtime < older_than
        except OSError:  # gone meanwhile
            continue
        if stale:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
