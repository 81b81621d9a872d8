"""The book's adversarially trained rows: one recipe per profile, shared by every chapter."""

import pytest

from advinterp_lib.runs.artifacts import (
    ADV_VARIANTS,
    ADVERSARIAL_OBJECTIVES,
    adversarial_variant,
    adversarial_variant_spec,
)
from advinterp_lib.runs.profiles import ADV_TRAINING, CHAPTERS, ZOO_TRAINING
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
