"""Quick-profile book execution: each chapter's wall time, and their sum.

Reads, never runs: each chapter's :class:`~advinterp_lib.runs.results.ChapterRun`
writes its wall time to ``results/quick/<chapter>.json`` when the chapter executes
(``make book``, nbval or ``python -m advinterp_lib run``). Target: the whole book under
15 minutes on 2 CPU cores with a cold cache. The recorded time runs from the chapter's
``ChapterRun`` to its ``write`` (kernel start and imports before it are not counted),
and the file does not say whether the artifact cache was cold: a chapter that found
its models cached is faster than a cold run.

    python -m benchmarks --only book
"""

from __future__ import annotations

from typing import Any

from advinterp_lib.runs.chapters import list_chapters
from advinterp_lib.runs.results import read_results
from benchmarks.common import Target, Timing, row, skipped

UNDER_15_MIN = Target("under 900 s (15 min) on 2 CPU cores, cold cache", 900.0)


def run(quick: bool = False) -> dict[str, Any]:
    """The recorded wall time of every chapter's quick-profile run (``quick`` changes nothing)."""
    rows, skips, devices = [], [], set()
    total = 0.0
    for chapter in list_chapters():
        try:
            record = read_results("quick", chapter.name)
        except (FileNotFoundError, ValueError) as err:
            skips.append(skipped(chapter.name, str(err)))
            continue
        seconds = float(record["wall_time_s"])
        total += seconds
        devices.add(record.get("device", "unknown device"))
        rows.append(
            row(
                chapter.name,
                kind="time",
                model=record.get("device", "unknown device"),
                batch=0,
                timing=Timing.of([seconds]),
                images=0,
                note=f"run {record.get('date', '?')}",
            )
        )
    if rows:
        missing = f"; {len(skips)} chapter(s) without a recorded time, so the sum is a lower bound" if skips else ""
        total_row = row(
            f"book, {len(rows)} chapters",
            kind="time",
            model="; ".join(sorted(devices)),
            batch=0,
            timing=Timing.of([total]),
            images=0,
            target=UNDER_15_MIN,
            note="sum of the chapters' recorded wall times (cache state not recorded; "
            f"kernel start and imports not counted){missing}",
        )
        if skips and total_row["target_met"]:
            total_row["target_met"] = None  # a lower bound under the limit proves nothing
        rows.append(total_row)
    return {"setup": {"source": "results/quick/<chapter>.json, wall_time_s"}, "rows": rows, "skipped": skips}


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "book"])
