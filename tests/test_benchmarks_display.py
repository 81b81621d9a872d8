"""The appendix page's display code in benchmarks/__main__.py: the markdown it writes for
a results file (against the page's former inline code), the ratio bars, the schema check."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from benchmarks.__main__ import (  # noqa: E402
    check_record,
    fmt,
    group_markdown,
    load_records,
    machine_markdown,
    ratio_bars,
    records_markdown,
    targets_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "results" / "bench").glob("*.json"))


def row(
    name: str, kind: str = "passes", ratio: float | None = 1.1, met: bool | None = True, limit: float | None = 1.15
):
    return {
        "name": name, "kind": kind, "model": "m", "batch": 8,
        "seconds": {"median": 0.5, "q1": 0.4, "q3": 0.6, "min": 0.3, "max": 0.7, "repeats": 3},
        "throughput": 16.0, "unit": "images/s", "ratio": ratio, "ratio_min": 1.05, "ratio_of": "one pass",
        "target": None if met is None else "within 1.15x", "target_limit": limit, "target_kind": "max",
        "target_met": met, "agreement": {"measure": "max |diff|", "value": 1e-7, "bound": 1e-5, "ok": True},
        "note": "a note",
    }  # fmt: skip


def record() -> dict:
    group = {"group": "attacks", "quick": False, "date": "2024-01-01", "wall_s": 12.3, "threads": 2,
             "load_average": [0.5, 0.4, 0.3], "rows": [row("fgsm"), row("ref", "reference", None, None, None),
             row("pgd", met=False)], "skipped": [{"name": "x", "reason": "absent"}]}  # fmt: skip
    machine = {"device": "CPU X", "device_slug": "cpu-x", "cpu_model": "X", "cpus_available": 2, "threads": 2,
               "torch": "2", "date": "2024-01-01"}  # fmt: skip
    return {"schema": 1, "machine": machine, "groups": {"attacks": group}}


def old_group_lines(group: dict) -> str:
    """The page's inline code before it moved here, except that a ``|`` inside a cell is now
    escaped (markdown_table does it; the old page's ``mean ||r||_2`` broke its row)."""
    load = group["load_average"][0]
    busy = " **(the machine was busy: times inflated)**" if load > group["threads"] + 0.5 else ""
    lines = [
        f"**{group['group']}**{' (quick smoke test)' if group['quick'] else ''}: {group['date']}, "
        f"{group['wall_s']:.0f} s, load average {load:.2f} on {group['threads']} threads{busy}.",
        "",
        "| operation | model | batch | throughput | median s [q1, q3] | ratio (fastest) | ratio of | target "
        "| agreement |",
        "|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for r in group["rows"]:
        s = r["seconds"]
        thr = "–" if r["throughput"] is None else f"{r['throughput']:.4g} {r['unit']}"
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.3g} ({fmt(r.get('ratio_min'))})"
        met = {True: "✅ met", False: "❌ missed", None: ""}[r["target_met"]]
        target = f"{r['target']}: {met}" if r["target"] else ""
        a = r["agreement"]
        agree = (
            "" if a is None else f"{a['measure']}: {fmt(a['value'])} ≤ {fmt(a['bound'])} {'✅' if a['ok'] else '❌'}"
        )
        agree, target = agree.replace("|", "\\|"), target.replace("|", "\\|")
        lines.append(
            f"| {r['name']} | {r['model']} | {r['batch'] or ''} | {thr} | {fmt(s['median'])} "
            f"[{fmt(s['q1'])}, {fmt(s['q3'])}] | {ratio} | {r['ratio_of'] or ''} | {target} | {agree} |"
        )
    lines += [f"- skipped {s['name']}: {s['reason']}" for s in group["skipped"]]
    notes = [f"- {r['name']} ({r['model']}): {r['note']}" for r in group["rows"] if r.get("note")]
    if notes:
        lines += ["", "Notes:", ""] + notes
    return "\n".join(lines)


def test_fmt() -> None:
    assert fmt(None) == "–" and fmt(1.23456) == "1.23" and fmt(1234.5, 2) == "1.2e+03"


def test_group_markdown_equals_the_pages_former_table() -> None:
    group = record()["groups"]["attacks"]
    assert group_markdown(group) == old_group_lines(group).replace(
        "|---|---|---:|---:|---:|---:|---|---|---|", "|---|---|---:|---:|---:|---:|---|---|---|"
    )
    group["load_average"][0] = 5.0
    assert "(the machine was busy" in group_markdown(group)


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_files_render_as_before(path: Path) -> None:
    rec = json.loads(path.read_text())
    check_record(path.stem, rec)
    for group in rec["groups"].values():
        assert group_markdown(group) == old_group_lines(group)


def test_targets_and_machine_markdown() -> None:
    rec = record()
    lines = targets_markdown(rec).split("\n")
    assert lines[0] == "**CPU X**" and lines[3] == "|---|---|---|---:|---|---|"
    assert lines[4:] == [
        "| attacks | fgsm | m | 1.1 | within 1.15x | ✅ |",
        "| attacks | pgd | m | 1.1 | within 1.15x | ❌ |",
    ]
    assert machine_markdown(rec["machine"]).startswith("### CPU X\n\nX; 2 CPUs available, 2 torch threads;")


def test_records(tmp_path: Path) -> None:
    assert records_markdown({}, "results/bench").startswith("**No benchmark result is committed yet**")
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "q.json").write_text("{}")
    (tmp_path / "cpu-x.json").write_text(json.dumps(record()))
    records = load_records(tmp_path)
    assert list(records) == ["cpu-x"]
    assert records_markdown(records, "r") == "- `cpu-x.json`: CPU X, 2024-01-01"


def test_ratio_bars() -> None:
    fig = ratio_bars(record())
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 2  # the reference row has no ratio
    assert [round(b.get_width(), 3) for b in bars] == [1.1, 1.1]
    colours = [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars]
    assert colours == [matplotlib.colors.to_hex("tab:green"), matplotlib.colors.to_hex("tab:red")]
    ticks = [line for line in ax.get_lines() if np.allclose(line.get_xdata(), 1.15)]
    assert len(ticks) == 2 and ax.get_xscale() == "log"
    plt.close(fig)
    empty = record()
    empty["groups"]["attacks"]["rows"] = [row("ref", "reference", None, None, None)]
    assert ratio_bars(empty) is None


def test_check_record_refuses_a_bad_file() -> None:
    rec = record()
    check_record("cpu-x", rec)
    with pytest.raises(ValueError, match="slug"):
        check_record("other", rec)
    rec["groups"]["attacks"]["rows"][0]["kind"] = "odd"
    with pytest.raises(ValueError, match="odd"):
        check_record("cpu-x", rec)
