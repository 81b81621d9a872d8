"""The claims of chapters 10, 11 and 13 (part IV, concepts and consistency): each holds in
the committed full run, and each fails, alone, on numbers that contradict it."""

import copy

import pytest

from advinterp_lib.runs.chapter_claims import claim_checks
from advinterp_lib.runs.chapter_claims.consistency import CLAIMS
from advinterp_lib.runs.prose import committed_results

WORDNET = "10_concepts_and_wordnet"
TABLE1 = "11_inconsistent_representations"
TRACING = "13_tracing_predictions_to_neurons"

#: Chapter 10's record of the paper's illustration, as the chapter writes it (the committed
#: full run predates the key).
PAPER_ILLUSTRATION = {
    "persian_cat.n.01 / wolfhound.n.01": {"paper": 4, "wordnet": 6, "turns_at": "domestic_animal.n.01"},
    "tabby.n.01 / kitty.n.04": {"paper": 2, "wordnet": 2, "turns_at": "domestic_cat.n.01"},
}


def committed(chapter):
    return copy.deepcopy(committed_results(chapter)["numbers"])


def failing(chapter, numbers):
    """``(subject, claim)`` of every check that does not hold."""
    return [(c.subject, c.claim) for c in claim_checks(chapter, numbers) if not c.holds]


def test_the_part_registers_chapters_10_11_and_13():
    assert list(CLAIMS) == [WORDNET, TABLE1, TRACING]


@pytest.mark.parametrize("chapter", [WORDNET, TABLE1, TRACING])
def test_every_claim_holds_in_the_committed_full_run(chapter):
    checks = claim_checks(chapter, committed(chapter))
    assert checks
    assert [str(c) for c in checks if not c.holds] == []


# Chapter 10: concepts and WordNet


def wordnet_index(numbers):
    return {name: k for k, name in enumerate(numbers["classes"])}


@pytest.mark.parametrize(
    ("row", "column", "distance", "claim"),
    [
        ("Sandal", "Ankle boot", 4, "the sandal is 3 edges from the ankle boot and 7 from the bag"),
        ("Sandal", "Bag", 6, "the sandal is 3 edges from the ankle boot and 7 from the bag"),
        ("T-shirt/top", "Shirt", 2, "the T-shirt is 1 edge from the shirt and the sandal 2 from the sneaker"),
        ("Sandal", "Sneaker", 3, "the T-shirt is 1 edge from the shirt and the sandal 2 from the sneaker"),
        ("Bag", "Shirt", 5, "the bag is far from every other class (at least 6 edges)"),
    ],
)
def test_a_wordnet_distance_other_than_the_chapters_fails_its_claim(row, column, distance, claim):
    numbers = committed(WORDNET)
    i = wordnet_index(numbers)
    numbers["distance_matrix"][i[row]][i[column]] = distance
    assert failing(WORDNET, numbers) == [("", claim)]


def test_the_illustrations_order_is_judged_only_where_it_is_recorded():
    claim = "WordNet keeps the order of the paper's illustration (the far pair is farther)"
    numbers = committed(WORDNET)
    assert [c.holds for c in claim_checks(WORDNET, numbers) if c.claim == claim] == [True]
    del numbers["paper_illustration"]  # a run from before the chapter recorded it
    assert claim not in [c.claim for c in claim_checks(WORDNET, numbers)]
    numbers["paper_illustration"] = copy.deepcopy(PAPER_ILLUSTRATION)
    numbers["paper_illustration"]["persian_cat.n.01 / wolfhound.n.01"]["wordnet"] = 2  # as near as the close pair
    assert failing(WORDNET, numbers) == [("", claim)]


def test_a_correlation_matrix_without_ones_on_its_diagonal_fails():
    numbers = committed(WORDNET)
    numbers["correlation_matrix"][3][3] = 0.9
    assert failing(WORDNET, numbers) == [("", "the correlation matrix A has ones on its diagonal")]


@pytest.mark.parametrize(
    "neuron", ["T-shirt + shirt", "footwear (sandal, sneaker, boot)", "trouser + bag", "all ten classes"]
)
def test_consis_that_falls_as_sigma_grows_fails(neuron):
    numbers = committed(WORDNET)
    values = numbers["example_consis"][neuron]
    values[-1] = values[-2] - 0.01
    assert failing(WORDNET, numbers) == [(neuron, "consis grows with σ")]


def test_a_one_class_neuron_below_1_fails():
    numbers = committed(WORDNET)
    numbers["example_consis"]["one class (sneakers)"][0] = 1 - 1e-9
    assert failing(WORDNET, numbers) == [("one class (sneakers)", "a neuron that sees one class scores 1 at every σ")]


def test_an_evenly_spread_neuron_far_from_1_over_k_at_sigma_1_fails():
    claim = ("all ten classes", "at σ = 1 an evenly spread neuron scores near 1/K (in [0.1, 0.2))")
    numbers = committed(WORDNET)
    numbers["example_consis"]["all ten classes"] = [v + 0.1 for v in numbers["example_consis"]["all ten classes"]]
    assert failing(WORDNET, numbers) == [claim]
    numbers = committed(WORDNET)
    numbers["sigma_values"] = [s + 0.1 for s in numbers["sigma_values"]]  # no σ = 1 to read it at
    assert failing(WORDNET, numbers) == [claim]


# Chapter 11: inconsistent representations


def test_a_model_that_most_adversarial_images_do_not_fool_fails():
    numbers = committed(TABLE1)
    numbers["misclassified"]["vgg"] = 0.49
    assert failing(TABLE1, numbers) == [("vgg", "most adversarial images fool the model")]


def test_overlapping_table1_intervals_fail():
    numbers = committed(TABLE1)
    row = numbers["table1"]["resnet"]
    row["consis_adv_ci"]["high"] = row["consis_ci"]["low"]
    assert failing(TABLE1, numbers) == [("resnet", "consis_adv lies below consis (whole intervals apart)")]


@pytest.mark.parametrize("variant", ["sigma=0.5", "sigma=2", "reduction=mean", "fooled_only"])
def test_a_sensitivity_variant_of_sigma_reduction_or_subset_that_loses_the_direction_fails(variant):
    numbers = committed(TABLE1)
    v = numbers["sensitivity"]["variants"][variant]
    v["archs"]["vgg"]["difference"]["high"] = 0.01
    v["archs"]["vgg"]["holds"] = v["holds_for_all"] = False
    assert failing(TABLE1, numbers) == [(v["label"], "consis_adv stays below consis for every model")]


@pytest.mark.parametrize("variant", ["table1", "concept=target", "eps=0.05", "eps=0.1", "eps=0.2"])
def test_the_target_concept_and_the_eps_sweep_are_reported_not_asserted(variant):
    numbers = committed(TABLE1)
    v = numbers["sensitivity"]["variants"][variant]
    for check in v["archs"].values():
        check["holds"] = False
    v["holds_for_all"] = False
    assert failing(TABLE1, numbers) == []
    assert v["label"] not in [c.subject for c in claim_checks(TABLE1, numbers)]


def test_a_smoke_run_with_under_5_top_images_per_neuron_asserts_nothing():
    numbers = committed(TABLE1)
    numbers["misclassified"]["vgg"] = 0.0  # would fail, were there enough top images to test
    numbers["k_real"] = 4
    assert claim_checks(TABLE1, numbers) == []
    numbers["k_real"] = 5
    assert failing(TABLE1, numbers) == [("vgg", "most adversarial images fool the model")]


# Chapter 13: tracing predictions to neurons


def test_a_resnet_whose_pd_differs_from_gxa_fails_and_no_other_model_is_held_to_it():
    numbers = committed(TRACING)
    assert numbers["agreement"]["alexnet"]["max_abs_gap"] > 1e-3  # a nonlinear head: not claimed
    numbers["agreement"]["resnet-Adv"]["max_abs_gap"] = 1e-3
    assert failing(TRACING, numbers) == [("resnet-Adv", "the head is linear: PD equals GxA (largest gap under 1e-3)")]


def test_rankings_that_disagree_fail():
    numbers = committed(TRACING)
    numbers["agreement"]["alexnet-Adv"]["spearman_mean"] = 0.8
    assert failing(TRACING, numbers) == [("alexnet-Adv", "the PD and GxA rankings agree (mean Spearman above 0.8)")]


def test_top_pd_removal_that_costs_no_more_than_random_fails():
    numbers = committed(TRACING)
    curves = numbers["ablation_curve"]
    curves["prediction difference"][-1] = curves["random order"][-1] - 1.0
    claim = "removing the top-PD neurons lowers the true-class logit more than random removal (by over 1)"
    assert failing(TRACING, numbers) == [(numbers["explain_arch"], claim)]


def test_top_pd_removal_that_flips_no_more_decisions_than_random_fails():
    numbers = committed(TRACING)
    flipped = numbers["flipped_share"]
    flipped["prediction difference"][-1] = flipped["random order"][-1] + 0.1
    claim = "removing the top-PD neurons flips more decisions than random removal (by over 0.1)"
    assert failing(TRACING, numbers) == [(numbers["explain_arch"], claim)]


def test_removal_that_restores_no_more_adversarial_decisions_than_random_fails():
    numbers = committed(TRACING)
    adversarial = numbers["adversarial"]
    adversarial["restored_share"][-1] = adversarial["restored_share_random"][-1] + 0.15
    claim = "removing the neurons that push an adversarial decision restores more decisions than random (by over 0.15)"
    assert failing(TRACING, numbers) == [(numbers["explain_arch"], claim)]
