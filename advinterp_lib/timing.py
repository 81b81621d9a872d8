"""Wall-clock timing of one call: how the chapters report what a method costs.

>>> out, seconds = timed(sum, [1, 2, 3])
>>> out
6
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["timed"]

T = TypeVar("T")


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``fn(*args, **kwargs)`` and the wall-clock seconds it took (``time.perf_counter``).

    Raises:
        TypeError: ``fn`` is not callable.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
