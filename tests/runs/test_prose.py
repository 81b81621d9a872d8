"""Prose from committed numbers: reading a profile's results (None when absent) and formatting them."""

import pytest

from advinterp_lib.runs.prose import (
    committed_results,
    format_duration,
    format_interval,
    format_number,
    format_percent,
    not_run_note,
)
from advinterp_lib.runs.results import write_results


def test_committed_results_reads_a_run_and_is_none_without_one(tmp_path):
    assert committed_results("11_x", "full", root=tmp_path) is None
    write_results("11_x", "full", {"a": 0.5}, seed=0, wall_time_s=2220.0, root=tmp_path)
    record = committed_results("11_x", "full", root=tmp_path)
    assert record["numbers"] == {"a": 0.5} and record["wall_time_s"] == 2220.0
    assert committed_results("11_x", "imagenet", root=tmp_path) is None


def test_committed_results_refuses_a_malformed_file(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "11_x.json").write_text("{}")
    with pytest.raises(ValueError, match="not a results file"):
        committed_results("11_x", "full", root=tmp_path)


def test_not_run_note_names_the_command_and_the_file():
    note = not_run_note("07_iterative_and_ensemble_attacks")
    assert "run 07 --profile full" in note and "results/full/07_iterative_and_ensemble_attacks.json" in note


@pytest.mark.parametrize("value, digits, want", [(0.8466, 0, "85%"), (0.02732, 1, "2.7%"), (1.0, 0, "100%")])
def test_format_percent(value, digits, want):
    assert format_percent(value, digits) == want


def test_format_number_and_interval_use_a_true_minus():
    assert format_number(-1.4108, 1) == "−1.4" and format_number(12.502, 1) == "12.5"
    assert format_interval({"mean": -0.5, "low": -0.61, "high": -0.4}, 2) == "−0.50 [−0.61, −0.40]"


@pytest.mark.parametrize("seconds, want", [(45, "45 s"), (209.0, "3.5 min"), (2220, "37 min"), (9000, "2.5 h")])
def test_format_duration(seconds, want):
    assert format_duration(seconds) == want
