"""The book's adversarially trained rows: one recipe per profile, shared by every chapter."""

import pytest
import torch

from advinterp_lib.artifacts import (
    ADV_VARIANTS,
    ADVERSARIAL_OBJECTIVES,
    adversarial_variant,
    adversarial_variant_spec,
    model_parameters,
    variant_models,
)
from advinterp_lib.runs.profiles import ADV_TRAINING, CHAPTERS, ZOO_TRAINING, chapter_parameters
from advinterp_lib.training import objectives as o

RECIPE = {k: ADV_TRAINING["quick"][k] for k in ("eps", "pgd_train_steps", "pgd_train_step", "consistent_steps")}


@pytest.mark.parametrize("variant", ADV_VARIANTS)
def test_every_variant_names_a_known_objective_with_its_parameters(variant):
    objective, params = adversarial_variant_spec(variant, **RECIPE)
    assert objective in ADVERSARIAL_OBJECTIVES
    assert set(params) <= set(ADVERSARIAL_OBJECTIVES[objective])


def test_every_perturbation_stays_within_eps():
    eps = RECIPE["eps"]
    _, fgsm = adversarial_variant_spec("FGSM-AT", **RECIPE)
    _, pgd = adversarial_variant_spec("PGD-AT", **RECIPE)
    _, cons = adversarial_variant_spec("consistent-AT", **RECIPE)
    assert fgsm["eps"] == pgd["eps"] == eps
    assert cons["eps_step"] * cons["steps"] == pytest.approx(eps)  # targeted I-FGSM reaches at most eps
    assert (cons["alpha"], cons["beta"]) == (0.5, 0.1)  # the paper's weights
    # the feature-distance variant differs only in how x' is found: the same cache key otherwise
    _, feat = adversarial_variant_spec("feature-consistent-AT", **RECIPE)
    assert o.FeatureDistanceConsistentTraining(**feat).config()["eps_step"] == cons["eps_step"]


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown variant 'TRADES'.*consistent-AT"):
        adversarial_variant("resnet", "TRADES", seed=0, **ZOO_TRAINING["quick"], **ADV_TRAINING["quick"])


def test_chapter_9_spreads_the_shared_recipe():
    for profile in ("quick", "full"):
        entry = CHAPTERS["09"][profile]
        assert {k: entry[k] for k in ADV_TRAINING[profile]} == ADV_TRAINING[profile]
        assert {k: entry[k] for k in ZOO_TRAINING[profile]} == ZOO_TRAINING[profile]


def test_model_parameters_are_a_chapters_share_of_its_profile():
    params = chapter_parameters("quick", "12")
    assert model_parameters(params) == {**ZOO_TRAINING["quick"], **ADV_TRAINING["quick"], "seed": params["seed"]}
    with pytest.raises(KeyError, match="lack finetune_lr"):
        model_parameters({k: v for k, v in params.items() if k != "finetune_lr"})


@pytest.mark.slow
def test_variant_models_is_the_grid_of_adversarial_variant():
    training = model_parameters(chapter_parameters("quick", "13"))
    grid = variant_models(["resnet"], ["standard", "consistent-AT"], **training)
    assert list(grid) == [("resnet", "standard"), ("resnet", "consistent-AT")]
    for (arch, variant), model in grid.items():
        alone = adversarial_variant(arch, variant, progress=False, **training)
        for (name, a), b in zip(model.state_dict().items(), alone.state_dict().values(), strict=True):
            assert torch.equal(a, b), name
