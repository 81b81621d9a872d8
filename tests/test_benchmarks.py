"""The benchmark suite (benchmarks/, `make bench`): it runs, and its results file has
the schema the appendix page reads. Timing values are not checked (they depend on the
machine and its load); their relations are (min <= q1 <= median <= q3 <= max)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest

from benchmarks.__main__ import GROUPS, ROW_KEYS, SCHEMA, _conform, main, run_group
from benchmarks.common import Target, Timing, device_slug, ratios

ROOT = Path(__file__).resolve().parents[1]
APPENDIX = ROOT / "book" / "appendix" / "benchmarks.ipynb"


def check_row(r: dict) -> None:
    assert set(ROW_KEYS) <= set(r)
    assert isinstance(r["name"], str) and r["name"]
    assert r["kind"] in ("reference", "passes", "peer", "time")
    s = r["seconds"]
    assert set(s) == {"median", "q1", "q3", "min", "max", "repeats"}
    assert 0 <= s["min"] <= s["q1"] <= s["median"] <= s["q3"] <= s["max"] and s["repeats"] >= 1
    assert r["throughput"] is None or r["throughput"] > 0
    if r["target"] is None:
        assert r["target_met"] is None
    else:
        assert r["target_kind"] in ("max", "min") and isinstance(r["target_limit"], float)
        value = r["ratio"] if r["ratio"] is not None else s["median"]
        if r["target_met"] is not None:  # None: not decidable (e.g. the book's sum misses chapters)
            assert r["target_met"] == (
                value <= r["target_limit"] if r["target_kind"] == "max" else value >= r["target_limit"]
            )
    if r["agreement"] is not None:
        a = r["agreement"]
        assert set(a) == {"measure", "value", "bound", "ok"} and a["ok"] == (a["value"] <= a["bound"])


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    return main(["--quick", "--threads", "2", "--only", "consistency", "--only", "book", "--out", str(out)])


def test_quick_run_writes_the_schema(results_file: Path) -> None:
    assert results_file.parent.name == "quick", "a --quick run never replaces a real measurement"
    record = json.loads(results_file.read_text())
    assert record["schema"] == SCHEMA
    m = record["machine"]
    assert results_file.stem == m["device_slug"] == device_slug(m["device"])
    assert m["threads"] == 2
    for key in ("cpu_model", "cpu_count", "torch", "date", "load_average", "platform"):
        assert m[key] is not None
    assert list(record["groups"]) == ["consistency", "book"]
    for name, g in record["groups"].items():
        assert g["group"] == name and g["module"] == GROUPS[name] and g["quick"] is True
        assert g["wall_s"] >= 0 and g["threads"] == 2
        assert isinstance(g["setup"], dict) and isinstance(g["skipped"], list)
        for r in g["rows"]:
            check_row(r)
    consis = record["groups"]["consistency"]["rows"][0]
    assert consis["target"] == "under 1 s" and consis["unit"] == "neurons/s" and consis["batch"] == 512


def test_book_rows_sum_the_chapters(results_file: Path) -> None:
    rows = json.loads(results_file.read_text())["groups"]["book"]["rows"]
    if not rows:
        pytest.skip("no results/quick/*.json recorded in this checkout")
    *chapters, total = rows
    assert total["seconds"]["median"] == pytest.approx(sum(r["seconds"]["median"] for r in chapters), abs=1e-6)
    assert total["target_limit"] == 900.0


def test_a_run_of_one_group_keeps_the_others(results_file: Path) -> None:
    main(["--quick", "--only", "book", "--out", str(results_file.parents[1])])
    assert list(json.loads(results_file.read_text())["groups"]) == ["consistency", "book"]


def test_an_absent_group_module_is_skipped_with_its_reason(monkeypatch) -> None:
    monkeypatch.setitem(GROUPS, "absent", "benchmarks.bench_absent_group")
    g = run_group("absent", quick=True)
    assert g["rows"] == [] and "bench_absent_group.py is absent" in g["skipped"][0]["reason"]


def test_a_result_without_rows_is_kept_raw_and_rows_get_every_key() -> None:
    assert _conform({"epochs": 1})["raw"] == {"epochs": 1}
    row = _conform({"rows": [{"name": "x", "extra": 1}]})["rows"][0]
    assert set(ROW_KEYS) <= set(row) and row["extra"] == 1 and row["ratio"] is None


def test_timing_is_median_with_inclusive_quartiles() -> None:
    t = Timing.of([3.0, 1.0, 2.0, 4.0])
    assert (t.median, t.q1, t.q3, t.min, t.max, t.repeats) == (2.5, 1.75, 3.25, 1.0, 4.0, 4)
    assert Timing.of([2.0]).to_dict() == {"median": 2.0, "q1": 2.0, "q3": 2.0, "min": 2.0, "max": 2.0, "repeats": 1}
    assert ratios(t, Timing.of([0.5, 1.5]), 2.0) == {"ratio": 2.5 / 2.0, "ratio_min": 1.0 / 1.0}


def test_targets_and_device_slug() -> None:
    assert Target("x", 1.15).met(1.15) and not Target("x", 1.15).met(1.2)
    assert Target("x", 10.0, "min").met(12.0) and Target("x", 1.0).met(float("nan")) is None
    assert device_slug("cpu: Intel(R) Xeon(R) Processor (2 threads)") == "cpu-intel-xeon-processor-2-threads"
    assert device_slug("cuda: NVIDIA H100 80GB HBM3") == "cuda-nvidia-h100-80gb-hbm3"


def test_appendix_notebook_follows_the_chapter_conventions() -> None:
    nb = nbformat.read(APPENDIX, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "committed stripped"
    assert "parameters" in code[0].metadata.get("tags", [])
    values = {s.targets[0].id: ast.literal_eval(s.value) for s in ast.parse(code[0].source).body}
    assert values == {"profile": "quick", "seed": 0}


def test_training_results_become_rows() -> None:
    """bench_training.run() documents {"arch", "images", "objectives": {label: {...}}, ...}."""
    from benchmarks.__main__ import _from_training

    result = {
        "arch": "resnet",
        "images": 512,
        "threads": 1,
        "clock": "cpu",
        "repeats": 1,
        "batch_size": 128,
        "objectives": {
            "pgd-7": {
                "name": "pgd",
                "seconds_median": 2.0,
                "seconds_spread": 0.1,
                "ratio": 6.1,
                "forward": 8,
                "backward": 8,
                "predicted": 6.0,
                "measured_over_predicted": 1.02,
                "within_target": True,
            }
        },
        "full_profile": {"total_hours": 3.3},
    }
    g = _conform(_from_training(result))
    (r,) = g["rows"]
    assert r["name"] == "one epoch, pgd-7" and r["ratio"] == 1.02 and r["target_met"] is True
    assert r["throughput"] == pytest.approx(256.0) and g["setup"]["full_profile"] == {"total_hours": 3.3}
