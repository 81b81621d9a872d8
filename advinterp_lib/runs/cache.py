"""The artifact cache: build an artifact once per configuration, reuse it everywhere.

An artifact (a trained model's weights, an adversarial set, an activation table) is
a dict of tensors. It lives in ``<cache root>/<kind>/<key>/artifact.pt`` where ``key``
hashes the full configuration, beside a readable ``config.json``. A builder gets a
private work folder for its checkpoints, so a build that is killed resumes from
them the next time it is asked for. Writes are atomic (temp file + rename), and
loads use ``torch.load(weights_only=True)``: a cached file can never run code. The
artifact's SHA-256 is recorded in ``config.json`` and checked on every load, so a
truncated or altered file is detected, and :meth:`ArtifactCache.get_or_build`
rebuilds it instead of using it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from .. import roots
from ..atomic import atomic_torch_save, atomic_write_text, file_sha256  # noqa: F401 (atomic_torch_save: re-exported, tests use it)

# Bump when the meaning of a cached artifact changes (e.g. a model definition), so
# that old entries are no longer found instead of being silently reused.
CACHE_FORMAT = 1

State = dict[str, Any]


class CorruptArtifactError(RuntimeError):
    """A cached artifact that cannot be trusted: unreadable, or not the bytes that were saved."""


def config_key(kind: str, config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit key for ``(kind, config)``: SHA-256 of canonical JSON.

    Raises TypeError if the config holds something JSON cannot represent.
    """
    if not kind or "/" in kind or kind.startswith("."):
        raise ValueError(f"kind must be a plain folder name, got {kind!r}")
    try:
        text = json.dumps(
            {"kind": kind, "format": CACHE_FORMAT, "config": dict(config)},
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        )
    except TypeError as err:
        raise TypeError(f"config for {kind!r} must be JSON-serialisable: {err}") from None
    except ValueError as err:  # NaN or inf: not JSON, and NaN != NaN would never hit the cache
        raise ValueError(f"config for {kind!r} must hold finite numbers: {err}") from None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ArtifactCache:
    """Artifacts keyed by a hash of their full configuration.

    >>> cache = ArtifactCache()                       # doctest: +SKIP
    >>> state = cache.get_or_build("model", config, build)  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else roots.cache_root()

    def folder(self, kind: str, config: Mapping[str, Any]) -> Path:
        """The folder that holds (or will hold) this artifact."""
        return self.root / kind / config_key(kind, config)

    def contains(self, kind: str, config: Mapping[str, Any]) -> bool:
        return (self.folder(kind, config) / "artifact.pt").is_file()

    def load(self, kind: str, config: Mapping[str, Any]) -> State:
        """Load a cached artifact; KeyError if it was never built.

        Raises:
            KeyError: nothing cached for this config.
            CorruptArtifactError: the file cannot be read (truncated, foreign, holds
                pickled code) or differs from the SHA-256 recorded when it was saved
                (e.g. a flipped byte, which ``torch.load`` alone would not notice).
        """
        folder = self.folder(kind, config)
        path = folder / "artifact.pt"
        if not path.is_file():
            raise KeyError(f"no cached {kind!r} for this config (looked in {path.parent})")
        recorded = _recorded_sha256(folder / "config.json")
        if recorded is not None and file_sha256(path) != recorded:
            raise CorruptArtifactError(
                f"cached artifact {path} cannot be read: its SHA-256 differs from the one recorded "
                f"when it was saved (corrupt); delete its folder to rebuild it"
            )
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated or foreign file: say which, don't guess
            raise CorruptArtifactError(
                f"cached artifact {path} cannot be read ({err}); delete its folder to rebuild it"
            ) from err

    def get_or_build(
        self,
        kind: str,
        config: Mapping[str, Any],
        build: Callable[[Path], State],
    ) -> State:
        """Return the cached artifact, building it first if needed.

        ``build(work_dir)`` computes the artifact (a dict of tensors and plain
        values). ``work_dir`` persists until the build succeeds, so a builder that
        checkpoints there resumes after a kill. The result is saved atomically with
        a ``config.json`` beside it, then the work folder is removed.
        """
        folder = self.folder(kind, config)
        path = folder / "artifact.pt"
        if path.is_file():
            try:
                return self.load(kind, config)
            except CorruptArtifactError as err:
                # detected, never used: drop it and build again (the work folder, if a
                # killed build left one, still holds its checkpoints)
                warnings.warn(f"{err}; rebuilding it", RuntimeWarning, stacklevel=2)
                path.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        with _exclusive(folder.parent / f".{folder.name}.lock"):  # beside the folder, which stays clean
            # Another process may have built it while this one waited for the lock.
            if path.is_file():
                return self.load(kind, config)
            return self._build(kind, config, folder, path, build)

    def _build(self, kind: str, config: Mapping[str, Any], folder: Path, path: Path,
               build: Callable[[Path], State]) -> State:
        work = folder / "work"
        work.mkdir(parents=True, exist_ok=True)
        state = build(work)
        if not isinstance(state, dict):
            raise TypeError(f"build for {kind!r} must return a dict, got {type(state).__name__}")
        # The checksum goes into config.json before the artifact is moved into place:
        # a kill in between leaves no artifact (rebuilt next time), never an unchecked one.
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".artifact.pt.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(state, f)
                f.flush()
                os.fsync(f.fileno())
            record = {"kind": kind, "config": dict(config), "sha256": file_sha256(tmp)}
            atomic_write_text(json.dumps(record, indent=2, sort_keys=True), folder / "config.json")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
        return state


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_file`` (POSIX ``flock``): two processes
    that need the same artifact (two chapters run at once) build it once, not twice into
    one work folder. The kernel releases the lock if the holder dies. Where ``fcntl``
    does not exist (Windows) this does nothing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recorded_sha256(config_file: Path) -> str | None:
    """The artifact checksum recorded in ``config.json`` (None for entries written
    before checksums were recorded, or when the file is missing/unreadable)."""
    try:
        value = json.loads(config_file.read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
