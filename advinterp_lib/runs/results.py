"""Results JSON: what a chapter measured, with where and how it ran.

``results/<profile>/<chapter>.json`` holds the chapter's numbers plus the profile,
device, seed, library and torch versions, date and wall time. Full-scale runs are
committed; the reproduction report reads them.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .. import __version__, roots
from ..atomic import atomic_write_text


def device_description(device: torch.device | str | None = None) -> str:
    """A human-readable name of the device a run used (GPU model, or CPU and thread count)."""
    device = torch.device(device) if device is not None else None
    if (device is None or device.type == "cuda") and torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {cpu} ({torch.get_num_threads()} threads)"


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"result {where} is {value}; results must be finite numbers")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def write_results(
    chapter: str,
    profile: str,
    numbers: Mapping[str, Any],
    *,
    seed: int | None,
    wall_time_s: float,
    device: torch.device | str | None = None,
    root: str | Path | None = None,
) -> Path:
    """Write ``<root>/<profile>/<chapter>.json`` atomically and return its path.

    ``numbers`` must be JSON-serialisable (floats finite); ``root`` defaults to
    :func:`advinterp_lib.roots.results_root`.
    """
    _check_finite(dict(numbers), "numbers")
    record = {
        "chapter": chapter,
        "profile": profile,
        "numbers": dict(numbers),
        "seed": seed,
        "device": device_description(device),
        "library_version": __version__,
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(float(wall_time_s), 2),
    }
    path = Path(root or roots.results_root()) / profile / f"{chapter}.json"
    atomic_write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", path)
    return path


def read_results(profile: str, chapter: str, *, root: str | Path | None = None) -> dict[str, Any]:
    """Read one results file; FileNotFoundError naming it when absent, ValueError when malformed."""
    path = Path(root or roots.results_root()) / profile / f"{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results for chapter {chapter} under profile {profile!r} ({path})")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(record, dict) or "numbers" not in record:
        raise ValueError(f"{path} is not a results file (no 'numbers' field)")
    return record


class ChapterRun:
    """Times a chapter from creation to :meth:`write`, which stores its numbers.

    >>> run = ChapterRun("01_looking_inside_a_cnn", profile, seed)   # doctest: +SKIP
    >>> ...                                                           # doctest: +SKIP
    >>> run.write({"test_accuracy": acc})                             # doctest: +SKIP
    """

    def __init__(self, chapter: str, profile: str, seed: int | None, *, root: str | Path | None = None):
        self.chapter, self.profile, self.seed, self.root = chapter, profile, seed, root
        self.started = time.perf_counter()

    def write(self, numbers: Mapping[str, Any], *, device: torch.device | str | None = None) -> Path:
        return write_results(
            self.chapter,
            self.profile,
            numbers,
            seed=self.seed,
            wall_time_s=time.perf_counter() - self.started,
            device=device,
            root=self.root,
        )
