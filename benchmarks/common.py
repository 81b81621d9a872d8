"""The chores every benchmark group shares, in one place.

- :func:`set_threads`: CPU threads are set explicitly, never left to the default.
- :func:`time_calls`: warm-up, then repeated wall times of several calls,
  *interleaved* (a, b, c, a, b, c, ...) so that load from other processes hits them
  alike; summarised as a :class:`Timing` (median with quartiles and min/max).
- :func:`forward`, :func:`input_gradient`, :func:`parameter_gradient`: the passes
  every other row is divided by (attacks and attributions differentiate with respect
  to the input; training with respect to the parameters).
- :func:`row`, :class:`Target`, :func:`agreement`: one row of the results table, so
  every group writes the same schema (see ``benchmarks/__main__.py``).
- :func:`zoo_models`, :func:`fashion_mnist_images`: the quick profile's trained zoo nets from
  the artifact cache (untrained when absent: timing does not depend on the weights,
  the agreement checks and DeepFool's iteration counts do) and Fashion-MNIST test
  images (random ones when the data is not prepared), each saying which it gave.
- :func:`machine`, :func:`device_slug`: what the results file records about where it ran.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from advinterp_lib.runs.results import device_description


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads to ``threads`` (default: the CPUs this process
    may use) and return the number set. Inter-op threads are set to 1 where torch
    still allows it (a single-stream benchmark gains nothing from them)."""
    n = threads if threads is not None else len(os.sched_getaffinity(0))
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work; then keep it
        pass
    return torch.get_num_threads()


@dataclass(frozen=True)
class Timing:
    """Wall times of one call, in seconds: median, quartiles (q1, q3), min, max, repeats."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    repeats: int

    @classmethod
    def of(cls, times: Sequence[float]) -> Timing:
        ts = sorted(times)
        if len(ts) >= 2:
            q1, _, q3 = statistics.quantiles(ts, n=4, method="inclusive")
        else:
            q1 = q3 = ts[0]
        return cls(statistics.median(ts), q1, q3, ts[0], ts[-1], len(ts))

    def scaled(self, factor: float) -> Timing:
        """The same timing for ``factor`` calls (e.g. k passes)."""
        return Timing(*(v * factor for v in (self.median, self.q1, self.q3, self.min, self.max)), self.repeats)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def time_calls(fns: Mapping[str, Callable[[], object]], *, repeats: int, warmup: int = 1) -> dict[str, Timing]:
    """Time each call ``repeats`` times after ``warmup`` untimed calls, interleaved.

    CUDA work is synchronised before each clock read, so times are wall times of the
    finished work."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: Timing.of(ts) for name, ts in times.items()}


def keeping(fns: Mapping[str, Callable[[], object]]) -> tuple[dict[str, Callable[[], None]], dict[str, Any]]:
    """Wrap calls so each stores its latest result: ``(wrapped calls, results)``; time
    the wrapped calls, then compare the results without running anything again."""
    results: dict[str, Any] = {}

    def keep(name: str, fn: Callable[[], object]) -> Callable[[], None]:
        def call() -> None:
            results[name] = fn()

        return call

    return {name: keep(name, fn) for name, fn in fns.items()}, results


def bench_device() -> torch.device:
    """CUDA when available (the first GPU), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One forward pass without autograd."""
    with torch.no_grad():
        return model(x)


def input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One forward and one backward pass to the input: the unit an attack pays per step."""
    xr = x.detach().requires_grad_(True)
    return torch.autograd.grad(F.cross_entropy(model(xr), y, reduction="sum"), xr)[0]


def parameter_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """One forward and one backward pass to the parameters: the unit a training step pays."""
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)


@dataclass(frozen=True)
class Target:
    """A bound a measured value must meet: ``value <= limit`` (``kind="max"``) or
    ``value >= limit`` (``kind="min"``), described in words for the table."""

    description: str
    limit: float
    kind: str = "max"

    def met(self, value: float | None) -> bool | None:
        if value is None or not math.isfinite(value):
            return None
        return value <= self.limit if self.kind == "max" else value >= self.limit


#: The targets of issue 8 (printed beside the measurements).
WITHIN_PASSES = Target("<= 1.15x its passes", 1.15)
NOT_SLOWER = Target("ours/theirs <= 1.05 (not slower; 5% for timing noise)", 1.05)
DEEPFOOL_SPEEDUP = Target("ours/theirs <= 0.1 (>= 10x faster) at equal mean ||r||_2", 0.1)


def agreement(measure: str, value: float, bound: float) -> dict[str, Any]:
    """That two implementations agree: ``value`` (e.g. the max |difference|) <= ``bound``."""
    return {"measure": measure, "value": float(value), "bound": float(bound), "ok": bool(value <= bound)}


def row(
    name: str,
    *,
    kind: str,
    model: str,
    batch: int,
    timing: Timing,
    images: int | None = None,
    unit: str = "images/s",
    ratio: float | None = None,
    ratio_min: float | None = None,
    ratio_of: str | None = None,
    target: Target | None = None,
    agreement: dict[str, Any] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One row of the results table.

    Args:
        name: the operation ("FGSM", "PGD-10", "forward").
        kind: ``"reference"`` (a pass every other row is divided by), ``"passes"``
            (ratio = time / the passes the operation must do), ``"peer"`` (ratio =
            ours / a peer library's time on the same model and batch) or ``"time"``
            (a duration with no reference).
        model, batch: what ran: the network and the images per call.
        timing: the call's wall time.
        images: images per call for the throughput (default ``batch``; 0 for none).
        unit: the throughput's unit (``images/s``, ``neurons/s``).
        ratio, ratio_min: the ratio of the medians (what targets are checked on) and
            of the fastest runs (less sensitive to load from other processes); see
            :func:`ratios`.
    """
    if kind not in ("reference", "passes", "peer", "time"):
        raise ValueError(f"kind must be reference, passes, peer or time, got {kind!r}")
    n = batch if images is None else images
    return {
        "name": name,
        "kind": kind,
        "model": model,
        "batch": int(batch),
        "seconds": timing.to_dict(),
        "throughput": (n / timing.median) if n and timing.median > 0 else None,
        "unit": unit,
        "ratio": None if ratio is None else float(ratio),
        "ratio_min": None if ratio_min is None else float(ratio_min),
        "ratio_of": ratio_of,
        "target": None if target is None else target.description,
        "target_limit": None if target is None else target.limit,
        "target_kind": None if target is None else target.kind,
        "target_met": None if target is None else target.met(ratio if ratio is not None else timing.median),
        "agreement": agreement,
        "note": note,
    }


def ratios(op: Timing, reference: Timing, factor: float = 1.0) -> dict[str, float]:
    """``ratio`` (medians) and ``ratio_min`` (fastest runs) of ``op`` over ``factor`` x
    ``reference``: keyword arguments for :func:`row`."""
    return {"ratio": op.median / (factor * reference.median), "ratio_min": op.min / (factor * reference.min)}


def skipped(name: str, reason: str) -> dict[str, str]:
    """A row that did not run, and why (printed and recorded)."""
    print(f"  skipped {name}: {reason}")
    return {"name": name, "reason": reason}


def zoo_models(archs: Sequence[str] | None = None) -> tuple[dict[str, nn.Module], str]:
    """The zoo nets in eval mode: the quick profile's trained weights when the artifact
    cache holds them (never trains), else untrained. Returns (models, which weights)."""
    from advinterp_lib.artifacts import trained_model, zoo_model_config
    from advinterp_lib.artifacts.cache import ArtifactCache
    from advinterp_lib.models import ZOO, build
    from advinterp_lib.runs.profiles import ZOO_TRAINING

    archs = list(archs or ZOO)
    cache = ArtifactCache()
    settings = ZOO_TRAINING["quick"]
    if all(cache.contains("zoo_model", zoo_model_config(a, seed=0, **settings)) for a in archs):
        models = {a: trained_model(a, **settings, seed=0, device="cpu", cache=cache, progress=False) for a in archs}
        return models, "quick-profile trained weights (artifact cache)"
    torch.manual_seed(0)
    return {a: build(a).eval() for a in archs}, "untrained (the quick-profile models are not in the artifact cache)"


def fashion_mnist_images(n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``n`` Fashion-MNIST test images [n, 1, 28, 28] and labels (a seeded, class-balanced
    subset), or seeded random images and labels when the data is not prepared."""
    from advinterp_lib.data import load

    try:
        test = load("fashion-mnist", "test")
    except FileNotFoundError as err:  # the loader's DataNotFoundError names the command to run
        g = torch.Generator().manual_seed(0)
        reason = f"random images (Fashion-MNIST not prepared: {err})"
        return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g), reason
    sub = test.subset(n, seed=0) if n < len(test) else test
    return sub.images[:n], sub.labels[:n], "Fashion-MNIST test images"


def device_slug(description: str | None = None) -> str:
    """A file name for the device: ``cpu: Intel(R) Xeon(R) ... (2 threads)`` ->
    ``cpu-intel-xeon-...-2-threads``."""
    text = (description or device_description()).lower().replace("(r)", "").replace("(tm)", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib(field: str) -> float | None:
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def available_memory_gib() -> float | None:
    """MemAvailable from /proc/meminfo (None where unknown)."""
    return _memory_gib("MemAvailable")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """Where the benchmark runs: device, CPU model, cores, threads, memory, versions, date,
    load average (other processes inflate the times; the file says how loaded it was)."""
    from advinterp_lib import __version__

    return {
        "device": device_description(),
        "device_slug": device_slug(),
        "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "memory_gib": _memory_gib("MemTotal"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "captum": _version("captum"),
        "torchattacks": _version("torchattacks"),
        "grad_cam": _version("grad-cam"),
        "advinterp_lib": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average": list(os.getloadavg()),
    }
