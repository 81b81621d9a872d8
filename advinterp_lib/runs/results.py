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
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .. import __version__, roots
from ..atomic import atomic_write_text
from .profiles import PROFILE_NAMES

_CHAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# A results file is a few kilobytes of numbers nested a few levels deep; a file nested far
# deeper is not one (and would exhaust Python's recursion limit in the report).
MAX_DEPTH = 64


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


def results_path(profile: str, chapter: str, root: str | Path | None = None) -> Path:
    """``<root>/<profile>/<chapter>.json``, after checking that ``profile`` is a known
    profile and ``chapter`` a plain name: a path is never built from anything else
    (``-p profile ../../x`` once wrote outside ``results/``).

    Raises:
        ValueError: an unknown profile, or a chapter name with a path separator or dots.
    """
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile: expected one of {', '.join(PROFILE_NAMES)}, got {profile!r}")
    if not isinstance(chapter, str) or not _CHAPTER_NAME.match(chapter):
        raise ValueError(f"chapter: expected a plain name like '01_looking_inside_a_cnn', got {chapter!r}")
    return Path(root or roots.results_root()) / profile / f"{chapter}.json"


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and dicts (iterative: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in node)
    return deepest


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
    :func:`advinterp_lib.roots.results_root`. ``profile`` must be a known profile: the
    file's folder and its ``profile`` field are the same name, so a results file never
    says another profile than the folder it lies in.

    Raises:
        ValueError: an unknown profile, a chapter name that is not plain, a non-finite number.
    """
    path = results_path(profile, chapter, root)
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
    atomic_write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", path)
    return path


def read_results(profile: str, chapter: str, *, root: str | Path | None = None) -> dict[str, Any]:
    """Read one results file.

    Raises:
        FileNotFoundError: no such file (the message names it).
        ValueError: an unknown profile; a file that is not UTF-8, not JSON, nested more
            than :data:`MAX_DEPTH` levels deep, or without ``numbers`` (the message names
            the file and what is wrong).
    """
    path = results_path(profile, chapter, root)
    if not path.is_file():
        raise FileNotFoundError(f"no results for chapter {chapter} under profile {profile!r} ({path})")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a results file: not UTF-8 text (byte {err.start}: {err.reason})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    except RecursionError:
        raise ValueError(f"{path} is not a results file: its JSON nests too deeply to read") from None
    if _depth(record) > MAX_DEPTH:
        raise ValueError(f"{path} is not a results file: its JSON nests more than {MAX_DEPTH} levels deep")
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
