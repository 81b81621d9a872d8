"""The claims of part I, interpretability: each chapter's committed full run bears them
out, and each claim fails, alone, on numbers that contradict it."""

import copy

import pytest

from advinterp_lib.runs.chapter_claims.interpretability import CLAIMS
from advinterp_lib.runs.prose import committed_results

CNN, NEURON, GRADIENT, PERTURBATION = sorted(CLAIMS)


def committed_numbers(chapter):
    return copy.deepcopy(committed_results(chapter)["numbers"])


def failing(chapter, numbers):
    """(subject, claim) of every check that does not hold."""
    return [(c.subject, c.claim) for c in CLAIMS[chapter](numbers) if not c.holds]


def only_failure(chapter, numbers):
    (failure,) = failing(chapter, numbers)
    return failure


def test_the_part_registers_chapters_1_to_4():
    assert sorted(CLAIMS) == [
        "01_looking_inside_a_cnn",
        "02_what_a_neuron_detects",
        "03_gradient_explanations",
        "04_perturbation_explanations",
    ]


@pytest.mark.parametrize(
    "chapter, n_checks",
    [
        (CNN, 3 * 2),  # two claims per model
        (NEURON, 3 * 2 + 2),  # two per model, and the gradient check of the two plain nets
        (GRADIENT, 2 * 3),  # two claims, each per model
        (PERTURBATION, 5 * 3),  # five claims, each per model
    ],
)
def test_the_committed_full_run_bears_out_every_claim(chapter, n_checks):
    checks = CLAIMS[chapter](committed_results(chapter)["numbers"])
    assert len(checks) == n_checks
    assert [str(c) for c in checks if not c.holds] == []


# Chapter 1


def test_an_accuracy_below_0_84_fails_and_0_84_itself_holds():
    numbers = committed_numbers(CNN)
    numbers["test_accuracy"]["vgg"] = 0.84
    assert failing(CNN, numbers) == []
    numbers["test_accuracy"]["vgg"] = 0.8399
    assert only_failure(CNN, numbers) == ("vgg", "test accuracy is at least 0.84")


def test_features_no_better_than_pixels_plus_0_02_fail():
    numbers = committed_numbers(CNN)
    agreement = numbers["neighbour_class_agreement"]
    agreement["resnet"] = agreement["pixels"] + 0.02
    subject, claim = only_failure(CNN, numbers)
    assert subject == "resnet" and claim.startswith("features group classes better than pixels")


# Chapter 2


def test_neurons_with_mean_max_consis_of_0_4_fail():
    numbers = committed_numbers(NEURON)
    numbers["mean_max_consis"]["alexnet"] = 0.4
    assert only_failure(NEURON, numbers) == ("alexnet", "neurons prefer one class: mean max consis(n, c) above 0.4")


def test_an_empirical_field_of_0_8_of_the_theoretical_fails():
    numbers = committed_numbers(NEURON)
    numbers["empirical_rf_width"]["vgg"] = 0.8 * numbers["theoretical_rf"]["vgg"]
    assert only_failure(NEURON, numbers) == (
        "vgg",
        "the empirical receptive field is smaller than 0.8 of the theoretical one",
    )


GRADIENT_IN_BOX = "the gradient's support lies inside the geometric receptive field and reaches its edges"


@pytest.mark.parametrize("contradiction", [{"outside": 3}, {"same_extent": False}])
def test_a_gradient_outside_the_box_or_short_of_its_edges_fails(contradiction):
    numbers = committed_numbers(NEURON)
    numbers["gradient_rf_vs_geometry"]["alexnet"].update(contradiction)
    assert only_failure(NEURON, numbers) == ("alexnet", GRADIENT_IN_BOX)


def test_the_gradient_need_not_cover_the_box_and_is_checked_only_where_the_geometry_walk_ran():
    numbers = committed_numbers(NEURON)
    numbers["gradient_rf_vs_geometry"]["vgg"]["coverage"] = 0.1  # a lower bound: not part of the claim
    assert failing(NEURON, numbers) == []
    checked = [c.subject for c in CLAIMS[NEURON](numbers) if c.claim == GRADIENT_IN_BOX]
    assert checked == list(numbers["gradient_rf_vs_geometry"]) == ["alexnet", "vgg"]  # the ResNet's is by gradient


# Chapter 3


def test_guided_backprop_maps_correlating_0_75_after_rounding_fail():
    numbers = committed_numbers(GRADIENT)
    numbers["class_map_correlation_mean"]["alexnet"]["guided backprop"] = 0.7504  # 0.750 as the chapter rounds it
    assert only_failure(GRADIENT, numbers) == (
        "alexnet",
        "guided backprop's maps for the top two classes nearly coincide (correlation above 0.75)",
    )


def test_grad_cam_within_0_3_of_guided_backprop_fails():
    numbers = committed_numbers(GRADIENT)
    numbers["class_map_correlation_mean"]["vgg"]["Grad-CAM (no ReLU)"] = 0.7
    subject, claim = only_failure(GRADIENT, numbers)
    assert subject == "vgg" and claim.startswith("Grad-CAM is far more class-discriminative")


# Chapter 4


def test_a_map_no_better_than_random_at_deletion_fails_but_saliency_is_exempt():
    numbers = committed_numbers(PERTURBATION)
    auc = numbers["auc"]["vgg"]
    auc["saliency"]["deletion"] = auc["random"]["deletion"] + 0.1
    assert failing(PERTURBATION, numbers) == []
    auc["Grad-CAM"]["deletion"] = auc["random"]["deletion"]
    assert only_failure(PERTURBATION, numbers) == (
        "vgg",
        "every method but saliency is better than random order at deletion",
    )
    (check,) = [c for c in CLAIMS[PERTURBATION](numbers) if not c.holds]
    assert "Grad-CAM" in check.detail and "saliency" not in check.detail


def test_occlusion_within_0_1_of_random_at_deletion_fails():
    numbers = committed_numbers(PERTURBATION)
    auc = numbers["auc"]["alexnet"]
    auc["occlusion 4×4"]["deletion"] = auc["random"]["deletion"] - 0.05
    assert only_failure(PERTURBATION, numbers) == (
        "alexnet",
        "occlusion is clearly faithful at deletion (AUC below random's - 0.1)",
    )


def test_occlusion_within_0_1_of_random_at_insertion_fails():
    numbers = committed_numbers(PERTURBATION)
    auc = numbers["auc"]["resnet"]
    auc["occlusion 4×4"]["insertion"] = auc["random"]["insertion"] + 0.05
    assert only_failure(PERTURBATION, numbers) == (
        "resnet",
        "occlusion is clearly faithful at insertion (AUC above random's + 0.1)",
    )


def test_the_occlusion_window_is_read_from_the_method_name():
    numbers = committed_numbers(PERTURBATION)
    for auc in numbers["auc"].values():
        auc["occlusion 8×8"] = auc.pop("occlusion 4×4")
    assert failing(PERTURBATION, numbers) == []
    numbers["auc"]["vgg"]["occlusion 8×8"]["insertion"] = 0.0
    subject, claim = only_failure(PERTURBATION, numbers)
    assert subject == "vgg" and claim.startswith("occlusion is clearly faithful at insertion")


def test_a_pixel_sharp_map_within_0_05_of_grad_cam_at_insertion_fails():
    numbers = committed_numbers(PERTURBATION)
    auc = numbers["auc"]["alexnet"]
    auc["guided Grad-CAM"]["insertion"] = auc["Grad-CAM"]["insertion"] + 0.04  # guided backprop stays far above
    subject, claim = only_failure(PERTURBATION, numbers)
    assert subject == "alexnet" and claim.startswith(
        "pixel-sharp maps (guided backprop, guided Grad-CAM) beat Grad-CAM"
    )


def test_grad_cam_anticorrelated_with_occlusion_is_not_weak_agreement():
    numbers = committed_numbers(PERTURBATION)
    numbers["spearman_with_occlusion_mean"]["resnet"]["Grad-CAM"] = -0.1
    subject, claim = only_failure(PERTURBATION, numbers)
    assert subject == "resnet" and claim.startswith("agreement with occlusion is weak")


def test_a_gradient_method_within_0_05_of_the_image_intensity_is_not_weak_agreement():
    numbers = committed_numbers(PERTURBATION)
    mean = numbers["spearman_with_occlusion_mean"]["vgg"]
    mean["saliency"] = mean["image intensity"] - 0.04
    subject, claim = only_failure(PERTURBATION, numbers)
    assert subject == "vgg" and claim.startswith("agreement with occlusion is weak")
