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
