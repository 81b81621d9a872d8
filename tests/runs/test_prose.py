"""Prose from committed numbers: reading a profile's results (None when absent) and formatting them."""

import pytest
import torch

from advinterp_lib.runs.prose import (
    committed_results,
    format_duration,
    format_interval,
    format_number,
    format_percent,
    not_run_note,
    profile_comparison,
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


def test_format_change_and_change_verdict_read_mappings_and_intervals():
    from advinterp_lib.runs.prose import change_verdict, format_change
    from advinterp_lib.stats import basic_interval

    up = {"mean": 0.02, "low": 0.01, "high": 0.03}
    assert format_change(up) == "+0.020 [+0.010, +0.030]"
    assert format_change({"mean": 0.5, "low": 0.25, "high": 0.75}, percent=True) == "50.0% [25.0%, 75.0%]"
    assert change_verdict(up) == "rises"
    assert change_verdict({"mean": -0.02, "low": -0.03, "high": -0.01}) == "falls"
    b = basic_interval(0.0, torch.tensor([-0.1, 0.1], dtype=torch.float64), 0.95)
    assert change_verdict(b) == "does not change beyond the interval"
    assert format_change(b).startswith("+0.000 [")


def test_describe_table1_record_and_sensitivity_record():
    from advinterp_lib.runs.prose import describe_sensitivity_record, describe_table1_record

    row = {"consis_ci": {"mean": 0.5, "low": 0.4, "high": 0.6}, "consis_adv_ci": {"mean": 0.2, "low": 0.1, "high": 0.3}}
    close = {"consis_ci": row["consis_ci"], "consis_adv_ci": {"mean": 0.4, "low": 0.3, "high": 0.45}}
    record = {
        "wall_time_s": 4000,
        "device": "an H100",
        "numbers": {
            "n_images": 10000,
            "n_adversarial": 90000,
            "k_real": 100,
            "k_adversarial": 900,
            "table1": {"a": row, "b": row},
        },
    }
    text = describe_table1_record(record)
    assert "10,000 test images" in text and "67 min on an H100" in text and "for every model" in text
    assert "a 0.200 [0.100, 0.300] against 0.500 [0.400, 0.600]" in text
    record["numbers"]["table1"]["b"] = close
    assert "apart for a only" in describe_table1_record(record)
    chapter = "11_inconsistent_representations"
    assert describe_sensitivity_record(None, chapter) == not_run_note(chapter)
    assert "predates this section" in describe_sensitivity_record(record, chapter)
    with pytest.raises(ValueError, match="sensitivity record"):
        describe_sensitivity_record({"numbers": {"sensitivity": {}}}, chapter)


def _fgsm_numbers(fgsm, pgd, strong=None):
    row = {"clean": {"top1": 0.9}, "fgsm": {"top1": fgsm}, "pgd": {"top1": pgd}}
    numbers = {"accuracy": {"vgg": {"FGSM-AT": row}}, "pgd_eval_steps": 20, "finetune_epochs": 1,
               "finetune_size": 60000}  # fmt: skip
    if strong is not None:
        numbers["strong"] = {"vgg": {"FGSM-AT": {"clean": 0.9, "pgd": pgd, "apgd-ce": strong, "apgd-t": strong}}}
    return numbers


def test_describe_fgsm_training_judges_with_pgd_and_with_the_strong_attack():
    from advinterp_lib.runs.prose import describe_fgsm_training

    # PGD-20 leaves 7 %: not flagged by PGD; the strong attack leaves 0.5 %: flagged, and the line says so
    line = describe_fgsm_training(_fgsm_numbers(0.70, 0.07, 0.005))
    assert "**catastrophic overfitting by the strong attack**" in line and "PGD-20 alone did not show" in line
    assert "70% under FGSM and 7% under PGD-20 and 0% under the strong attack" in line
    # both agree: robust enough under both
    assert line_ends(describe_fgsm_training(_fgsm_numbers(0.55, 0.14, 0.06)), "— no catastrophic overfitting.")
    # both agree: broken under both
    assert line_ends(describe_fgsm_training(_fgsm_numbers(0.80, 0.01, 0.0)), "— catastrophic overfitting.")
    # no strong attack measured: PGD's verdict alone
    assert line_ends(describe_fgsm_training(_fgsm_numbers(0.80, 0.01)), "under PGD-20 — catastrophic overfitting.")


def line_ends(text: str, suffix: str) -> bool:
    return text.endswith(suffix)


def test_profile_comparison_sets_this_run_beside_the_committed_one(tmp_path):
    full = {"auc": {"vgg": [0.1, 0.25]}, "n_images": 10000, "spearman": {"mean": 0.5, "low": 0.4, "high": 0.6}}
    write_results("04_x", "full", full, seed=0, wall_time_s=1500.0, root=tmp_path)
    quick = {"auc": {"vgg": [0.2, 0.3]}, "n_images": 32, "fooled": True}
    rows = [
        ("deletion AUC", ("auc", "vgg", 1)),
        ("images", ("n_images",)),
        ("Spearman", ("spearman",)),
        ("fooled", ("fooled",)),
        ("AUC in %", ("auc", "vgg", 0), format_percent),
    ]
    lines = profile_comparison(quick, "04_x", rows, root=tmp_path).split("\n")
    assert lines[0].startswith("**This run beside the committed `full` run** (") and lines[0].endswith(", 25 min):")
    assert lines[2:4] == ["|  | this run | `full` profile |", "|:---|---:|---:|"]
    assert lines[4:] == [
        "| deletion AUC | 0.300 | 0.250 |",
        "| images | 32 | 10,000 |",
        "| Spearman | – | 0.500 [0.400, 0.600] |",
        "| fooled | yes | – |",
        "| AUC in % | 20% | 10% |",
    ]


def test_profile_comparison_of_the_committed_run_itself_has_one_column(tmp_path):
    full = {"auc": {"vgg": (0.1, 0.25)}, "n_images": 10000}  # a tuple, written as a list: still the same run
    write_results("04_x", "full", full, seed=0, wall_time_s=1500.0, root=tmp_path)
    rows = [("deletion AUC", ("auc", "vgg", 1)), ("images", ("n_images",))]
    lines = profile_comparison(full, "04_x", rows, root=tmp_path).split("\n")
    assert lines[0].startswith("**This run is the committed `full` run** (") and lines[0].endswith(", 25 min):")
    assert lines[2:] == ["|  | `full` profile |", "|:---|---:|", "| deletion AUC | 0.250 |", "| images | 10,000 |"]
    other = {**full, "n_images": 9999}  # any other run: both columns
    assert profile_comparison(other, "04_x", rows, root=tmp_path).split("\n")[2] == "|  | this run | `full` profile |"


def test_profile_comparison_without_a_committed_run_says_how_to_make_one(tmp_path):
    assert profile_comparison({"a": 1.0}, "04_x", [("a", ("a",))], root=tmp_path) == not_run_note("04_x")


def test_profile_comparison_refuses_a_path_neither_run_holds(tmp_path):
    write_results("04_x", "full", {"a": 1.0}, seed=0, wall_time_s=1.0, root=tmp_path)
    with pytest.raises(ValueError, match="neither run holds numbers.auc.vgg"):
        profile_comparison({"a": 1.0}, "04_x", [("typo", ("auc", "vgg"))], root=tmp_path)
    with pytest.raises(ValueError, match="at least one"):
        profile_comparison({"a": 1.0}, "04_x", [], root=tmp_path)
    with pytest.raises(TypeError, match="a number, a bool or an interval"):
        profile_comparison({"a": [1.0]}, "04_x", [("list", ("a",))], root=tmp_path)
