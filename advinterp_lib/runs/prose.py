"""Prose from a run's numbers: never a figure typed into markdown.

A chapter that discusses what a run measured (its own quick run, or the committed
``full`` profile) renders the sentence in a code cell tagged ``remove-input``, with
``display(Markdown(...))``: it reads a committed run with :func:`committed_results`
(None where that profile has not been run: say so with :func:`not_run_note`) and
formats with the helpers below. ``tests/test_prose_numbers.py`` fails on a result-like
number typed into a markdown cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .results import read_results

__all__ = ["committed_results", "not_run_note", "format_percent", "format_number", "format_interval", "format_duration"]


def committed_results(chapter: str, profile: str = "full", *, root: str | Path | None = None) -> dict[str, Any] | None:
    """The record ``<root>/<profile>/<chapter>.json`` (as
    :func:`~advinterp_lib.runs.results.read_results`: ``numbers``, ``wall_time_s``,
    ``device``, ...), or None when that profile has not been run for ``chapter``.

    Args:
        chapter: the results name, ``NN_slug`` (e.g. ``"11_inconsistent_representations"``).
        profile: ``"full"`` (the committed full-scale runs), ``"imagenet"``, ...
        root: default :func:`advinterp_lib.roots.results_root`.

    Raises:
        ValueError: the file exists but is not a results file.
    """
    try:
        return read_results(profile, chapter, root=root)
    except FileNotFoundError:
        return None


def not_run_note(chapter: str, profile: str = "full") -> str:
    """The sentence a chapter shows where a profile's results would go but are absent."""
    number = chapter.split("_", 1)[0]
    return (f"The `{profile}` profile has not been run for this chapter yet: "
            f"`python -m advinterp_lib run {number} --profile {profile}` writes `results/{profile}/{chapter}.json`, "
            f"and this paragraph then reports its numbers.")  # fmt: skip


def format_percent(value: float, digits: int = 0) -> str:
    """``0.8466 -> "85%"`` (``digits`` decimals of the percentage)."""
    return f"{float(value):.{int(digits)}%}"


def format_number(value: float, digits: int = 3) -> str:
    """A float with ``digits`` decimals and a true minus sign (``-1.41 -> "−1.41"``)."""
    return f"{float(value):.{int(digits)}f}".replace("-", "−")


def format_interval(interval: Mapping[str, Any], digits: int = 3) -> str:
    """``{"mean", "low", "high"} -> "0.733 [0.721, 0.745]"`` (an interval as results store it)."""
    return (f"{format_number(interval['mean'], digits)} "
            f"[{format_number(interval['low'], digits)}, {format_number(interval['high'], digits)}]")  # fmt: skip


def format_duration(seconds: float) -> str:
    """A wall time in the unit a reader expects: ``"45 s"``, ``"3.5 min"``, ``"37 min"``, ``"2.5 h"``."""
    s = float(seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 600:
        return f"{s / 60:.1f} min"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
