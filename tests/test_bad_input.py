"""Bad input at the public boundary: one row per (function, bad input).

Each row calls a public function of ``advinterp_lib`` with one thing wrong and
asserts the exception type (ValueError or TypeError, never a shape error from deep
inside PyTorch) and that the message names the argument (and, where it matters,
says what was expected: e.g. "divide by 255" for 0..255 pixels, the valid layer
names for an unknown layer).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from advinterp_lib import attacks, consistency, interpret, models, stats
from advinterp_lib.artifacts import adversarial_set, store, trained_model, zoo_model_config
from advinterp_lib.artifacts import cache as run_cache
from advinterp_lib.attacks import ensemble, targets
from advinterp_lib.attacks.advset import AdversarialSetRecipe
from advinterp_lib.attacks.deepfool import deepfool, deepfool_binary, rho_adv
from advinterp_lib.attacks.surface import loss_surface, orthogonal_direction, plane_values, signed_gradient
from advinterp_lib.consistency import concepts as cc
from advinterp_lib.consistency import metric
from advinterp_lib.data import ImageSet, load
from advinterp_lib.interpret import attribution, faithfulness, receptive_field, topk
from advinterp_lib.interpret.neighbours import embed, nearest_neighbours, neighbour_label_agreement
from advinterp_lib.models.layers import Normalize, capture_activations, last_conv_layer, layer
from advinterp_lib.plotting import image_grid
from advinterp_lib.report.rules import lookup
from advinterp_lib.runs.chapters import find_chapter
from advinterp_lib.runs.profiles import chapter_parameters
from advinterp_lib.runs.results import write_results
from advinterp_lib.runs.runner import check_overrides, parse_override
from advinterp_lib.training import evaluate, train
from advinterp_lib.validation import check_images, check_int, check_labels, check_number
from data_scripts.archives import check_member_path
from data_scripts.broden import fetch_broden


def _assert_names(message: str, words) -> None:
    """Each word appears in the message as a whole token ("g" in "g must ...", not in "got")."""
    for w in words:
        assert re.search(rf"(?<![\w.]){re.escape(w)}(?!\w)", message), f"message {message!r} lacks {w!r}"


@functools.cache
def net() -> nn.Module:
    torch.manual_seed(0)
    return models.build("alexnet").eval()


def X(n: int = 2, c: int = 1, hw: int = 28) -> torch.Tensor:
    return torch.rand(n, c, hw, hw, generator=torch.Generator().manual_seed(0))


def Y(n: int = 2) -> torch.Tensor:
    return torch.arange(n) % 10


RECIPE = AdversarialSetRecipe(k=1, step_size=5 / 255, steps=1)  # an adversarial set's attack, for the calls below


def nan_images() -> torch.Tensor:
    x = X()
    x[0, 0, 3, 3] = float("nan")
    return x


def inf_images() -> torch.Tensor:
    x = X()
    x[1, 0, 0, 0] = float("inf")
    return x


# The bad images every image-taking function is tried with: (id, images, exception,
# words the message must contain besides the argument's name).
BAD_IMAGES = [
    ("list", lambda: X().tolist(), TypeError, []),
    ("rank3", lambda: X()[:, 0], ValueError, ["[N, C, H, W]"]),
    ("empty", lambda: X(0), ValueError, ["empty"]),
    ("uint8", lambda: (X() * 255).to(torch.uint8), TypeError, ["255"]),
    ("0..255", lambda: X() * 255, ValueError, ["divide by 255"]),
    ("normalised", lambda: X() - 0.5, ValueError, ["normalised"]),
    ("nan", nan_images, ValueError, ["NaN"]),
    ("inf", inf_images, ValueError, ["inf"]),
    ("3 channels", lambda: X(c=3), ValueError, ["channel"]),
    ("float64", lambda: X().double(), TypeError, ["torch.float32", "torch.float64", "convert with"]),
]

# Functions taking images, called with the bad images in the argument named by the second entry.
IMAGE_FUNCTIONS: list[tuple[str, str, Callable[[object], object]]] = [
    ("fgsm", "x", lambda x: attacks.fgsm(net(), x, Y(), eps=0.1)),
    ("fgsm_sweep", "x", lambda x: attacks.fgsm_sweep(net(), x, Y(), eps_values=[0.1])),
    ("pgd", "x", lambda x: attacks.pgd(net(), x, Y(), eps=0.1, step_size=0.05, steps=1)),
    ("deepfool", "x", lambda x: deepfool(net(), x, max_iter=1)),
    ("least_likely", "x", lambda x: targets.least_likely(net(), x=x)),
    ("least_likely_targets", "x", lambda x: ensemble.least_likely_targets(net(), x, 1)),
    ("ensemble_attack", "x", lambda x: ensemble.ensemble_attack(net(), x, Y(), steps=1)),
    ("signed_gradient", "x", lambda x: signed_gradient(net(), x, Y())),
    ("saliency", "x", lambda x: attribution.saliency(net(), x, 0)),
    ("grad_cam", "x", lambda x: attribution.grad_cam(net(), x, 0)),
    ("occlusion", "x", lambda x: attribution.occlusion(net(), x, 0, window=14, stride=14)),
    ("deletion_curve", "x", lambda x: faithfulness.deletion_curve(net(), x, 0, torch.rand(2, 1, 28, 28), steps=2)),
    ("feature_maps", "images", lambda x: interpret.feature_maps(net(), x, "features.0")),
    ("embed", "images", lambda x: embed(net(), x)),
    ("top_activating_images", "images", lambda x: topk.top_activating_images(net(), x, net().last_conv, k=1)),
    (
        "discrepancy_maps",
        "images",
        lambda x: receptive_field.discrepancy_maps(net(), x, "features.0", 0, patch_size=14, stride=14),
    ),
    (
        "concept_top_activations",
        "real_images",
        lambda x: consistency.concept_top_activations(net(), x, Y(), X(), Y(), num_concepts=10),
    ),
    (
        "concept_top_activations",
        "adversarial_images",
        lambda x: consistency.concept_top_activations(net(), X(), Y(), x, Y(), num_concepts=10),
    ),
    (
        "generate_adversarial_set",
        "images",
        lambda x: store.generate_adversarial_set(net(), x, Y(), "/nonexistent/never", RECIPE, progress=False),
    ),
    ("check_images", "x", lambda x: check_images(x, model=net())),
]


def _bad_image_rows():
    for fname, arg, call in IMAGE_FUNCTIONS:
        for bid, make, exc, words in BAD_IMAGES:
            yield pytest.param(call, make, exc, [arg, *words], id=f"{fname}-{arg}-{bid}")


@pytest.mark.parametrize("call, make, exc, words", list(_bad_image_rows()))
def test_bad_images_are_refused_naming_the_argument(call, make, exc, words):
    with pytest.raises(exc) as err:
        call(make())
    _assert_names(str(err.value), words)


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[], object]
    exc: type[Exception]
    words: tuple[str, ...]


def C(id: str, call: Callable[[], object], exc: type[Exception], *words: str) -> pytest.param:
    return pytest.param(Case(id, call, exc, words), id=id)


def _scores_with_nan() -> torch.Tensor:
    s = torch.rand(4)
    s[2] = float("nan")
    return s


A3 = torch.eye(3, dtype=torch.float64)
CONCEPTS = torch.tensor([[0, 1], [2, 2]])

CASES = [
    # --- labels / targets: dtype, shape, range ---------------------------------
    C("fgsm-y-float", lambda: attacks.fgsm(net(), X(), Y().float(), eps=0.1), TypeError, "y", "integer"),
    C("fgsm-y-shape", lambda: attacks.fgsm(net(), X(), Y(3), eps=0.1), ValueError, "y", "[2]"),
    C("fgsm-y-range", lambda: attacks.fgsm(net(), X(), torch.tensor([0, 10]), eps=0.1), ValueError, "y", "[0, 10)"),
    C("fgsm-y-negative", lambda: attacks.fgsm(net(), X(), torch.tensor([-1, 0]), eps=0.1), ValueError, "y", "[0, 10)"),
    C(
        "fgsm-targets-range",
        lambda: attacks.fgsm(net(), X(), torch.tensor([0, 12]), eps=0.1, targeted=True),
        ValueError,
        "targets",
    ),
    C("pgd-y-list", lambda: attacks.pgd(net(), X(), [0, 1], eps=0.1, step_size=0.1, steps=1), TypeError, "y"),
    C(
        "ensemble-target-range",
        lambda: ensemble.ensemble_attack(net(), X(), torch.tensor([0, 10]), steps=1),
        ValueError,
        "target",
    ),
    C(
        "least_likely_targets-exclude-range",
        lambda: ensemble.least_likely_targets(net(), X(), 1, exclude=torch.tensor([0, 99])),
        ValueError,
        "exclude",
    ),
    C("saliency-target-range", lambda: attribution.saliency(net(), X(), 10), ValueError, "target", "[0, 10)"),
    C("saliency-target-float", lambda: attribution.saliency(net(), X(), 1.0), TypeError, "target"),
    C("grad_cam-target-shape", lambda: attribution.grad_cam(net(), X(), torch.tensor([0, 1, 2])), ValueError, "target"),
    C("random_targets-y-range", lambda: targets.random_targets(torch.tensor([0, 10]), 10), ValueError, "y", "[0, 10)"),
    C("random_targets-y-float", lambda: targets.random_targets(torch.tensor([0.0, 1.0]), 10), TypeError, "y"),
    C(
        "advset-labels-range",
        lambda: store.generate_adversarial_set(
            net(), X(), torch.tensor([0, 10]), "/nonexistent/never", RECIPE, progress=False
        ),
        ValueError,
        "labels",
    ),
    C(
        "concept_top_activations-concepts-range",
        lambda: consistency.concept_top_activations(net(), X(), torch.tensor([0, 5]), X(), Y(), num_concepts=5),
        ValueError,
        "real_concepts",
    ),
    C(
        "concept_top_activations-concepts-float",
        lambda: consistency.concept_top_activations(net(), X(), Y(), X(), Y().float(), num_concepts=10),
        TypeError,
        "adversarial_concepts",
    ),
    C(
        "concept_top_activations-concepts-length",
        lambda: consistency.concept_top_activations(net(), X(), Y(3), X(), Y(), num_concepts=10),
        ValueError,
        "real_concepts",
    ),
    C("check_labels-bool", lambda: check_labels(torch.tensor([True, False]), 2, 10), TypeError, "y"),
    # --- eps / steps / counts out of range ------------------------------------------
    C("fgsm-eps-negative", lambda: attacks.fgsm(net(), X(), Y(), eps=-0.1), ValueError, "eps"),
    C("fgsm-eps-255-scale", lambda: attacks.fgsm(net(), X(), Y(), eps=8), ValueError, "eps", "8/255"),
    C("fgsm-eps-nan", lambda: attacks.fgsm(net(), X(), Y(), eps=float("nan")), ValueError, "eps"),
    C("fgsm-eps-str", lambda: attacks.fgsm(net(), X(), Y(), eps="0.1"), TypeError, "eps"),
    C("fgsm-targeted-str", lambda: attacks.fgsm(net(), X(), Y(), eps=0.1, targeted="yes"), TypeError, "targeted"),
    C(
        "fgsm_sweep-eps_values-empty",
        lambda: attacks.fgsm_sweep(net(), X(), Y(), eps_values=[]),
        ValueError,
        "eps_values",
    ),
    C(
        "fgsm_sweep-eps_values-above-1",
        lambda: attacks.fgsm_sweep(net(), X(), Y(), eps_values=[0.1, 2.0]),
        ValueError,
        "eps_values",
    ),
    C(
        "fgsm_sweep-batch_size-0",
        lambda: attacks.fgsm_sweep(net(), X(), Y(), eps_values=[0.1], batch_size=0),
        ValueError,
        "batch_size",
    ),
    C("pgd-steps-0", lambda: attacks.pgd(net(), X(), Y(), eps=0.1, step_size=0.1, steps=0), ValueError, "steps"),
    C("pgd-steps-float", lambda: attacks.pgd(net(), X(), Y(), eps=0.1, step_size=0.1, steps=2.0), TypeError, "steps"),
    C(
        "pgd-step_size-negative",
        lambda: attacks.pgd(net(), X(), Y(), eps=0.1, step_size=-1.0, steps=1),
        ValueError,
        "step_size",
    ),
    C(
        "pgd-norm-unknown",
        lambda: attacks.pgd(net(), X(), Y(), eps=0.1, step_size=0.1, steps=1, norm="l1"),
        ValueError,
        "norm",
        "linf",
    ),
    C(
        "pgd-l2-eps-too-big",
        lambda: attacks.pgd(net(), X(), Y(), eps=100.0, step_size=0.1, steps=1, norm="l2"),
        ValueError,
        "eps",
    ),
    C(
        "pgd-random_start-str",
        lambda: attacks.pgd(net(), X(), Y(), eps=0.1, step_size=0.1, steps=1, random_start="no"),
        TypeError,
        "random_start",
    ),
    C("deepfool-max_iter-0", lambda: deepfool(net(), X(), max_iter=0), ValueError, "max_iter"),
    C("deepfool-overshoot-negative", lambda: deepfool(net(), X(), overshoot=-0.1), ValueError, "overshoot"),
    C("deepfool-num_candidates-1", lambda: deepfool(net(), X(), num_candidates=1), ValueError, "num_candidates"),
    C("deepfool_binary-x-nan", lambda: deepfool_binary(lambda t: t.flatten(1).sum(1), nan_images()), ValueError, "x"),
    C(
        "deepfool_binary-max_iter-0",
        lambda: deepfool_binary(lambda t: t.flatten(1).sum(1) - 1, X(), max_iter=0),
        ValueError,
        "max_iter",
    ),
    C("robustness-shape", lambda: rho_adv(torch.zeros(2, 1, 28, 28), X(3)), ValueError, "perturbation"),
    C("ensemble-steps-0", lambda: ensemble.ensemble_attack(net(), X(), Y(), steps=0), ValueError, "steps"),
    C(
        "ensemble-step_size-negative",
        lambda: ensemble.ensemble_attack(net(), X(), Y(), step_size=-0.1),
        ValueError,
        "step_size",
    ),
    C("ensemble-eps-above-1", lambda: ensemble.ensemble_attack(net(), X(), Y(), eps=3.0), ValueError, "eps"),
    C("ensemble-models-empty", lambda: ensemble.ensemble_attack([], X(), Y()), ValueError, "models"),
    C("ensemble-models-not-module", lambda: ensemble.ensemble_attack([net(), "vgg"], X(), Y()), TypeError, "models[1]"),
    C("least_likely_targets-k-10", lambda: ensemble.least_likely_targets(net(), X(), 10), ValueError, "k"),
    C("least_likely-k-0", lambda: targets.least_likely(torch.rand(2, 10), k=0), ValueError, "k"),
    C("least_likely-scores-nan", lambda: targets.least_likely(torch.full((2, 10), float("nan"))), ValueError, "scores"),
    C("random_targets-k-too-big", lambda: targets.random_targets(Y(), 10, 10), ValueError, "k"),
    C(
        "advset-k-0",
        lambda: AdversarialSetRecipe(k=0, step_size=0.02, steps=1),
        ValueError,
        "k",
    ),
    C(
        "advset-shard_size-0",
        lambda: store.generate_adversarial_set(net(), X(), Y(), "/nonexistent/never", RECIPE, shard_size=0),
        ValueError,
        "shard_size",
    ),
    C(
        "advset-steps-0",
        lambda: AdversarialSetRecipe(k=1, step_size=0.02, steps=0),
        ValueError,
        "steps",
    ),
    C(
        "advset-step_size-negative",
        lambda: AdversarialSetRecipe(k=1, step_size=-1.0, steps=1),
        ValueError,
        "step_size",
    ),
    C("orthogonal_direction-shape", lambda: orthogonal_direction(X(), X(3)), ValueError, "d", "g"),
    C("orthogonal_direction-norm", lambda: orthogonal_direction(X(), X(), norm="l3"), ValueError, "norm"),
    C("loss_surface-g-shape", lambda: loss_surface(net(), X(), Y(), X(3), X(3), [0.0], [0.0]), ValueError, "g"),
    C(
        "loss_surface-eps1-nan",
        lambda: loss_surface(net(), X(), Y(), X(), X(), [float("nan")], [0.0]),
        ValueError,
        "eps1",
    ),
    C(
        "plane_values-batch_size-0",
        lambda: plane_values(lambda p, i: p.sum((1, 2, 3)), X(), X(), X(), [0.0], [0.0], batch_size=0),
        ValueError,
        "batch_size",
    ),
    # --- layers, classes, synsets -----------------------------------------------------
    C("layer-unknown-lists-names", lambda: layer(net(), "features.99"), ValueError, "features.99", "features.0"),
    C("layer-int", lambda: layer(net(), 3), TypeError, "layer name"),
    C(
        "capture_activations-unknown",
        lambda: capture_activations(net(), ["nope"]).__enter__(),
        ValueError,
        "nope",
        "Valid names",
    ),
    C(
        "capture_activations-duplicate",
        lambda: capture_activations(net(), ["features.0", "features.0"]).__enter__(),
        ValueError,
        "names",
    ),
    C(
        "last_conv_layer-missing",
        lambda: last_conv_layer(nn.Sequential(nn.Conv2d(1, 2, 3))),
        ValueError,
        "last_conv",
        "0",
    ),
    C("Normalize-std-zero", lambda: Normalize(0.5, 0.0), ValueError, "std"),
    C("Normalize-lengths", lambda: Normalize([0.1, 0.2], [0.1, 0.2, 0.3]), ValueError, "mean", "std"),
    C("build-unknown", lambda: models.build("lenet"), ValueError, "lenet", "alexnet"),
    C("build-num_classes-1", lambda: models.build("vgg", num_classes=1), ValueError, "num_classes"),
    C(
        "grad_cam-layer-unknown",
        lambda: attribution.grad_cam(net(), X(), 0, layer="features.99"),
        ValueError,
        "features.99",
        "Valid names",
    ),
    C(
        "grad_cam-upsample-unknown",
        lambda: attribution.grad_cam(net(), X(), 0, upsample="cubic"),
        ValueError,
        "upsample",
    ),
    C(
        "feature_maps-layer-unknown",
        lambda: interpret.feature_maps(net(), X(), "conv9"),
        ValueError,
        "conv9",
        "Valid names",
    ),
    C("embed-layer-unknown", lambda: embed(net(), X(), layer="fc9"), ValueError, "fc9", "Valid names"),
    C("embed-batch_size-0", lambda: embed(net(), X(), batch_size=0), ValueError, "batch_size"),
    C(
        "top_activating_images-layer-unknown",
        lambda: topk.top_activating_images(net(), X(), "features.99", k=1),
        ValueError,
        "features.99",
        "Valid names",
    ),
    C(
        "top_activating_images-k-0",
        lambda: topk.top_activating_images(net(), X(), net().last_conv, k=0),
        ValueError,
        "k",
    ),
    C(
        "top_activating_images-k-and-fraction",
        lambda: topk.top_activating_images(net(), X(), net().last_conv, k=1, fraction=0.5),
        ValueError,
        "k",
        "fraction",
    ),
    C(
        "top_activating_images-k-too-many",
        lambda: topk.top_activating_images(net(), X(), net().last_conv, k=3),
        ValueError,
        "k",
    ),
    C(
        "top_activating_images-reduction",
        lambda: topk.top_activating_images(net(), X(), net().last_conv, k=1, reduction="median"),
        ValueError,
        "reduction",
    ),
    C(
        "top_activating_images-batch_size-0",
        lambda: topk.top_activating_images(net(), X(), net().last_conv, k=1, batch_size=0),
        ValueError,
        "batch_size",
    ),
    C("top_count-fraction-0", lambda: topk.top_count(100, 0.0), ValueError, "fraction"),
    C("top_count-fraction-percent", lambda: topk.top_count(100, 1.5), ValueError, "fraction"),
    C("top_count-num_images-0", lambda: topk.top_count(0, 0.1), ValueError, "num_images"),
    C(
        "concept_top_activations-layer-unknown",
        lambda: consistency.concept_top_activations(net(), X(), Y(), X(), Y(), num_concepts=10, layer="nope"),
        ValueError,
        "nope",
        "Valid names",
    ),
    C(
        "concept_top_activations-fraction-0",
        lambda: consistency.concept_top_activations(net(), X(), Y(), X(), Y(), num_concepts=10, fraction=0.0),
        ValueError,
        "fraction",
    ),
    C(
        "concept_top_activations-num_concepts-0",
        lambda: consistency.concept_top_activations(net(), X(), Y(), X(), Y(), num_concepts=0),
        ValueError,
        "num_concepts",
    ),
    C(
        "discrepancy_maps-layer-unknown",
        lambda: receptive_field.discrepancy_maps(net(), X(), "nope", 0),
        ValueError,
        "nope",
        "Valid names",
    ),
    C(
        "discrepancy_maps-channel-range",
        lambda: receptive_field.discrepancy_maps(net(), X(), "features.0", 999, patch_size=14, stride=14),
        ValueError,
        "channel",
    ),
    C(
        "discrepancy_maps-patch_size-0",
        lambda: receptive_field.discrepancy_maps(net(), X(), "features.0", 0, patch_size=0),
        ValueError,
        "patch_size",
    ),
    C(
        "discrepancy_maps-fill-255",
        lambda: receptive_field.discrepancy_maps(net(), X(), "features.0", 0, fill=255.0),
        ValueError,
        "fill",
    ),
    C(
        "theoretical_receptive_field-layer-unknown",
        lambda: receptive_field.theoretical_receptive_field(net(), "nope"),
        ValueError,
        "nope",
    ),
    C("occlusion-window-too-big", lambda: attribution.occlusion(net(), X(), 0, window=29), ValueError, "window"),
    C("occlusion-stride-0", lambda: attribution.occlusion(net(), X(), 0, stride=0), ValueError, "stride"),
    C(
        "occlusion-baseline-255",
        lambda: attribution.occlusion(net(), X(), 0, window=14, stride=14, baseline=255.0),
        ValueError,
        "baseline",
    ),
    C(
        "deletion_curve-attribution-shape",
        lambda: faithfulness.deletion_curve(net(), X(), 0, torch.rand(2, 1, 14, 14)),
        ValueError,
        "attribution",
    ),
    C(
        "deletion_curve-steps-0",
        lambda: faithfulness.deletion_curve(net(), X(), 0, torch.rand(2, 1, 28, 28), steps=0),
        ValueError,
        "steps",
    ),
    C(
        "insertion_curve-baseline-2",
        lambda: faithfulness.insertion_curve(net(), X(), 0, torch.rand(2, 1, 28, 28), baseline=2.0),
        ValueError,
        "baseline",
    ),
    C(
        "pearson_correlation-shape",
        lambda: stats.pearson_correlation(torch.rand(2, 5), torch.rand(3, 5)),
        ValueError,
        "a",
        "b",
    ),
    C("nearest_neighbours-k-0", lambda: nearest_neighbours(torch.rand(2, 4), torch.rand(5, 4), 0), ValueError, "k"),
    C(
        "nearest_neighbours-dims",
        lambda: nearest_neighbours(torch.rand(2, 4), torch.rand(5, 3), 1),
        ValueError,
        "gallery",
    ),
    C(
        "neighbour_label_agreement-shape",
        lambda: neighbour_label_agreement(torch.zeros(2, 3, dtype=torch.long), Y(3), Y(5)),
        ValueError,
        "query_labels",
    ),
    # --- concepts and the metric ------------------------------------------------------
    C(
        "class_synsets-unknown-synset",
        lambda: cc.class_synsets(["sandal.n.01", "nosuchthing.n.01"]),
        ValueError,
        "nosuchthing.n.01",
    ),
    C("class_synsets-unknown-wnid", lambda: cc.class_synsets(["n99999999"]), ValueError, "n99999999"),
    C("class_synsets-str", lambda: cc.class_synsets("sandal.n.01"), TypeError, "classes"),
    C("class_synsets-empty", lambda: cc.class_synsets([]), ValueError, "classes"),
    C("synset_distance-str", lambda: cc.synset_distance("sandal.n.01", "boot.n.01"), TypeError, "a"),
    C("distance_matrix-empty", lambda: cc.distance_matrix([]), ValueError, "synsets"),
    C(
        "correlation_matrix-asymmetric",
        lambda: cc.correlation_matrix(torch.tensor([[0.0, 1.0], [2.0, 0.0]])),
        ValueError,
        "distances",
    ),
    C(
        "correlation_matrix-negative",
        lambda: cc.correlation_matrix(torch.tensor([[0.0, -1.0], [-1.0, 0.0]])),
        ValueError,
        "distances",
    ),
    C("correlation_matrix-sigma-0", lambda: cc.correlation_matrix(torch.zeros(2, 2), sigma=0.0), ValueError, "sigma"),
    C("concept_distribution-range", lambda: metric.concept_distribution(CONCEPTS, 2), ValueError, "concepts"),
    C("concept_distribution-float", lambda: metric.concept_distribution(CONCEPTS.float(), 3), TypeError, "concepts"),
    C(
        "concept_distribution-num_concepts-0",
        lambda: metric.concept_distribution(CONCEPTS, 0),
        ValueError,
        "num_concepts",
    ),
    C(
        "consistency_scores-not-distribution",
        lambda: metric.consistency_scores(torch.ones(2, 3, dtype=torch.float64), A3),
        ValueError,
        "p",
    ),
    C(
        "consistency_scores-correlation-shape",
        lambda: metric.consistency_scores(torch.full((2, 3), 1 / 3), torch.eye(4)),
        ValueError,
        "correlation",
    ),
    C(
        "consistency_scores-p-int",
        lambda: metric.consistency_scores(torch.ones(2, 3, dtype=torch.long), A3),
        TypeError,
        "p",
    ),
    C(
        "bootstrap-num_samples-0",
        lambda: metric.bootstrap_consistency(CONCEPTS, A3, num_samples=0),
        ValueError,
        "num_samples",
    ),
    C(
        "bootstrap-confidence-95",
        lambda: metric.bootstrap_consistency(CONCEPTS, A3, confidence=95.0),
        ValueError,
        "confidence",
    ),
    C("consistency_histogram-nan", lambda: metric.consistency_histogram(_scores_with_nan()), ValueError, "scores"),
    C("consistency_histogram-bins-0", lambda: metric.consistency_histogram(torch.rand(4), bins=0), ValueError, "bins"),
    C(
        "summarize_consistency-neurons",
        lambda: metric.summarize_consistency(CONCEPTS, CONCEPTS[:1], A3),
        ValueError,
        "real_concepts",
    ),
    C(
        "summarize_consistency-list",
        lambda: metric.summarize_consistency([[0, 1]], CONCEPTS, A3),
        TypeError,
        "real_concepts",
    ),
    # --- data ------------------------------------------------------------------------
    C("load-unknown-name", lambda: load("mnist", "train"), ValueError, "name", "fashion-mnist"),
    C("load-unknown-split", lambda: load("fashion-mnist", "validation"), ValueError, "split"),
    C(
        "ImageSet-0..255",
        lambda: ImageSet(X() * 255, Y(), tuple("abcdefghij"), ("x.n.01",) * 10, "t", "test"),
        ValueError,
        "images",
        "[0, 1]",
    ),
    C(
        "ImageSet-labels-range",
        lambda: ImageSet(X(), torch.tensor([0, 10]), tuple("abcdefghij"), ("x.n.01",) * 10, "t", "test"),
        ValueError,
        "labels",
    ),
    # --- runs ------------------------------------------------------------------------
    C("chapter_parameters-profile", lambda: chapter_parameters("huge", "01"), ValueError, "huge", "quick"),
    C("chapter_parameters-chapter", lambda: chapter_parameters("quick", "99"), ValueError, "99"),
    C("config_key-not-json", lambda: run_cache.config_key("model", {"f": object()}), TypeError, "config"),
    C("config_key-nan", lambda: run_cache.config_key("model", {"lr": math.nan}), ValueError, "config"),
    C(
        "write_results-nan",
        lambda: write_results("01", "quick", {"acc": math.nan}, seed=0, wall_time_s=1.0, root="/nonexistent/never"),
        ValueError,
        "numbers.acc",
    ),
    C(
        "zoo_model_config-arch",
        lambda: zoo_model_config("lenet", train_size=100, train_epochs=1, seed=0),
        ValueError,
        "lenet",
        "alexnet",
    ),
    C(
        "zoo_model_config-train_epochs-0",
        lambda: zoo_model_config("vgg", train_size=100, train_epochs=0, seed=0),
        ValueError,
        "train_epochs",
    ),
    C("find_chapter-unknown", lambda: find_chapter("99"), ValueError, "99"),
    C("config_key-kind-path", lambda: run_cache.config_key("../model", {}), ValueError, "kind"),
    # issue 18: arguments that used to be truncated into a cache key or fail deep inside
    C(
        "trained_model-train_size-str",
        lambda: trained_model("vgg", train_size="100", train_epochs=1),
        TypeError,
        "train_size",
        "int",
    ),
    C(
        "trained_model-train_size-float",
        lambda: trained_model("vgg", train_size=100.5, train_epochs=1),
        TypeError,
        "train_size",
        "int",
    ),
    C(
        "trained_model-seed-float",
        lambda: trained_model("vgg", train_size=100, train_epochs=1, seed=1.5),
        TypeError,
        "seed",
        "int",
    ),
    C(
        "trained_model-train_epochs-0",
        lambda: trained_model("vgg", train_size=100, train_epochs=0),
        ValueError,
        "train_epochs",
    ),
    C(
        "adversarial_set-step_size-str",
        lambda: AdversarialSetRecipe(k=2, step_size="a", steps=1),
        TypeError,
        "step_size",
    ),
    C(
        "adversarial_set-n-0",
        lambda: adversarial_set(["vgg"], RECIPE, n=0, train_size=100, train_epochs=1),
        ValueError,
        "n",
    ),
    C(
        "adversarial_set-archs",
        lambda: adversarial_set(["lenet"], RECIPE, n=10, train_size=100, train_epochs=1),
        ValueError,
        "archs",
        "lenet",
    ),
    C(
        "generate_adversarial_set-steps-str",
        lambda: AdversarialSetRecipe(k=1, step_size=0.02, steps="4"),
        TypeError,
        "steps",
    ),
    C(
        "write_results-profile-path",
        lambda: write_results("01_x", "../../x", {}, seed=0, wall_time_s=1.0, root="/nonexistent/never"),
        ValueError,
        "profile",
        "quick",
    ),
    C(
        "write_results-chapter-path",
        lambda: write_results("../01_x", "quick", {}, seed=0, wall_time_s=1.0, root="/nonexistent/never"),
        ValueError,
        "chapter",
    ),
    C("-p-binary", lambda: parse_override("sigma", "!!binary aGVsbG8="), ValueError, "sigma", "!!binary"),
    C("-p-date", lambda: parse_override("sigma", "2020-01-01"), ValueError, "sigma", "!!timestamp"),
    C(
        "-p-wrong-type",
        lambda: check_overrides("chapter 10", {"sigma": 1.0}, {"sigma": "high"}),
        TypeError,
        "sigma",
        "float",
        "str",
    ),
    C(
        "-p-reserved-profile",
        lambda: check_overrides("chapter 10", {"profile": "quick"}, {"profile": "full"}),
        ValueError,
        "profile",
        "--profile",
    ),
    C(
        "-p-unknown",
        lambda: check_overrides("chapter 10", {"sigma": 1.0}, {"sigmaa": 2.0}),
        ValueError,
        "sigmaa",
        "sigma",
    ),
    C(
        "lookup-table3-list",
        lambda: lookup({"table3": [1, 2]}, "table3.vgg.real.top1", "12.json: numbers"),
        ValueError,
        "numbers.table3",
        "dict",
    ),
    C("archive-member-dot", lambda: check_member_path(".", "x.tar"), ValueError, "x.tar", "itself"),
    C(
        "fetch_broden-no-checksum",
        lambda: fetch_broden("/nonexistent/never", expected_md5=None),
        ValueError,
        "insecure_skip_checksum",
    ),
    C("resnet-64x64", lambda: models.build("resnet")(X(hw=64)), ValueError, "28", "[2, 1, 64, 64]"),
    C("resnet-1x1", lambda: models.build("resnet")(X(hw=1)), ValueError, "28", "[2, 1, 1, 1]"),
    C(
        "train-images-float64",
        lambda: train(net(), X().double(), Y(), epochs=1, progress=False),
        TypeError,
        "images",
        "torch.float64",
    ),
    C("evaluate-images-float64", lambda: evaluate(net(), X().double(), Y()), TypeError, "images", "torch.float64"),
    # --- plotting ----------------------------------------------------------------------
    C("image_grid-normalize", lambda: image_grid(X(), normalize="minmax"), ValueError, "normalize", "each"),
    C("image_grid-empty", lambda: image_grid([]), ValueError, "image"),
    # --- the shared checks themselves --------------------------------------------------
    C("check_int-bool", lambda: check_int(True, "steps"), TypeError, "steps"),
    C("check_int-below", lambda: check_int(0, "steps", minimum=1), ValueError, "steps", ">= 1"),
    C("check_number-inf", lambda: check_number(math.inf, "eps"), ValueError, "eps"),
    C(
        "check_number-strict",
        lambda: check_number(0.0, "sigma", minimum=0.0, strict_minimum=True),
        ValueError,
        "sigma",
        "> 0",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_bad_argument_is_refused_naming_it(case: Case):
    with pytest.raises(case.exc) as err:
        case.call()
    assert type(err.value) is case.exc or issubclass(type(err.value), case.exc)
    _assert_names(str(err.value), case.words)


def test_case_count_is_reported():
    """The number of rows in this file (bad images x functions, plus the other cases)."""
    assert len(IMAGE_FUNCTIONS) * len(BAD_IMAGES) + len(CASES) >= 250


def test_same_methods_gives_the_shared_order_or_names_the_odd_model():
    from advinterp_lib.validation import same_methods

    assert same_methods({"a": {"m": 1, "n": 2}, "b": {"m": 3, "n": 4}}, "x") == ["m", "n"]
    with pytest.raises(ValueError, match="x: expected at least one model"):
        same_methods({}, "x")
    with pytest.raises(ValueError, match=r"every model needs the methods \['m', 'n'\], 'b' has \['n', 'm'\]"):
        same_methods({"a": {"m": 1, "n": 2}, "b": {"n": 2, "m": 1}}, "x")
