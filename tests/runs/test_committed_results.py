"""The results committed under results/full/ are what they claim to be: full-profile runs
of this library, readable by the report, at the full profile's sizes."""

import json
from pathlib import Path

import pytest

from advinterp_lib.report import build_report, load_results
from advinterp_lib.runs.profiles import chapter_parameters

FULL = Path(__file__).resolve().parents[2] / "results" / "full"
FILES = sorted(FULL.glob("[0-9][0-9]_*.json"))


@pytest.mark.skipif(not FILES, reason="no full-profile results committed")
def test_every_committed_full_result_loads_and_names_its_run():
    results = load_results(FULL.parent, profiles=["full"])
    assert len(results.runs["full"]) == len(FILES)
    for run in results.runs["full"].values():
        assert run.device and run.wall_time_s > 0 and run.seed == 0
    report = build_report(FULL.parent, profiles=["full"])
    assert all(f.detail for f in report.findings)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_committed_full_result_has_the_full_profiles_sizes(path):
    record = json.loads(path.read_text())
    assert record["profile"] == "full" and record["chapter"] == path.stem
    params = chapter_parameters("full", path.stem[:2])
    numbers = record["numbers"]
    if "n_images" in numbers and "n_images" in params:  # chapters 11, 12, 14: the source images
        assert numbers["n_images"] == params["n_images"]
    if "n_adversarial" in numbers:  # chapter 11: every source toward its k least-likely classes
        assert numbers["n_adversarial"] == params["n_images"] * params["k_targets"]
    if "n_agreement" in numbers:  # chapter 13
        assert numbers["n_agreement"] == params["n_agreement"]
