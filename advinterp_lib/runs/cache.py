"""The artifact cache: build an artifact once per configuration, reuse it everywhere.

An artifact (a trained model's weights, an adversarial set, an activation table) is
a dict of tensors. It lives in ``<cache root>/<kind>/<key>/artifact.pt`` where ``key``
hashes the full configuration, beside a readable ``config.json``. A builder gets a
private work folder for its checkpoints, so a build that is killed resumes from
them the next time it is asked for. Writes are atomic (temp file + rename), and
loads use ``torch.load(weights_only=True)``: a cached file can never run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from .. import roots
from ..atomic import atomic_torch_save, atomic_write_text

# Bump when the meaning of a cached artifact changes (e.g. a model definition), so
# that old entries are no longer found instead of being silently reused.
CACHE_FORMAT = 1

State = dict[str, Any]


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
        )
    except TypeError as err:
        raise TypeError(f"config for {kind!r} must be JSON-serialisable: {err}") from None
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
        """Load a cached artifact; KeyError if it was never built."""
        path = self.folder(kind, config) / "artifact.pt"
        if not path.is_file():
            raise KeyError(f"no cached {kind!r} for this config (looked in {path.parent})")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated or foreign file: say which, don't guess
            raise RuntimeError(
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
            return self.load(kind, config)
        work = folder / "work"
        work.mkdir(parents=True, exist_ok=True)
        state = build(work)
        if not isinstance(state, dict):
            raise TypeError(f"build for {kind!r} must return a dict, got {type(state).__name__}")
        atomic_write_text(json.dumps({"kind": kind, "config": dict(config)}, indent=2, sort_keys=True), folder / "config.json")
        atomic_torch_save(state, path)
        shutil.rmtree(work, ignore_errors=True)
        return state
