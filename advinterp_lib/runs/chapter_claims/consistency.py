"""The claims of the chapters of part (consistency) of the book (see :mod:`advinterp_lib.runs.chapter_claims`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .check import ClaimCheck

#: The claim functions of this part's chapters, by ``NN_slug`` (filled in below).
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {}
