"""Training checkpoints: tensors and plain values only, written atomically, checked
on load.

A checkpoint is a dict whose leaves are tensors or primitives (``int``, ``float``,
``str``, ``bool``, ``None``) inside dicts, lists and tuples — a model's and an
optimiser's ``state_dict`` qualify. It is written to a temporary file beside the
target and moved over it with ``os.replace``, so a process killed while saving
leaves the previous checkpoint intact; it loads with
``torch.load(weights_only=True)``, so loading never runs pickled code. A SHA-256
checksum of the content is stored in the file and verified on load, so a truncated
or corrupted file raises :class:`CheckpointError` instead of resuming from garbage.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import WriteFailedError, atomic_torch_save, free_space

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

_FORMAT = "advinterp-checkpoint-v1"
_PRIMITIVES = (int, float, str, bool, type(None))


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be trusted: unreadable, truncated, not ours,
    or whose content does not match its stored checksum."""


def _digest(obj: Any, h: hashlib._Hash, where: str = "state") -> None:
    """Feed a canonical encoding of ``obj`` into ``h``; raise TypeError on leaves
    that ``torch.load(weights_only=True)`` could not restore faithfully."""
    if isinstance(obj, torch.Tensor):
        if obj.layout != torch.strided or obj.is_quantized:
            raise TypeError(f"{where}: only dense tensors can be checkpointed, got {obj.layout}")
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for key, value in obj.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where}: dict keys must be str or int, got {type(key).__name__}")
            h.update(f"K{type(key).__name__}:{key!r}".encode())
            _digest(value, h, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'L' if isinstance(obj, list) else 'U'}{len(obj)}".encode())
        for i, value in enumerate(obj):
            _digest(value, h, f"{where}[{i}]")
    elif isinstance(obj, _PRIMITIVES):
        h.update(f"P{type(obj).__name__}:{obj!r}".encode())
    else:
        raise TypeError(
            f"{where}: a checkpoint holds tensors, dicts, lists, tuples and primitives only, got {type(obj).__name__}"
        )


def _checksum(state: dict[str, Any]) -> str:
    h = hashlib.sha256()
    _digest(state, h)
    return h.hexdigest()


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically, with a checksum of its content.

    Args:
        path: the file to (over)write; its folder is created if missing.
        state: a dict with str keys of tensors / primitives (nested in dicts, lists,
            tuples). Tensors are saved as they are (save CPU copies to load anywhere).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``state`` is not a dict or holds something other than tensors and
            primitives (e.g. a module or a function).
        WriteFailedError: no room for the file (disk full, quota, file-size limit); the
            message says what was being written and that the previous checkpoint at
            ``path`` is intact (a resumed run starts from it).
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    path = Path(path)
    payload = {"format": _FORMAT, "sha256": _checksum(state), "state": state}
    had_previous = path.is_file()
    try:
        return atomic_torch_save(payload, path)
    except WriteFailedError as err:
        previous = (
            f"the previous checkpoint {path} is intact and a resumed run starts from it"
            if had_previous
            else f"no checkpoint was written at {path} (there was none before)"
        )
        raise WriteFailedError(
            err.errno,
            f"saving the checkpoint {path} ({_tensor_megabytes(state):.1f} MB of tensors: "
            f"{', '.join(map(str, state))}) "
            f"failed: {os.strerror(err.errno)} (free on its disk: {_free(path)}); {previous}",
        ) from err


def _free(path: Path) -> str:
    free = free_space(path.parent)
    return "unknown" if free is None else f"{free / 1e6:,.1f} MB"


def _tensor_megabytes(obj: Any) -> float:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size() / 1e6
    if isinstance(obj, dict):
        return sum(_tensor_megabytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_megabytes(v) for v in obj)
    return 0.0


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` and verify it.

    Args:
        path: the checkpoint file.
        map_location: where tensors are loaded (default the CPU).

    Returns:
        The ``state`` dict that was saved.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is unreadable (e.g. truncated by a crash or a full
            disk), was not written by :func:`save_checkpoint`, or its content does
            not match the stored checksum. The message says to delete the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    advice = "Delete it to start over."
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError...
        raise CheckpointError(
            f"checkpoint {path} is unreadable (truncated or corrupt?): {type(err).__name__}: {err}. {advice}"
        ) from err
    if not (isinstance(payload, dict) and payload.get("format") == _FORMAT and isinstance(payload.get("state"), dict)):
        raise CheckpointError(f"{path} is not an advinterp checkpoint ({_FORMAT}). {advice}")
    if _checksum(payload["state"]) != payload.get("sha256"):
        raise CheckpointError(
            f"checkpoint {path} is corrupt: its content does not match its stored SHA-256 checksum. {advice}"
        )
    return payload["state"]
