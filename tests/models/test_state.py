"""models.state: eval mode with every submodule's own flag restored, the device of a
model, batched labels -- and the promise they exist for: every public function of the
library that takes a model leaves each of its submodules' ``training`` flags as it
found them, also when the caller's model mixes modes (a training model with a frozen
BatchNorm, an eval model with a Dropout left on)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import advinterp_lib
from advinterp_lib.artifacts import advsets, imagenet, store
from advinterp_lib.artifacts.cache import ArtifactCache
from advinterp_lib.attacks import (
    advset,
    base,
    blackbox,
    ensemble,
    explanation,
    linearity,
    minimal,
    strong,
    surface,
    targets,
    transfer,
    two_class,
)
from advinterp_lib.consistency import activations, evaluation, sensitivity, tracing
from advinterp_lib.data import AdversarialSet, ImageSet
from advinterp_lib.explore import attack as explore_attack
from advinterp_lib.explore import explanation as explore_explanation
from advinterp_lib.explore import neuron as explore_neuron
from advinterp_lib.interpret import (
    attribution,
    discriminative,
    faithfulness,
    features,
    neighbours,
    receptive_field,
    topk,
)
from advinterp_lib.models import hook_safe, layers
from advinterp_lib.models.state import eval_mode, model_device, predicted_labels
from advinterp_lib.runs import ablation, consistent_loss
from advinterp_lib.studies import adversarial_examples as adv_examples
from advinterp_lib.studies import black_box_attacks, inconsistency, iterative_attacks
from advinterp_lib.studies import explanations_under_attack as study
from advinterp_lib.studies import gradient_explanations as gradient
from advinterp_lib.studies import neuron_detectors as detectors
from advinterp_lib.studies import perturbation_explanations as perturbation
from advinterp_lib.studies import tracing as traced
from advinterp_lib.training import distributed, gradient_masking, loop, objectives, robustness

# The attacks package exports these functions under their modules' names.
deepfool, fgsm, pgd = (importlib.import_module(f"advinterp_lib.attacks.{m}") for m in ("deepfool", "fgsm", "pgd"))

# ------------------------------------------------------------------ the helpers


def _flags(model: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


def _mixed(model: nn.Module, mix: str) -> nn.Module:
    """``"train, frozen BatchNorm"``: train mode but the BatchNorm in eval mode (a
    fine-tuning recipe); ``"eval, Dropout on"``: eval mode but the Dropout training."""
    if mix == "train, frozen BatchNorm":
        model.train()
        model.features[1].eval()
    else:
        model.eval()
        model.classifier[1].train()
    return model


MIXES = ("train, frozen BatchNorm", "eval, Dropout on")


def test_eval_mode_restores_each_submodule_also_after_an_exception(toy_cnn):
    for mix in MIXES:
        before = _flags(_mixed(toy_cnn, mix))
        with pytest.raises(RuntimeError, match="inside"):
            with eval_mode(toy_cnn) as m:
                assert m is toy_cnn and not any(_flags(toy_cnn).values())
                raise RuntimeError("inside")
        assert _flags(toy_cnn) == before
    with pytest.raises(TypeError, match="torch.nn.Module"):
        with eval_mode("resnet"):
            pass


def test_restoring_with_model_train_would_lose_a_submodule_flag(toy_cnn):
    """Why eval_mode keeps every flag: the parent's flag, put back on all, is not enough."""
    for mix in MIXES:
        before = _flags(_mixed(toy_cnn, mix))
        was_training = toy_cnn.training
        toy_cnn.eval()
        toy_cnn.train(was_training)
        assert _flags(toy_cnn) != before


def test_model_device_reads_a_parameter_then_a_buffer_then_the_fallback(toy_cnn):
    assert model_device(toy_cnn) == torch.device("cpu")
    buffers_only = nn.BatchNorm2d(2, affine=False)
    assert model_device(buffers_only, "meta") == torch.device("cpu")
    assert model_device(nn.ReLU(), "meta") == torch.device("meta")
    assert model_device(nn.ReLU()) == torch.device("cpu")


def test_predicted_labels_are_the_eval_mode_argmax_in_any_batch_size(toy_cnn):
    x = torch.rand(7, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    _mixed(toy_cnn, "train, frozen BatchNorm")
    before = _flags(toy_cnn)
    with eval_mode(toy_cnn), torch.no_grad():
        expected = toy_cnn(x).argmax(1)
    for batch_size in (1, 3, 512):
        labels = predicted_labels(toy_cnn, x, batch_size=batch_size)
        assert labels.dtype == torch.int64 and torch.equal(labels, expected)
    assert _flags(toy_cnn) == before


# --------------------------------------- every public function that takes a model

N, K, SIZE = 6, 4, 12


@pytest.fixture
def data(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, 1, SIZE, SIZE, generator=g)
    y = torch.arange(N) % K
    names = tuple(f"class {i}" for i in range(K))
    images = ImageSet(x, y, names, tuple(f"entity.n.0{i + 1}" for i in range(K)), "toy", "test")
    shard = {
        "images": (x.flip(0) * 255).round().to(torch.uint8),
        "source_index": torch.arange(N).flip(0),
        "label": y.flip(0),
        "target": (y.flip(0) + 1) % K,
    }
    adversarial = AdversarialSet([shard], k=1, num_sources=N)
    return SimpleNamespace(
        x=x,
        y=y,
        t=(y + 1) % K,
        images=images,
        advset=adversarial,
        correlation=torch.eye(K, dtype=torch.float64),
        folder=tmp_path / "advset",
        generator=g,
    )


def _neuron_data(ms, d, fraction=0.5):
    return explore_neuron.NeuronData({"a": ms[0], "b": ms[1]}, d.images, d.advset, d.correlation, fraction=fraction)


def _surface(m, d):
    g = surface.signed_gradient(m, d.x, d.y)
    g_perp = surface.orthogonal_direction(torch.rand_like(g), g)
    return surface.loss_surface(m, d.x, d.y, g, g_perp, [0.0, 0.05], [0.0, 0.05])


def _views_ok(views):
    assert all(v.ok for v in views), [v.message for v in views if not v.ok]


def _capture(m, d):
    with layers.capture_activations(m, ["features.4"]) as acts:
        m(d.x)
    assert acts["features.4"].shape[1] == 6


def _inside_eval_mode(m, d):
    with eval_mode(m), torch.no_grad():
        m(d.x)


def _neuron_table(ms, d):
    data = _neuron_data(ms, d)
    return data.layers("b"), data.table("b", data.default_layer("b"))


def _explaining(m, d):
    with attribution.explaining(m, d.x, 0):
        pass


RECIPE = advset.AdversarialSetRecipe(k=1, step_size=0.02, steps=1)
STRONG = {"pgd_steps": 1, "pgd_restarts": 1, "apgd_steps": 1, "n_targets": 1}


def _attacked(model, d):
    """Chapter 14's attacked images of ``d.x`` (the ensemble's images: ``d.x`` flipped)."""
    return study.attack_images(model, d.x, d.y, eps=0.1, pgd_step=0.05, pgd_steps=2, deepfool_overshoot=0.02,
                               deepfool_candidates=3, ensemble=d.x.flip(0), noise=(d.x + 0.05).clamp(0, 1))  # fmt: skip


#: Library function (module.name) -> a call on the mixed-mode models ``ms`` (two toy
#: CNNs; most functions take the first) and the toy data ``d``; ``make`` builds a CNN.
CASES: dict[str, Callable] = {
    # attacks
    "attacks.advset.least_likely_rows": lambda ms, d, make: advset.least_likely_rows(ms, d.x, d.y, RECIPE),
    # artifacts
    "artifacts.advsets.model_fingerprint": lambda ms, d, make: advsets.model_fingerprint(ms[0]),
    "artifacts.advsets.whitebox_adversarial_set": lambda ms, d, make: advsets.whitebox_adversarial_set(
        ms[0], d.x, d.y, RECIPE, cache=ArtifactCache(d.folder), progress=False
    ),
    "artifacts.imagenet.batched_probabilities": lambda ms, d, make: imagenet.batched_probabilities(ms[0], d.x),
    "artifacts.store.generate_adversarial_set": lambda ms, d, make: store.generate_adversarial_set(
        ms, d.x, d.y, d.folder, RECIPE, shard_size=4, progress=False
    ),
    # runs
    "runs.ablation.measure_model": lambda ms, d, make: ablation.measure_model(
        ms[0],
        real_images=d.x,
        real_concepts=d.y,
        advset=d.advset,
        num_concepts=K,
        fraction=0.5,
        eval_images=d.x,
        eval_labels=d.y,
        eps=0.1,
        paper_eps=1 / 255,
        pgd_steps=1,
        strong_images=2,
        strong=STRONG,
    ),  # fmt: skip
    "runs.consistent_loss.feature_gap": lambda ms, d, make: consistent_loss.feature_gap(
        ms[0], d.x, {"flipped": d.x.flip(-1)}, eps=1.0
    ),
    "runs.consistent_loss.shared_set_consistency": lambda ms, d, make: consistent_loss.shared_set_consistency(
        {"a": {"s": ms[0], "t": ms[1]}}, d.images, d.advset, d.correlation, fraction=0.5, num_samples=5, seed=0
    ),
    # studies (chapters 2 to 8, 11 and 13)
    "studies.black_box_attacks.black_box_baselines": lambda ms, d, make: black_box_attacks.black_box_baselines(
        ms[0], ms[1], d.x, predicted_labels(ms[0], d.x), eps=0.1, seed=0
    ),
    "studies.gradient_explanations.class_map_correlations": lambda ms, d, make: gradient.class_map_correlations(
        {"a": ms[0], "b": ms[1]}, d.x, {"saliency": (attribution.saliency, {}), "Grad-CAM": (attribution.grad_cam, {})}
    ),
    "studies.gradient_explanations.runner_up_maps": lambda ms, d, make: gradient.runner_up_maps(
        ms[0], d.x, (d.y, d.t), {"guided backprop": attribution.guided_backprop, "Grad-CAM": attribution.grad_cam}
    ),
    "studies.adversarial_examples.least_likely_fgsm": lambda ms, d, make: adv_examples.least_likely_fgsm(
        ms[0], d.x, d.y, eps=0.1
    ),
    "studies.perturbation_explanations.faithfulness_curves": lambda ms, d, make: perturbation.faithfulness_curves(
        ms[0], d.x, d.y, {"x": d.x}, steps=3
    ),
    "studies.perturbation_explanations.timed_map": lambda ms, d, make: perturbation.timed_map(
        attribution.occlusion, ms[0], d.x, d.y, window=4, stride=4
    ),
    "studies.neuron_detectors.gradient_agreement": lambda ms, d, make: detectors.gradient_agreement(
        ms[0],
        "features.4",
        receptive_field.theoretical_receptive_field(ms[0], "features.4"),
        (SIZE // 2, SIZE // 2),
        image_shape=(1, SIZE, SIZE),
        samples=4,
    ),  # fmt: skip
    "studies.neuron_detectors.top_patch_rows": lambda ms, d, make: detectors.top_patch_rows(
        ms[0], d.x, "features.4", k=2, channels=2
    ),
    "studies.iterative_attacks.error_rate": lambda ms, d, make: iterative_attacks.error_rate(ms[0], d.x, d.y),
    "studies.iterative_attacks.ifgsm_errors": lambda ms, d, make: iterative_attacks.ifgsm_errors(
        ms[0], d.x, d.y, eps_values=[0.1], steps=2
    ),
    "studies.inconsistency.forward_pass_seconds": lambda ms, d, make: inconsistency.forward_pass_seconds(
        ms[0], d.x, batch_size=3
    ),
    "studies.inconsistency.top_image_rows": lambda ms, d, make: inconsistency.top_image_rows(
        ms[0],
        activations.concept_top_activations(
            ms[0], d.x, d.y, d.advset.images, d.advset.labels, num_concepts=K, fraction=0.5
        ),
        0,
        d.images,
        d.advset,
        n_shown=2,
        patch_size=3,
        stride=3,
    ),  # fmt: skip
    "studies.tracing.adversarial_removal": lambda ms, d, make: traced.adversarial_removal(
        ms[0], d.x, d.t, d.y, steps=2, generator=torch.Generator().manual_seed(0), top_k=2
    ),
    "studies.tracing.fooling_images": lambda ms, d, make: traced.fooling_images(ms[0], d.images, d.advset),
    "studies.tracing.neuron_consistency": lambda ms, d, make: traced.neuron_consistency(
        ms[0], d.images, d.advset, d.correlation, fraction=0.5
    ),
    "studies.tracing.trace_cases": lambda ms, d, make: traced.trace_cases(
        ms[0], d.x, d.y, {"first": 0}, d.x[1:2], d.y[1:2]
    ),
    "runs.consistent_loss.table3_accuracies": lambda ms, d, make: consistent_loss.table3_accuracies(
        {"a": ms[0], "b": ms[1]}, d.x, d.y, eps=0.1, paper_eps=1 / 255, strong_images=2, strong=STRONG
    ),
    "runs.consistent_loss.whitebox_consistency": lambda ms, d, make: consistent_loss.whitebox_consistency(
        {"a": ms[0]},
        d.x,
        d.y,
        d.correlation,
        n_sources=N,
        recipe=RECIPE,
        fraction=0.5,
        num_samples=5,
        cache=ArtifactCache(d.folder),
    ),  # fmt: skip
    # studies
    "studies.explanations_under_attack.attack_images": lambda ms, d, make: _attacked(ms[0], d),
    "studies.explanations_under_attack.attacked_maps": lambda ms, d, make: study.attacked_maps(
        ms[0], _attacked(ms[0], d), window=4, stride=4
    ),
    "studies.explanations_under_attack.explanation_attack_study": lambda ms, d, make: study.explanation_attack_study(
        ms[0], d.x, d.t, (d.x + 0.05).clamp(0, 1), eps=0.1, steps=2, fraction=0.25, num_samples=5, seed=0
    ),
    "studies.explanations_under_attack.explanation_maps": lambda ms, d, make: study.explanation_maps(
        ms[0], d.x, d.y, window=4, stride=4
    ),
    "studies.explanations_under_attack.filtered_accuracy": lambda ms, d, make: study.filtered_accuracy(
        ms[0], _attacked(ms[0], d), [0.1, 0.5]
    ),
    "studies.explanations_under_attack.perturbation_parts": lambda ms, d, make: study.perturbation_parts(
        ms[0], _attacked(ms[0], d), seed=0, min_fooled=1
    ),
    "studies.explanations_under_attack.phase_swap": lambda ms, d, make: study.phase_swap(
        ms[0], _attacked(ms[0], d), min_fooled=1
    ),
    "attacks.base.check_attack_inputs": lambda ms, d, make: base.check_attack_inputs(ms[0], d.x, d.y),
    "attacks.base.loss_gradient": lambda ms, d, make: base.loss_gradient(ms[0], d.x, d.y),
    "attacks.blackbox.LabelOracle": lambda ms, d, make: blackbox.LabelOracle(ms[0])(d.x),
    "attacks.blackbox.blackbox_attack": lambda ms, d, make: blackbox.blackbox_attack(
        ms[0], d.x[:3], d.x, d.y, make_surrogate=make, rounds=2, epochs=1, batch_size=4, progress=False
    ),
    "attacks.blackbox.jacobian_augmentation": lambda ms, d, make: blackbox.jacobian_augmentation(ms[0], d.x, d.y, 0.1),
    "attacks.deepfool.deepfool": lambda ms, d, make: deepfool.deepfool(ms[0], d.x, max_iter=3),
    "attacks.ensemble.ensemble_attack": lambda ms, d, make: ensemble.ensemble_attack(ms, d.x, d.t, steps=2),
    "attacks.ensemble.ensemble_attack_result": lambda ms, d, make: ensemble.ensemble_attack_result(
        ms, d.x, d.t, steps=2, eps=0.1
    ),
    "attacks.ensemble.ensemble_probabilities": lambda ms, d, make: ensemble.ensemble_probabilities(ms, d.x),
    "attacks.ensemble.least_likely_targets": lambda ms, d, make: ensemble.least_likely_targets(ms, d.x, 2),
    "attacks.linearity.fgsm_linearity": lambda ms, d, make: linearity.fgsm_linearity(ms[0], d.x, d.y, [0.01]),
    "attacks.minimal.compare_with_fgsm": lambda ms, d, make: (
        lambda r: minimal.compare_with_fgsm(ms[0], d.x, r.label, r, [0.0, 0.5, 1.0], seconds=1.0)
    )(deepfool.deepfool(ms[0], d.x, max_iter=3)),
    "attacks.transfer.classified_correctly": lambda ms, d, make: transfer.classified_correctly(ms, d.x, d.y),
    "attacks.transfer.misclassification_rate": lambda ms, d, make: transfer.misclassification_rate(ms[0], d.x, d.y),
    "attacks.transfer.target_rate": lambda ms, d, make: transfer.target_rate(ms[0], d.x, d.t),
    "attacks.transfer.transfer_matrix": lambda ms, d, make: transfer.transfer_matrix(
        {"a": ms[0], "b": ms[1]}, {"x": d.x}, d.y, d.t
    ),
    "attacks.two_class.two_class_score": lambda ms, d, make: two_class.two_class_score(ms[0]),  # builds, never runs
    "consistency.tracing.removal_effect": lambda ms, d, make: tracing.removal_effect(
        ms[0], d.x, d.y, {"o": torch.arange(6).repeat(N, 1)}, steps=2
    ),
    "consistency.tracing.restoration": lambda ms, d, make: tracing.restoration(
        ms[0], d.x, torch.arange(6).repeat(N, 1), d.t, d.y, steps=2
    ),
    "consistency.tracing.trace_adversarial": lambda ms, d, make: tracing.trace_adversarial(ms[0], d.x[:1], d.y[:1]),
    "training.gradient_masking.jointly_correct": lambda ms, d, make: gradient_masking.jointly_correct(ms, d.x, d.y),
    "training.gradient_masking.masking_surfaces": lambda ms, d, make: gradient_masking.masking_surfaces(
        {"a": ms[0]}, ms[1], d.x, d.y, torch.tensor([0.0, 0.05])
    ),
    "attacks.explanation.grad_cam_attack": lambda ms, d, make: explanation.grad_cam_attack(
        ms[0], d.x, d.y, eps=0.05, steps=2, generator=d.generator
    ),
    "attacks.explanation.grad_cam_distribution": lambda ms, d, make: explanation.grad_cam_distribution(ms[0], d.x, d.y),
    "attacks.fgsm.fgsm": lambda ms, d, make: fgsm.fgsm(ms[0], d.x, d.y, eps=0.05),
    "attacks.fgsm.fgsm_sweep": lambda ms, d, make: fgsm.fgsm_sweep(ms[0], d.x, d.y, eps_values=[0.0, 0.05]),
    "attacks.pgd.pgd": lambda ms, d, make: pgd.pgd(
        ms[0], d.x, d.y, eps=0.05, step_size=0.02, steps=2, random_start=True, generator=d.generator
    ),
    "attacks.strong.strong_attack": lambda ms, d, make: strong.strong_attack(
        ms[0], d.x, d.y, eps=0.05, pgd_steps=1, pgd_restarts=1, apgd_steps=2, n_targets=1
    ),
    "attacks.surface.loss_surface": lambda ms, d, make: _surface(ms[0], d),
    "attacks.surface.signed_gradient": lambda ms, d, make: surface.signed_gradient(ms[0], d.x, d.y),
    "attacks.targets.least_likely": lambda ms, d, make: targets.least_likely(ms[0], d.x, 2),
    # interpretation
    "interpret.attribution.explaining": lambda ms, d, make: _explaining(ms[0], d),
    "interpret.attribution.grad_cam": lambda ms, d, make: attribution.grad_cam(ms[0], d.x, d.y),
    "interpret.attribution.guided_backprop": lambda ms, d, make: attribution.guided_backprop(ms[0], d.x, d.y),
    "interpret.attribution.guided_grad_cam": lambda ms, d, make: attribution.guided_grad_cam(ms[0], d.x, d.y),
    "interpret.attribution.occlusion": lambda ms, d, make: attribution.occlusion(ms[0], d.x, d.y, window=4, stride=4),
    "interpret.attribution.saliency": lambda ms, d, make: attribution.saliency(ms[0], d.x, d.y),
    "interpret.faithfulness.deletion_curve": lambda ms, d, make: faithfulness.deletion_curve(
        ms[0], d.x, d.y, d.x, steps=3
    ),
    "interpret.faithfulness.insertion_curve": lambda ms, d, make: faithfulness.insertion_curve(
        ms[0], d.x, d.y, d.x, steps=3
    ),
    "interpret.features.feature_maps": lambda ms, d, make: features.feature_maps(ms[0], d.x, "features.0"),
    "interpret.features.first_conv_weights": lambda ms, d, make: features.first_conv_weights(ms[0]),
    "interpret.neighbours.embed": lambda ms, d, make: neighbours.embed(ms[0], d.x, batch_size=4),
    "interpret.receptive_field.discrepancy_maps": lambda ms, d, make: receptive_field.discrepancy_maps(
        ms[0], d.x, "features.4", 1, patch_size=3, stride=3, generator=d.generator
    ),
    "interpret.receptive_field.empirical_receptive_field": lambda ms, d, make: (
        receptive_field.empirical_receptive_field(
            ms[0], d.x, "features.4", 1, torch.full((N, 2), 2), patch_size=3, stride=3
        )
    ),
    "interpret.receptive_field.gradient_receptive_field": lambda ms, d, make: receptive_field.gradient_receptive_field(
        ms[0], "features.4", (2, 2), (1, SIZE, SIZE), samples=2
    ),
    "interpret.receptive_field.receptive_field_from_gradient": lambda ms, d, make: (
        receptive_field.receptive_field_from_gradient(ms[0], "features.4", (1, SIZE, SIZE), samples=4)
    ),
    "interpret.receptive_field.theoretical_receptive_field": lambda ms, d, make: (
        receptive_field.theoretical_receptive_field(ms[0], "features.4")
    ),
    "interpret.discriminative.top_two_classes": lambda ms, d, make: discriminative.top_two_classes(ms[0], d.x),
    "interpret.discriminative.runner_up_correlation": lambda ms, d, make: discriminative.runner_up_correlation(
        attribution.saliency, ms[0], d.x, discriminative.top_two_classes(ms[0], d.x)
    ),
    "interpret.receptive_field.layer_receptive_field": lambda ms, d, make: receptive_field.layer_receptive_field(
        ms[0], "features.4", (1, SIZE, SIZE)
    ),
    "interpret.topk.top_activating_images": lambda ms, d, make: topk.top_activating_images(
        ms[0], d.x, "features.4", k=2, batch_size=4
    ),
    # consistency
    "consistency.activations.concept_top_activations": lambda ms, d, make: activations.concept_top_activations(
        ms[0], d.x, d.y, d.advset.images, d.advset.labels, num_concepts=K, fraction=0.5
    ),
    "consistency.evaluation.measure_consistency": lambda ms, d, make: evaluation.measure_consistency(
        ms[0], d.x, d.y, d.advset.images, d.advset.labels, d.correlation, fraction=0.5, num_samples=10
    ),
    "consistency.tracing.ablation_curve": lambda ms, d, make: tracing.ablation_curve(
        ms[0], d.x, torch.arange(6).repeat(N, 1), d.y, steps=2
    ),
    "consistency.tracing.neuron_influence": lambda ms, d, make: tracing.neuron_influence(ms[0], d.x, d.y),
    # training
    "training.distributed.broadcast_state": lambda ms, d, make: distributed.broadcast_state(ms[0]),
    "training.loop.evaluate": lambda ms, d, make: loop.evaluate(ms[0], d.x, d.y, batch_size=4),
    "training.loop.predict": lambda ms, d, make: loop.predict(ms[0], d.x, batch_size=4),
    "training.objectives.ConsistentAdversarialTraining": lambda ms, d, make: objectives.ConsistentAdversarialTraining(
        eps_step=0.02, steps=2
    )(ms[0], d.x, d.y),
    "training.objectives.EnsembleAdversarialTraining": lambda ms, d, make: objectives.EnsembleAdversarialTraining(
        {"b": ms[1]}, eps=0.05
    )(ms[0], d.x, d.y),
    "training.objectives.FGSMTraining": lambda ms, d, make: objectives.FGSMTraining(eps=0.05)(ms[0], d.x, d.y),
    "training.objectives.FeatureDistanceConsistentTraining": lambda ms, d, make: (
        objectives.FeatureDistanceConsistentTraining(eps_step=0.02, steps=1, feature_steps=1)(ms[0], d.x, d.y)
    ),
    "training.objectives.PGDTraining": lambda ms, d, make: objectives.PGDTraining(eps=0.05, step_size=0.02, steps=2)(
        ms[0], d.x, d.y
    ),
    "training.objectives.cross_entropy": lambda ms, d, make: objectives.cross_entropy(ms[0], d.x, d.y),
    "training.objectives.feature_distance": lambda ms, d, make: objectives.feature_distance(ms[0], d.x, d.x.flip(0)),
    "training.objectives.feature_distance_example": lambda ms, d, make: objectives.feature_distance_example(
        ms[0], d.x, eps=0.05, step_size=0.02, steps=2, generator=d.generator
    ),
    "training.objectives.targeted_iterative_fgsm": lambda ms, d, make: objectives.targeted_iterative_fgsm(
        ms[0], d.x, d.t, eps_step=0.02, steps=2
    ),
    "training.robustness.evaluate_robustness": lambda ms, d, make: robustness.evaluate_robustness(
        ms[0], d.x, d.y, fgsm_eps=0.05, pgd_steps=1
    ),
    "training.robustness.evaluate_robustness_distributed": lambda ms, d, make: (
        robustness.evaluate_robustness_distributed(ms[0], d.x, d.y, fgsm_eps=0.05, pgd_steps=1)
    ),
    # explorers
    "explore.attack.attack_view": lambda ms, d, make: _views_ok(
        [
            explore_attack.attack_view(
                {"a": ms[0], "b": ms[1]}, d.images, "a", 1, a, 0.1, pgd_steps=2, ensemble_steps=2
            )
            for a in explore_attack.ATTACKS
        ]
    ),
    "explore.attack.attack_explorer": lambda ms, d, make: explore_attack.attack_explorer(
        {"a": ms[0], "b": ms[1]}, d.images
    ),
    "explore.explanation.explanation_view": lambda ms, d, make: _views_ok(
        [explore_explanation.explanation_view({"a": ms[0], "b": ms[1]}, d.images, 2)]
    ),
    "explore.explanation.explanation_explorer": lambda ms, d, make: explore_explanation.explanation_explorer(
        {"a": ms[0], "b": ms[1]}, d.images
    ),
    "explore.neuron.NeuronData": lambda ms, d, make: _neuron_table(ms, d),
    "explore.neuron.neuron_view": lambda ms, d, make: _views_ok(
        [explore_neuron.neuron_view(_neuron_data(ms, d), "a", "features.4", 5, n_shown=2, highlight=True)]
    ),
    "explore.neuron.neuron_explorer": lambda ms, d, make: explore_neuron.neuron_explorer(_neuron_data(ms, d)),
    # models
    "models.hook_safe.inplace_modules": lambda ms, d, make: hook_safe.inplace_modules(ms[0]),
    "models.hook_safe.make_hook_safe": lambda ms, d, make: hook_safe.make_hook_safe(ms[0]),
    "models.hook_safe.reused_modules": lambda ms, d, make: hook_safe.reused_modules(ms[0], d.x),
    "models.layers.capture_activations": lambda ms, d, make: _capture(ms[0], d),
    "models.layers.last_conv_layer": lambda ms, d, make: layers.last_conv_layer(ms[0]),
    "models.layers.layer": lambda ms, d, make: layers.layer(ms[0], "features.4"),
    "models.layers.layer_names": lambda ms, d, make: layers.layer_names(ms[0]),
    "models.layers.num_classes_of": lambda ms, d, make: layers.num_classes_of(ms[0], d.x),
    "models.state.eval_mode": lambda ms, d, make: _inside_eval_mode(ms[0], d),
    "models.state.model_device": lambda ms, d, make: model_device(ms[0]),
    "models.state.predicted_labels": lambda ms, d, make: predicted_labels(ms[0], d.x, batch_size=4),
}

# consistency.sensitivity is being rewritten beside this test (issue 17: top_concepts
# gives way to channel_responses); whichever of the two exists is checked.
if hasattr(sensitivity, "top_concepts"):
    CASES["consistency.sensitivity.top_concepts"] = lambda ms, d, make: sensitivity.top_concepts(
        ms[0], d.x, d.y, num_concepts=K, fraction=0.5
    )
if hasattr(sensitivity, "channel_responses"):
    CASES["consistency.sensitivity.channel_responses"] = lambda ms, d, make: sensitivity.channel_responses(ms[0], d.x)

#: Functions that take a model and are not called above, with the reason.
EXEMPT = {
    "artifacts.imagenet.ConsistencyInputs": "a record that holds chapter 11's models, never runs them",
    "artifacts.zoo.make_objective": "builds an objective around static models, never runs them (tests/artifacts)",
    "attacks.ensemble.check_models": "checks the types of its argument, never runs a model",
    "consistency.sensitivity.eps_sweep": "runs each model only through channel_responses (its case is above)",
    "consistency.sensitivity.sweep_table": "takes the models' names, not models",
    "attacks.blackbox.BlackBoxResult": "a result record that holds the attack's own surrogate",
    "models.imagenet.ImageNetModel": "builds a model around a torchvision net (tests/models/test_imagenet_models.py)",
    "models.zoo.any_input_size": "switches the zoo ResNet's input-size check, never a mode (tests/models/test_zoo.py)",
    "training.distributed.wrap_objective": (
        "needs a torch.distributed process group (tests/training/test_distributed.py)"
    ),
    "training.loop.train": "trains the model and, as documented, leaves it in eval mode",
    "studies.adversarial_training.training_seconds": "reads each model's training_history, never runs it",
    "studies.inconsistency.attack_rate_table": "takes the models' names, not models",
    "training.robustness.train_with_metrics": "trains (through train) and leaves the model in eval mode",
}

#: Cases that fail today, with the reason (strict: a fix makes the test say so).
KNOWN_FAILURES: dict[str, str] = {}

PACKAGES = ("attacks", "interpret", "consistency", "studies", "training", "artifacts", "runs", "explore", "models")
MODEL_ARGUMENTS = {"model", "models", "oracle_model", "surrogate", "static_models", "net"}


def _takes_a_model(fn: Callable) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name in MODEL_ARGUMENTS or "Module" in str(p.annotation) for p in parameters)


def _public_functions_taking_a_model() -> set[str]:
    found = set()
    for package in PACKAGES:
        root = importlib.import_module(f"{advinterp_lib.__name__}.{package}")
        modules = [root] + [
            importlib.import_module(m.name) for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")
        ]
        for module in modules:
            for name, obj in vars(module).items():
                if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                    continue
                if inspect.isfunction(obj):
                    callables = [obj]
                elif inspect.isclass(obj):  # built on a model, or called with one
                    callables = [obj.__init__] + ([obj.__call__] if inspect.isfunction(obj.__call__) else [])
                else:
                    continue
                if any(_takes_a_model(c) for c in callables):
                    found.add(module.__name__.removeprefix(f"{advinterp_lib.__name__}.") + "." + name)
    return found


def test_every_public_function_that_takes_a_model_is_checked():
    found = _public_functions_taking_a_model()
    assert sorted(found - set(CASES) - set(EXEMPT)) == [], "add a case to CASES (or a reason to EXEMPT)"
    assert sorted((set(CASES) | set(EXEMPT)) - found) == [], "CASES names a function that is gone"


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
        if name in KNOWN_FAILURES
        else name
        for name in sorted(CASES)
    ],
)
def test_every_submodule_keeps_its_training_flag(name, mix, data, make_toy_cnn):
    ms = [_mixed(make_toy_cnn(seed), mix) for seed in (0, 1)]
    before = [_flags(m) for m in ms]
    torch.manual_seed(0)
    try:
        CASES[name](ms, data, make_toy_cnn)
    finally:
        plt.close("all")
    assert [_flags(m) for m in ms] == before
