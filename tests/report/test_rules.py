"""Every verdict rule can fail: for each, a case it reproduces and a case it does not,
taken from what a reviewer found in our own results (e.g. consis moving by -15% is not
"barely moves"; a wide interval no longer passes MatchesPaper)."""

from __future__ import annotations

import pytest

from advinterp_lib.report.rules import (
    NO_RESULT,
    NOT_COMPARABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    At,
    HistogramMean,
    MatchesPaper,
    Negative,
    Ordered,
    Positive,
    RatioAbove,
    RelativeChangeWithin,
)


def judge(rule, numbers, paper_value=None, comparable=True):
    return rule.judge(numbers, paper_value=paper_value, comparable=comparable, where="results.json")


def ci(low, high):
    return {"low": low, "high": high}


# (rule, numbers that reproduce, numbers that do not, paper value)
CASES = {
    "MatchesPaper": (
        MatchesPaper(At("v"), ci="v_ci", rel_tol=0.1),
        {"v": 0.0300, "v_ci": ci(0.0290, 0.0310)},
        # the point estimate is close, but the interval is wide: no longer passes
        {"v": 0.0300, "v_ci": ci(0.0200, 0.0400)},
        0.0296,
    ),
    "Ordered": (
        Ordered(At("a"), At("b"), "a_ci", "b_ci"),
        {"a": 0.2, "b": 0.7, "a_ci": ci(0.18, 0.22), "b_ci": ci(0.68, 0.72)},
        {"a": 0.2, "b": 0.21, "a_ci": ci(0.18, 0.22), "b_ci": ci(0.19, 0.23)},
        None,
    ),
    "Positive": (
        Positive(At("d"), "d_ci"),
        {"d": 0.05, "d_ci": ci(0.01, 0.09)},
        {"d": 0.05, "d_ci": ci(-0.01, 0.11)},
        None,
    ),
    "Negative": (
        Negative(At("d"), "d_ci"),
        {"d": -0.3, "d_ci": ci(-0.35, -0.25)},
        {"d": -0.08, "d_ci": ci(-0.087, 0.006)},
        None,
    ),  # chapter 11's quick VGG at eps = 0.05
    "RelativeChangeWithin": (
        RelativeChangeWithin(At("d"), At("c"), "d_ci", bound=0.05),
        {"c": 0.733, "d": -0.01, "d_ci": ci(-0.02, 0.0)},
        # chapter 12's full AlexNet: consis moved by -15%
        {"c": 0.733, "d": -0.111, "d_ci": ci(-0.123, -0.100)},
        None,
    ),
    "RatioAbove": (RatioAbove(At("n"), At("d"), 1.0), {"n": 2.0, "d": 1.0}, {"n": 0.9, "d": 1.0}, None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_rule_reproduces_and_fails(name):
    rule, good, bad, paper_value = CASES[name]
    assert judge(rule, good, paper_value).verdict == REPRODUCED
    out = judge(rule, bad, paper_value)
    assert out.verdict == NOT_REPRODUCED and out.detail


@pytest.mark.parametrize("name", list(CASES))
def test_every_rule_says_when_a_number_is_missing(name):
    rule, _, _, paper_value = CASES[name]
    assert judge(rule, {}, paper_value).verdict == NO_RESULT


def test_ratio_with_intervals_needs_them_separated_by_the_factor():
    rule = RatioAbove(At("n"), At("d"), 2.0, "n_ci", "d_ci")
    # chapter 14's full ResNet: the means' ratio is above 2, the intervals are not 2x apart
    numbers = {"n": 0.62, "d": 0.30, "n_ci": ci(0.60, 0.64), "d_ci": ci(0.29, 0.31)}
    out = judge(rule, numbers)
    assert out.verdict == NOT_REPRODUCED and "0.6 <= 2 × upper bound 0.31" in out.detail
    numbers = {"n": 0.80, "d": 0.30, "n_ci": ci(0.78, 0.82), "d_ci": ci(0.29, 0.31)}
    assert judge(rule, numbers).verdict == REPRODUCED
    # without intervals the means decide, and the detail says so
    out = judge(RatioAbove(At("n"), At("d"), 2.0), {"n": 0.62, "d": 0.30})
    assert out.verdict == REPRODUCED and "point estimates" in out.detail


def test_relative_change_needs_the_whole_interval_within_the_bound():
    rule = RelativeChangeWithin(At("d"), At("c"), "d_ci", bound=0.05)
    # the point estimate +3% is within 5%, but the interval reaches +7.4% (the full ResNet's)
    out = judge(rule, {"c": 0.616, "d": 0.032, "d_ci": ci(0.018, 0.0456)})
    assert out.verdict == NOT_REPRODUCED and "beyond" in out.detail
    # without an interval the point estimate decides, and the detail says so
    assert "no interval" in judge(RelativeChangeWithin(At("d"), At("c")), {"c": 0.6, "d": 0.01}).detail
    with pytest.raises(ValueError, match="undefined"):
        judge(rule, {"c": 0.0, "d": 0.01, "d_ci": ci(0, 0.02)})


def test_matches_paper_is_not_comparable_on_other_data_and_without_a_value():
    rule = MatchesPaper(At("v"), ci="v_ci")
    numbers = {"v": 0.03, "v_ci": ci(0.029, 0.031)}
    assert judge(rule, numbers, 0.03, comparable=False).verdict == NOT_COMPARABLE
    assert judge(rule, numbers, None).verdict == NOT_COMPARABLE


def test_a_histogram_direction_fails_when_reversed():
    numbers = {"h": {"edges": [0.0, 0.5, 1.0], "real": [3, 1], "adversarial": [1, 3]}}
    rule = Ordered(HistogramMean("h", "adversarial"), HistogramMean("h", "real"))
    assert judge(rule, numbers).verdict == NOT_REPRODUCED


def test_negative_and_key_paths_with_dots():
    # chapter 11's sensitivity keys hold dots ("sigma=0.5"): a tuple path reads them
    d = ("sensitivity", "variants", "sigma=0.5", "difference")
    numbers = {"sensitivity": {"variants": {"sigma=0.5": {"difference": {"mean": -0.3, "low": -0.35, "high": -0.25}}}}}
    rule = Negative(At((*d, "mean")), d)
    out = judge(rule, numbers)
    assert out.verdict == REPRODUCED and "sensitivity.variants.sigma=0.5.difference.mean" in out.values
    numbers["sensitivity"]["variants"]["sigma=0.5"]["difference"]["high"] = 0.01  # the interval reaches 0
    assert judge(rule, numbers).verdict == NOT_REPRODUCED
