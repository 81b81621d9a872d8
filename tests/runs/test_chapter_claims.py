"""The chapters' claims: every chapter has them, every committed full run is judged by
them, and a failing claim is reported with its numbers."""

import copy
import glob
from pathlib import Path

import pytest

from advinterp_lib.runs.chapter_claims import (
    CHAPTER_CLAIMS,
    ClaimCheck,
    assert_claims,
    claim_checks,
    describe_claim_checks,
)
from advinterp_lib.runs.prose import committed_results
from advinterp_lib.runs.results import write_results

BOOK = Path(__file__).resolve().parents[2] / "book"
MEASURING_CHAPTERS = sorted(
    Path(p).stem for p in glob.glob(str(BOOK / "*" / "[01][0-9]_*.ipynb")) if not Path(p).stem.startswith("15_")
)


def test_every_chapter_that_measures_has_registered_claims():
    assert len(MEASURING_CHAPTERS) == 14
    assert sorted(CHAPTER_CLAIMS) == MEASURING_CHAPTERS


@pytest.mark.parametrize("chapter", MEASURING_CHAPTERS)
def test_the_chapter_asserts_its_claims_through_the_library(chapter):
    source = next(BOOK.glob(f"*/{chapter}.ipynb")).read_text()
    assert f'assert_claims(\\"{chapter}\\", numbers)' in source


@pytest.mark.parametrize("chapter", MEASURING_CHAPTERS)
def test_every_committed_full_run_bears_out_its_chapters_claims(chapter):
    record = committed_results(chapter)
    assert record is not None, f"{chapter} has no committed full run"
    checks = claim_checks(chapter, record["numbers"])
    assert checks and all(isinstance(c, ClaimCheck) for c in checks)
    assert [str(c) for c in checks if not c.holds] == []
    expected = f"Of the chapter's {len(checks)} asserted claims, {len(checks)} hold in the committed full run."
    text = describe_claim_checks(chapter).split("\n")
    assert text[0] == expected and text[2] == "The claims, each with what it was judged on:"
    assert {line.split(" (")[0] for line in text[4:]} == {f"- {c.claim}".split(" (")[0] for c in checks}


def test_a_failing_claim_is_named_with_its_numbers(tmp_path):
    chapter = "14_explanations_under_attack"
    numbers = copy.deepcopy(committed_results(chapter)["numbers"])
    model = next(iter(numbers["agreement"]))
    spearman = numbers["agreement"][model]["Grad-CAM"]["noise, true class"]["spearman"]
    spearman["low"] = spearman["high"] = -1.0  # noise now moves the map further than PGD
    with pytest.raises(AssertionError, match=f"1 of the chapter's 42 claims do not hold:\n- {model}: noise leaves"):
        assert_claims(chapter, numbers)
    write_results(chapter, "full", numbers, seed=0, wall_time_s=1.0, root=tmp_path)
    text = describe_claim_checks(chapter, root=tmp_path)
    assert text.startswith("Of the chapter's 42 asserted claims, 41 hold in the committed full run; these do **not**:")
    assert f"- {model}: noise leaves Grad-CAM closer than PGD does" in text
    claim = "- noise leaves Grad-CAM closer than PGD does ("
    listed = next(line for line in text.split("\n") if line.startswith(claim))
    assert f"**not** {model}" in listed and listed.count("**not**") == 1  # the claim's other models hold


def test_a_chapter_without_claims_or_a_run():
    with pytest.raises(KeyError, match="no claims registered for '99_x'"):
        claim_checks("99_x", {})
    assert describe_claim_checks("14_explanations_under_attack", root="/nonexistent") == ""


def test_a_check_prints_its_subject_claim_and_detail():
    assert str(ClaimCheck("vgg", "accuracy at least 0.8", False, "0.74")) == "vgg: accuracy at least 0.8 (0.74)"
    assert str(ClaimCheck("", "the bag is far from every class", True)) == "the bag is far from every class"
    assert ClaimCheck("", "x", 1).holds is True
