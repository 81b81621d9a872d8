"""Prose from a run's numbers: never a figure typed into markdown.

A chapter that discusses what a run measured (its own quick run, or the committed
``full`` profile) renders the sentence in a code cell tagged ``remove-input``, with
``display(Markdown(...))``: it reads a committed run with :func:`committed_results`
(None where that profile has not been run: say so with :func:`not_run_note`) and
formats with the helpers below. ``tests/test_prose_numbers.py`` fails on a result-like
number typed into a markdown cell.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..attacks.strong import STAGES
from ..consistency.sensitivity import describe_sensitivity
from ..tables import markdown_table
from ..training.gradient_masking import catastrophic_overfitting
from .results import read_results

__all__ = [
    "committed_results",
    "not_run_note",
    "format_percent",
    "format_number",
    "format_interval",
    "format_duration",
    "format_change",
    "change_verdict",
    "describe_table1_record",
    "describe_sensitivity_record",
    "describe_fgsm_training",
    "Row",
    "profile_comparison",
]


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


def _field(d: Any, key: str) -> float:
    return float(d[key] if isinstance(d, Mapping) else getattr(d, key))


def format_change(interval: Any, *, percent: bool = False) -> str:
    """A change with its interval and an explicit sign: ``"+0.012 [-0.003, +0.027]"``, or
    with ``percent`` ``"12.5% [10.1%, 14.9%]"`` (an accuracy; no sign).

    Args:
        interval: ``{"mean", "low", "high"}`` or an object with those attributes
            (e.g. a :class:`~advinterp_lib.stats.BootstrapInterval`).
    """
    f = (lambda v: f"{100 * v:.1f}%") if percent else (lambda v: f"{v:+.3f}")
    return f"{f(_field(interval, 'mean'))} [{f(_field(interval, 'low'))}, {f(_field(interval, 'high'))}]"


def change_verdict(interval: Any) -> str:
    """``"rises"`` (the interval lies above 0), ``"falls"`` (below 0) or ``"does not
    change beyond the interval"``; ``interval`` as in :func:`format_change`."""
    if _field(interval, "low") > 0:
        return "rises"
    if _field(interval, "high") < 0:
        return "falls"
    return "does not change beyond the interval"


def describe_table1_record(record: Mapping[str, Any]) -> str:
    """Chapter 11's sentence on a committed run (:func:`committed_results`): its sizes,
    wall time and device, whether consis_adv lies below consis for every model with the
    intervals apart, and each model's two intervals.

    Raises:
        KeyError: not a chapter-11 record (no ``numbers.table1``).
    """
    n = record["numbers"]
    apart = [ar for ar, row in n["table1"].items() if row["consis_adv_ci"]["high"] < row["consis_ci"]["low"]]
    verdict = (
        "consis_adv lies below consis for every model, the intervals apart"
        if len(apart) == len(n["table1"])
        else f"the intervals of consis_adv and consis are apart for {', '.join(apart) or 'no model'} only"
    )
    rows = "; ".join(f"{ar} {format_interval(row['consis_adv_ci'])} against {format_interval(row['consis_ci'])}"
                     for ar, row in n["table1"].items())  # fmt: skip
    return (
        f"**The committed `full` run** ({n['n_images']:,} test images, {n['n_adversarial']:,} adversarial images, "
        f"top {n['k_real']} real and {n['k_adversarial']} adversarial images per neuron; the chapter took "
        f"{format_duration(record['wall_time_s'])} on {record['device']}): {verdict}. consis_adv against consis, with "
        f"their 95% intervals: {rows}."
    )


def describe_sensitivity_record(record: Mapping[str, Any] | None, chapter: str) -> str:
    """What a committed run of ``chapter`` says about Table 1's sensitivity: the
    :func:`not_run_note` where ``record`` is None, a note where the run predates the
    section, else :func:`~advinterp_lib.consistency.sensitivity.describe_sensitivity` of it."""
    if record is None:
        return not_run_note(chapter)
    if "sensitivity" not in record["numbers"]:
        number = chapter.split("_", 1)[0]
        return (
            f"The committed `full` run predates this section; `python -m advinterp_lib run {number} --profile full` "
            "adds it."
        )
    return "**In the committed `full` run:** " + describe_sensitivity(record["numbers"]["sensitivity"])


def describe_fgsm_training(numbers: Mapping[str, Any], row: str = "FGSM-AT") -> str:
    """Chapter 9's verdict on catastrophic overfitting, one markdown line per architecture,
    from a run's ``numbers`` (``accuracy``, ``pgd_eval_steps``, ``finetune_*`` and, when
    measured, ``strong``).

    The flag (:func:`~advinterp_lib.training.gradient_masking.catastrophic_overfitting`:
    FGSM accuracy above 30 %, PGD's below 5 %) is judged twice: with PGD, an upper bound,
    and with the strong cascade's last stage where it was run. A model PGD clears but the
    strong attack breaks is said to be so.
    """
    lines = []
    for arch, rows in numbers["accuracy"].items():
        r = rows[row]
        fgsm, pgd = r["fgsm"]["top1"], r["pgd"]["top1"]
        line = (
            f"- **{arch}** (full profile, {numbers['finetune_epochs']} epoch(s) on {numbers['finetune_size']:,} "
            f"images): {row} keeps {fgsm:.0%} under FGSM and {pgd:.0%} under PGD-{numbers['pgd_eval_steps']}"
        )
        by_pgd = catastrophic_overfitting(r)
        strong = numbers.get("strong", {}).get(arch, {}).get(row)
        if strong is None:
            line += " — catastrophic overfitting" if by_pgd else " — no catastrophic overfitting"
        else:
            last = STAGES[-1]  # the cascade's last stage: the lowest accuracy it found
            by_strong = catastrophic_overfitting({"fgsm": r["fgsm"], "pgd": {"top1": strong[last]}})
            line += f" and {strong[last]:.0%} under the strong attack"
            if by_pgd == by_strong:
                line += " — catastrophic overfitting" if by_pgd else " — no catastrophic overfitting"
            else:
                line += (
                    f" — **catastrophic overfitting by the strong attack** (FGSM above 30 %, under 5 % left), "
                    f"which PGD-{numbers['pgd_eval_steps']} alone did not show"
                    if by_strong
                    else " — flagged by PGD, not by the strong attack"
                )
        lines.append(line + ".")
    return "\n".join(lines)


#: One row of :func:`profile_comparison`: a label, the path of keys into ``numbers``
#: (a list index where the value is a list) and optionally a formatter.
Row = tuple[str, Sequence[str | int]] | tuple[str, Sequence[str | int], Callable[[Any], str]]


def _at(numbers: Mapping[str, Any], path: Sequence[str | int]) -> Any:
    value: Any = numbers
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, Mapping) and {"mean", "low", "high"} <= set(value):
        return format_interval(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) >= 1000 or abs(value) < 0.001 else format_number(value)
    raise TypeError(f"a row should name a number, a bool or an interval, got {type(value).__name__}")


def profile_comparison(
    numbers: Mapping[str, Any],
    chapter: str,
    rows: Sequence[Row],
    *,
    profile: str = "full",
    root: str | Path | None = None,
) -> str:
    """Markdown: this run's numbers beside a committed run's (``profile``), one row each.

    A chapter's quick run and its committed full-scale run measure the same things on
    different amounts of data; this puts them side by side, read from both results,
    under a title that names the committed run's device, date and wall time. Where the
    profile has not been run, :func:`not_run_note`. When this run *is* the committed one
    (a full-profile run renders its chapter after writing its results), one column.

    Args:
        numbers: this run's numbers (what the chapter writes to its results).
        chapter: the results name, ``NN_slug``.
        rows: ``(label, path)`` or ``(label, path, format)``: ``path`` the keys into
            ``numbers`` (e.g. ``("auc", "vgg", "Grad-CAM", "deletion")``); the value a
            number, a bool or a stored interval (``mean``, ``low``, ``high``), shown
            as ``–`` where a run lacks it. With a ``format``, the value may be anything
            it reads (an empty path hands it the whole ``numbers``, e.g. to look a
            budget up in ``eps_values``).

    Raises:
        ValueError: no rows, or a path that neither run holds (a typo, not a gap).
        TypeError: a path that leads to something other than a number or an interval.
    """
    if not rows:
        raise ValueError("rows: give at least one (label, path) row")
    record = committed_results(chapter, profile, root=root)
    if record is None:
        return not_run_note(chapter, profile)
    table = []
    for row in rows:
        label, path = row[0], row[1]
        show: Callable[[Any], str] = row[2] if len(row) == 3 else _shown
        ours, theirs = _at(numbers, path), _at(record["numbers"], path)
        if ours is None and theirs is None:
            raise ValueError(f"row {label!r}: neither run holds numbers.{'.'.join(map(str, path))}")
        table.append([label, "–" if ours is None else show(ours), "–" if theirs is None else show(theirs)])
    run = f"({record['device']}, {str(record['date'])[:10]}, {format_duration(record['wall_time_s'])})"
    if _same_numbers(numbers, record["numbers"]):
        title = f"**This run is the committed `{profile}` run** {run}:"
        return title + "\n\n" + markdown_table(["", f"`{profile}` profile"], [r[:2] for r in table], align="lr")
    title = f"**This run beside the committed `{profile}` run** {run}:"
    return title + "\n\n" + markdown_table(["", "this run", f"`{profile}` profile"], table, align="lrr")


def _same_numbers(numbers: Mapping[str, Any], recorded: Mapping[str, Any]) -> bool:
    """Whether ``numbers``, written as results JSON, read back as ``recorded``."""
    try:
        return json.loads(json.dumps(numbers)) == recorded
    except (TypeError, ValueError):  # not JSON (a tensor, NaN): not what a results file holds
        return False
