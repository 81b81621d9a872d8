"""The benchmark suite: measure on this device, print a table, write the results file.

    python -m benchmarks                      # every group (make bench)
    python -m benchmarks --quick              # tiny batches and one repeat: a smoke test
    python -m benchmarks --only attacks       # one group (repeat --only for several)
    python -m benchmarks --threads 2 --out results/bench

Writes ``<out>/<device-slug>.json`` (``<out>/quick/<device-slug>.json`` with
``--quick``, so a smoke test never replaces a real measurement); ``<out>`` defaults to
``results/bench``. A run of some groups keeps the other groups already in the file.

The file::

    {"schema": 1,
     "machine": {"device", "device_slug", "cpu_model", "cpu_count", "threads", "torch", "date",
                 "load_average", ...},
     "groups": {"<group>": {"group", "module", "quick", "date", "wall_s", "threads",
                            "load_average", "setup": {...}, "rows": [row, ...],
                            "skipped": [{"name", "reason"}, ...]}}}

and a row (``benchmarks.common.row``)::

    {"name", "kind": "reference" | "passes" | "peer" | "time", "model", "batch",
     "seconds": {"median", "q1", "q3", "min", "max", "repeats"},
     "throughput", "unit", "ratio", "ratio_min", "ratio_of", "target", "target_limit", "target_kind",
     "target_met", "agreement": {"measure", "value", "bound", "ok"} | null, "note"}
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from advinterp_lib import roots
from advinterp_lib.atomic import atomic_write_text
from advinterp_lib.tables import markdown_table
from benchmarks.common import machine, set_threads

SCHEMA = 1

#: The groups, in the order they run (the models first: they are the reference).
GROUPS: dict[str, str] = {
    "models": "benchmarks.bench_models",
    "attacks": "benchmarks.bench_attacks",
    "attribution": "benchmarks.bench_interpret_attribution",
    "topk": "benchmarks.bench_interpret_topk",
    "consistency": "benchmarks.bench_consistency",
    "training": "benchmarks.bench_training",
    "explore": "benchmarks.bench_explore",
    "book": "benchmarks.bench_book",
}

ROW_KEYS = (
    "name",
    "kind",
    "model",
    "batch",
    "seconds",
    "throughput",
    "unit",
    "ratio",
    "ratio_min",
    "ratio_of",
    "target",
    "target_limit",
    "target_kind",
    "target_met",
    "agreement",
    "note",
)


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _conform(result: Any) -> dict[str, Any]:
    """A group's ``run()`` result in the file's schema: every row gets every key (None
    where the group did not say); a result without rows is kept under ``raw``."""
    if not isinstance(result, dict):
        return {"setup": {}, "rows": [], "skipped": [], "raw": result}
    out = dict(result)
    rows = out.get("rows")
    if not isinstance(rows, list):
        out = {"setup": {}, "rows": [], "skipped": [], "raw": result}
        rows = []
    out["rows"] = [
        {key: r.get(key) for key in ROW_KEYS} | {k: v for k, v in r.items() if k not in ROW_KEYS}
        for r in rows
        if isinstance(r, dict)
    ]
    out.setdefault("setup", {})
    out.setdefault("skipped", [])
    return out


def _from_training(result: Any) -> Any:
    """benchmarks/bench_training.py returns ``{"objectives": {label: {...}}, ...}``: one
    row per objective (epoch time over what its passes predict; target within 1.2x
    either way), the rest kept as the group's setup."""
    if not isinstance(result, dict) or not isinstance(result.get("objectives"), dict) or "rows" in result:
        return result
    rows = []
    for label, o in result["objectives"].items():
        med = float(o["seconds_median"])
        within = o.get("within_target")
        rows.append(
            {
                "name": f"one epoch, {label}",
                "kind": "passes",
                "model": result.get("arch"),
                "batch": result.get("batch_size"),
                "seconds": {
                    "median": med,
                    "q1": None,
                    "q3": None,
                    "min": None,
                    "max": None,
                    "repeats": result.get("repeats"),
                    "spread": o.get("seconds_spread"),
                },
                "throughput": result["images"] / med if result.get("images") and med > 0 else None,
                "unit": "images/s",
                "ratio": o.get("measured_over_predicted"),
                "ratio_of": f"epoch time / the time its passes predict (x{o.get('ratio', float('nan')):.2f} standard "
                f"training, predicted x{o.get('predicted', float('nan')):.2f}; {o.get('forward')} forward, "
                f"{o.get('backward')} backward passes per batch)",
                "target": "within 1.2x of its passes (either way)",
                "target_limit": 1.2,
                "target_kind": "max",
                "target_met": within,
                "agreement": None,
                "note": f"{result.get('images')} images per epoch; clock {result.get('clock')}, "
                f"{result.get('threads')} thread(s) (set by bench_training)",
            }
        )
    setup = {k: v for k, v in result.items() if k != "objectives"}
    return {"setup": setup, "rows": rows, "skipped": []}


#: Groups whose run() has its own return shape, and how to turn it into rows.
ADAPTERS = {"training": _from_training}


def run_group(name: str, quick: bool) -> dict[str, Any]:
    """Import the group's module (skipping it, with the reason, when the module is
    absent) and run it."""
    module_name = GROUPS[name]
    print(f"\n== {name} ({module_name}){' [quick]' if quick else ''}", flush=True)
    start = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        reason = f"{module_name.replace('.', '/')}.py is absent"
        print(f"  skipped {name}: {reason}")
        result = {"setup": {}, "rows": [], "skipped": [{"name": name, "reason": reason}]}
    else:
        result = _conform(ADAPTERS.get(name, lambda r: r)(module.run(quick=quick)))
    return {
        "group": name,
        "module": module_name,
        "quick": quick,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_s": round(time.perf_counter() - start, 2),
        "threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()),
        **result,
    }


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def format_group(group: dict[str, Any]) -> str:
    """The group as a text table (one line per row; agreement and notes indented below)."""
    lines = [f"-- {group['group']}: {group['wall_s']:.1f} s, load average {group['load_average'][0]:.2f}"]
    for key, value in group.get("setup", {}).items():
        lines.append(f"   {key}: {value}")
    header = (
        f"   {'operation':44} {'model':26} {'batch':>5} {'throughput':>16} "
        f"{'median s [min, max]':>26} {'ratio (of mins)':>16}  target"
    )
    lines += [header, "   " + "-" * (len(header) - 3)]
    for r in group["rows"]:
        s = r.get("seconds") or {}
        spread = f"{_fmt(s.get('median'))} [{_fmt(s.get('min'))}, {_fmt(s.get('max'))}]"
        thr = (
            "-"
            if r.get("throughput") is None
            else f"{r['throughput']:.4g} {(r.get('unit') or '').replace('images', 'img')}"
        )
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.3g} ({_fmt(r.get('ratio_min'))})"
        met = {True: "met", False: "MISSED", None: ""}[r.get("target_met")]
        target = f"{r['target']} {met}" if r.get("target") else ""
        lines.append(
            f"   {str(r['name'])[:44]:44} {str(r.get('model'))[:26]:26} {_fmt(r.get('batch')):>5} {thr:>16} "
            f"{spread:>26} {ratio:>16}  {target}"
        )
        if r.get("ratio_of"):
            lines.append(f"      ratio = {r['ratio_of']}")
        a = r.get("agreement")
        if a:
            lines.append(
                f"      agreement: {a['measure']} = {_fmt(a['value'])} (bound {_fmt(a['bound'])}): "
                f"{'ok' if a['ok'] else 'DISAGREE'}"
            )
        if r.get("note"):
            lines.append(f"      note: {r['note']}")
    for s in group.get("skipped", []):
        lines.append(f"   skipped {s['name']}: {s['reason']}")
    if "raw" in group:
        lines.append(f"   (no rows; the group returned) {json.dumps(_finite(group['raw']), default=str)[:500]}")
    return "\n".join(lines)


def target_summary(groups: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(rows meeting their target, rows missing it), as "group: name (model) ratio vs target"."""
    met, missed = [], []
    for g in groups.values():
        for r in g["rows"]:
            if r.get("target_met") is None:
                continue
            value = r.get("ratio") if r.get("ratio") is not None else (r.get("seconds") or {}).get("median")
            line = f"{g['group']}: {r['name']} ({r.get('model')}) {_fmt(value)} vs {r['target']}"
            (met if r["target_met"] else missed).append(line)
    return met, missed


# --- the appendix page (book/appendix/benchmarks.ipynb) shows the files with these ----------------------


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits for the page's tables; "–" for a missing value."""
    return "–" if value is None else f"{value:.{digits}g}"


def load_records(folder: Path) -> dict[str, dict[str, Any]]:
    """The results files ``<folder>/*.json`` by device slug, sorted (``<folder>/quick/``,
    the smoke tests, is not read)."""
    return {f.stem: json.loads(f.read_text()) for f in sorted(Path(folder).glob("*.json"))}


def records_markdown(records: dict[str, dict[str, Any]], folder: str | Path) -> str:
    """One line per results file (device, date), or a note that none is committed."""
    if not records:
        return (
            f"**No benchmark result is committed yet** (no `*.json` under `{folder}/`). "
            "Run `make bench` on an otherwise idle machine and commit the file it writes."
        )
    return "\n".join(
        f"- `{name}.json`: {r['machine']['device']}, {r['machine']['date']}" for name, r in records.items()
    )


def machine_markdown(m: dict[str, Any]) -> str:
    """A device's heading and the machine it ran on (CPU, threads, library versions, date)."""
    return (
        f"### {m['device']}\n\n{m['cpu_model']}; {m['cpus_available']} CPUs available, {m['threads']} torch "
        f"threads; {m.get('memory_gib')} GiB; torch {m['torch']}, torchvision {m.get('torchvision')}, "
        f"Captum {m.get('captum')}, torchattacks {m.get('torchattacks')}, pytorch-grad-cam {m.get('grad_cam')}; "
        f"written {m['date']}."
    )


def group_markdown(group: dict[str, Any]) -> str:
    """A group's line (date, wall time, load: flagged when above the threads), its table
    of rows, the skipped measurements and the rows' notes, as markdown."""
    load = group["load_average"][0]
    busy = " **(the machine was busy: times inflated)**" if load > group["threads"] + 0.5 else ""
    rows = []
    for r in group["rows"]:
        s = r["seconds"]
        thr = "–" if r["throughput"] is None else f"{r['throughput']:.4g} {r['unit']}"
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.3g} ({fmt(r.get('ratio_min'))})"
        met = {True: "✅ met", False: "❌ missed", None: ""}[r["target_met"]]
        a = r["agreement"]
        agree = (
            "" if a is None else f"{a['measure']}: {fmt(a['value'])} ≤ {fmt(a['bound'])} {'✅' if a['ok'] else '❌'}"
        )
        rows.append([
            r["name"], r["model"], r["batch"] or "", thr, f"{fmt(s['median'])} [{fmt(s['q1'])}, {fmt(s['q3'])}]",
            ratio, r["ratio_of"] or "", f"{r['target']}: {met}" if r["target"] else "", agree,
        ])  # fmt: skip
    headers = ["operation", "model", "batch", "throughput", "median s [q1, q3]", "ratio (fastest)", "ratio of",
               "target", "agreement"]  # fmt: skip
    lines = [
        f"**{group['group']}**{' (quick smoke test)' if group['quick'] else ''}: {group['date']}, "
        f"{group['wall_s']:.0f} s, load average {load:.2f} on {group['threads']} threads{busy}.",
        "",
        markdown_table(headers, rows, align="--rrrr---"),
    ]
    lines += [f"- skipped {s['name']}: {s['reason']}" for s in group["skipped"]]
    notes = [f"- {r['name']} ({r['model']}): {r['note']}" for r in group["rows"] if r.get("note")]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines)


def targets_markdown(record: dict[str, Any]) -> str:
    """Every row of a results file that has a target: its measured ratio (or median
    time) and whether it met the target (✅, ❌, or ? where undecided)."""
    rows = []
    for group in record["groups"].values():
        for r in group["rows"]:
            if r["target"] is None:
                continue
            value = r["ratio"] if r["ratio"] is not None else r["seconds"]["median"]
            mark = "✅" if r["target_met"] else "❌" if r["target_met"] is False else "?"
            rows.append([group["group"], r["name"], r["model"], fmt(value), r["target"], mark])
    table = markdown_table(["group", "operation", "model", "measured", "target", ""], rows, align="---r--")
    return f"**{record['machine']['device']}**\n\n{table}"


def ratio_bars(record: dict[str, Any]) -> Any:
    """A horizontal bar per ``passes`` or ``peer`` row with a ratio (log scale): green
    where it meets its target, red where it misses, grey without one; a black tick at
    the target's limit and a dashed line at 1. Returns the matplotlib figure, or
    ``None`` when the file has no such row."""
    import matplotlib.pyplot as plt  # only the page draws

    bars = [
        (f"{g['group']}: {r['name']} ({r['model']})", r)
        for g in record["groups"].values()
        for r in g["rows"]
        if r["kind"] in ("passes", "peer") and r["ratio"] is not None
    ]
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(bars) + 1.2))
    colours = {True: "tab:green", False: "tab:red", None: "tab:grey"}
    ys = range(len(bars))
    ax.barh(ys, [r["ratio"] for _, r in bars], color=[colours[r["target_met"]] for _, r in bars])
    for y, (_, r) in zip(ys, bars, strict=True):
        if r["target_limit"] is not None:
            ax.plot([r["target_limit"]] * 2, [y - 0.4, y + 0.4], color="black", linewidth=2)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks(list(ys), [label for label, _ in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ratio (log scale)")
    ax.set_title(record["machine"]["device"], fontsize=9)
    fig.tight_layout()
    return fig


def check_record(name: str, record: dict[str, Any]) -> None:
    """Check that a results file named ``name`` has the suite's schema: its slug, and
    every row of a known kind with a median time >= 0.

    Raises:
        ValueError: the first thing that does not hold.
    """
    if record.get("schema") != SCHEMA or record["machine"]["device_slug"] != name:
        raise ValueError(f"{name}: schema {record.get('schema')!r} (expected {SCHEMA}) or another device slug")
    for group in record["groups"].values():
        for r in group["rows"]:
            if r["kind"] not in ("reference", "passes", "peer", "time") or not r["seconds"]["median"] >= 0:
                raise ValueError(f"{name}: row {r['name']!r} has kind {r['kind']!r}, median {r['seconds']['median']}")


def write_results(groups: dict[str, dict[str, Any]], path: Path) -> Path:
    """Merge ``groups`` into the results file at ``path`` (other groups kept), atomically."""
    record: dict[str, Any] = {"schema": SCHEMA, "groups": {}}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError:
            old = {}
        if isinstance(old, dict) and old.get("schema") == SCHEMA and isinstance(old.get("groups"), dict):
            record["groups"] = old["groups"]
    record["machine"] = machine()
    record["groups"].update(groups)
    record["groups"] = {
        name: record["groups"][name]
        for name in sorted(record["groups"], key=lambda n: list(GROUPS).index(n) if n in GROUPS else len(GROUPS))
    }
    atomic_write_text(json.dumps(_finite(record), indent=1, default=str) + "\n", path)
    return path


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the suite; return the path of the results file written."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny batches, one repeat (a smoke test)")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(GROUPS),
        metavar="GROUP",
        help=f"run only this group (repeatable): {', '.join(GROUPS)}",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all this process may use)")
    parser.add_argument("--out", type=Path, default=None, help="folder of the results file (default results/bench)")
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    torch.manual_seed(0)
    info = machine()
    print(
        f"device {info['device']}; {info['cpu_model']}, {info['cpus_available']} CPUs available, "
        f"{threads} torch threads; torch {info['torch']}; load average {info['load_average'][0]:.2f}"
    )
    if info["load_average"][0] > threads + 0.5:
        print(
            f"WARNING: load average {info['load_average'][0]:.1f} exceeds the {threads} threads: other processes "
            "inflate every time (with several threads, each parallel region also waits for a descheduled "
            "thread); measure on an idle machine, or compare ratios from a --threads 1 run"
        )
    names = [n for n in GROUPS if n in (args.only or GROUPS)]
    groups = {}
    for name in names:
        groups[name] = run_group(name, args.quick)
        print(format_group(groups[name]), flush=True)

    met, missed = target_summary(groups)
    print(f"\ntargets: {len(met)} met, {len(missed)} missed")
    for line in missed:
        print(f"  MISSED {line}")
    out = args.out if args.out is not None else roots.results_root() / "bench"
    path = write_results(groups, (out / "quick" if args.quick else out) / f"{info['device_slug']}.json")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
