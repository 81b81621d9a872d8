"""advinterp_lib.consistency.tracing.describe_removal: an ablation's numbers in words."""

import pytest

from advinterp_lib.consistency.tracing import describe_removal

CURVES = {
    "prediction difference": [10.0, 6.0, 2.0],
    "gradient × activation": [10.0, 6.1, 2.05],
    "random order": [10.0, 9.0, 8.0],
}


def test_a_ranking_that_flips_most_decisions_is_said_to():
    text = describe_removal(
        CURVES,
        {
            "prediction difference": [0, 0.3, 0.85],
            "gradient × activation": [0, 0.3, 0.8],
            "random order": [0, 0.01, 0.03],
        },
        top_k=1,
        neurons=64,
    )
    assert "— 2 of the layer's 64 —" in text and "from 10.0 to 2.0" in text
    assert "4.0 times as large" in text and "(to 8.0)" in text
    assert "nearly the same curve" in text
    assert "85% of the correct decisions have changed (3% in random order): most correct decisions have fallen." in text
    assert "The first 1 — as many as an explanation below shows — change 30%." in text


def test_a_ranking_that_flips_few_says_most_still_stand_and_a_diverging_proxy_is_named():
    curves = {**CURVES, "gradient × activation": [10.0, 9.5, 9.0]}
    text = describe_removal(curves, {k: [0, 0.05, 0.2] for k in curves}, top_k=2)
    assert "most correct decisions still stand" in text and "a different curve" in text and "layer's" not in text


def test_describe_removal_says_when_random_removal_does_not_lower_the_score():
    curves = {**CURVES, "random order": [10.0, 10.5, 11.0]}
    text = describe_removal(curves, {k: [0, 0.1, 0.2] for k in curves}, top_k=1, proxy=None)
    assert "removing 2 random neurons does not lower it (to 11.0)" in text and "Gradient" not in text


def test_describe_removal_refuses_what_it_cannot_describe():
    flips = {k: [0, 0.1, 0.2] for k in CURVES}
    with pytest.raises(ValueError, match="random order"):
        describe_removal({k: v for k, v in CURVES.items() if k != "random order"}, flips, top_k=1)
    with pytest.raises(ValueError, match="same length"):
        describe_removal({**CURVES, "random order": [10.0, 9.0]}, flips, top_k=1)
    with pytest.raises(ValueError, match="top_k"):
        describe_removal(CURVES, flips, top_k=3)
