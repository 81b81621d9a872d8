"""The artifact cache: build an artifact once per configuration, reuse it everywhere.

An artifact (a trained model's weights, an adversarial set, an activation table) is
a dict of tensors. It lives in ``<cache root>/<kind>/<key>/artifact.pt`` where ``key``
hashes the full configuration, beside a readable ``config.json``. A builder gets a
private work folder for its checkpoints, so a build that is killed resumes from
them the next time it is asked for. Writes are atomic (temp file + rename), and
loads use ``torch.load(weights_only=True)``: a cached file can never run code. The
artifact's SHA-256 is recorded in ``config.json`` and checked on every load, so a
truncated or altered file is detected, and :meth:`ArtifactCache.get_or_build`
rebuilds it instead of using it. An entry without a readable checksum (``config.json``
missing, truncated, unreadable, or without ``sha256``) is damaged too: it is never
loaded, only rebuilt.

Every file goes through :mod:`advinterp_lib.atomic` (the library's one write path), and
building an entry holds its lock (:func:`advinterp_lib.atomic.folder_lock`), the same lock
that adversarial-set generation takes on its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from .. import roots
from ..atomic import atomic_torch_save, atomic_write_text, file_sha256, folder_lock, remove_stale_temp_files

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
                pickled code), differs from the SHA-256 recorded when it was saved
                (e.g. a flipped byte, which ``torch.load`` alone would not notice), or
                has no readable recorded SHA-256 (``config.json`` missing, truncated or
                without ``sha256``): an unchecked file is never loaded.
        """
        folder = self.folder(kind, config)
        path = folder / "artifact.pt"
        if not path.is_file():
            raise KeyError(f"no cached {kind!r} for this config (looked in {path.parent})")
        recorded, problem = _recorded_sha256(folder / "config.json")
        if recorded is None:
            raise CorruptArtifactError(
                f"cached artifact {path} cannot be checked: {problem}; it is treated as damaged "
                f"(delete its folder to rebuild it)"
            )
        if file_sha256(path) != recorded:
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
        with folder_lock(folder) as locked_at:
            # Another process may have built it while this one waited for the lock.
            if path.is_file():
                return self.load(kind, config)
            remove_stale_temp_files(folder, older_than=locked_at)  # a killed build's half-written file
            return self._build(kind, config, folder, path, build)

    def _build(
        self, kind: str, config: Mapping[str, Any], folder: Path, path: Path, build: Callable[[Path], State]
    ) -> State:
        work = folder / "work"
        work.mkdir(parents=True, exist_ok=True)
        state = build(work)
        if not isinstance(state, dict):
            raise TypeError(f"build for {kind!r} must return a dict, got {type(state).__name__}")

        # The checksum goes into config.json before the artifact is moved into place:
        # a kill in between leaves no artifact (rebuilt next time), never an unchecked one.
        def record_checksum(tmp: Path) -> None:
            record = {"kind": kind, "config": dict(config), "sha256": file_sha256(tmp)}
            atomic_write_text(json.dumps(record, indent=2, sort_keys=True), folder / "config.json")

        atomic_torch_save(state, path, before_replace=record_checksum)
        shutil.rmtree(work, ignore_errors=True)
        return state


def _recorded_sha256(config_file: Path) -> tuple[str | None, str]:
    """The artifact checksum recorded in ``config.json``, or None and what is wrong."""
    try:
        record = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{config_file.name} is missing"
    except (OSError, ValueError, RecursionError) as err:  # unreadable, not UTF-8, truncated JSON
        return None, f"{config_file.name} cannot be read ({type(err).__name__}: {err})"
    value = record.get("sha256") if isinstance(record, dict) else None
    if not (isinstance(value, str) and len(value) == 64):
        return None, f"{config_file.name} records no SHA-256 of the artifact"
    return value, ""
